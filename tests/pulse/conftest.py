"""Runs the Pulse's surfaces are tested on, made once a session."""

from pathlib import Path

import pytest

import sim
from tests.helpers.scenarios import small_scenario

# Two days of the baseline with six of its generated bonds: rated issuers in several sectors,
# two venues, every agent kind the baseline has.
REDUCED_BASELINE = ["calendar.days=2", "universe.count=6"]


@pytest.fixture(scope="session")
def rated_run(tmp_path_factory) -> Path:
    """A reduced baseline run's folder, written with its pulse.parquet."""
    scenario = sim.load_scenario("baseline", overrides=REDUCED_BASELINE)
    return sim.run(scenario, seed=1, out=tmp_path_factory.mktemp("rated")).path


@pytest.fixture(scope="session")
def unrated_run(tmp_path_factory) -> Path:
    """A run of one unrated bond (a mean-reverting value, no credit): liquidity only."""
    folder = tmp_path_factory.mktemp("unrated")
    return sim.run(sim.load_scenario(small_scenario(folder, days=2)), seed=1, out=folder).path
