"""Shared test settings."""

import os

from hypothesis import HealthCheck, settings

# CI runs a moderate number of examples, the same ones every time (a red CI must mean a
# change broke something); `HYPOTHESIS_PROFILE=thorough` searches afresh and deeper locally.
settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
