"""The stress library: every shipped file with a [calibration] table validates, tests something
(two emergent targets at least), cites its sources in scenarios/README.md, and meets its key
targets in a reduced run (one seed, smaller populations, the same calendar and shocks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.scenario import library, load_scenario
from sim.studies import calibration as study

STRESS_FILES = [name for name in library.names() if load_scenario(name).calibration is not None]
REDUCED = [
    "retail.count=100",
    "sip.investors=400",
    "value.count=10",
    "momentum.count=4",
    "repo.count=4",
    "recording.book_interval_seconds=900",
]
SOURCES = Path(library.folder()) / "README.md"


def test_the_library_has_stress_files():
    assert "covid_2020" in STRESS_FILES


@pytest.mark.parametrize("name", STRESS_FILES)
def test_a_stress_file_tests_something_and_cites_its_sources(name):
    spec = load_scenario(name).calibration
    assert sum(t.kind == "emergent" for t in spec.targets) >= 2
    assert all(t.source.strip() for t in spec.targets)
    assert f"## {name}\n" in SOURCES.read_text()
    study.check_metrics(load_scenario(name))  # every metric is one a run measures


@pytest.mark.parametrize("name", STRESS_FILES)
def test_a_stress_file_meets_its_key_targets_in_a_reduced_run(name):
    scenario = load_scenario(name, REDUCED)
    calibrated = study.calibrate(scenario, seeds=(scenario.seed,))
    missed = [
        (r.target.metric, r.mean, r.target.historical, r.target.tolerance)
        for r in calibrated.results
        if r.target.key and not r.met
    ]
    assert not missed
