"""Presentation of runs: plots (and, later, the regulator's HTML report)."""
