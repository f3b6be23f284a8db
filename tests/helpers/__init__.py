"""Shared test helpers: small scenarios, frozen reference implementations, fakes."""
