"""One run of the planted scenario on disk, shared by the tests that read a whole run."""

from __future__ import annotations

import pytest

import sim


@pytest.fixture(scope="session")
def planted_run(tmp_path_factory):
    scenario = sim.load_scenario("surveillance_planted")
    return sim.run(scenario, seed=1, out=tmp_path_factory.mktemp("planted"))
