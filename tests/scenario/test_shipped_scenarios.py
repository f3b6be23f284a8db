"""Smoke runs of the scenarios we ship, made small with overrides (the full runs are in
`make run` and the benchmarks)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import sim

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SMALLER = {
    "rmsc04.toml": ['calendar.close="10:30"', "retail.count=100", "value.count=10"],
    "baseline.toml": [
        "calendar.days=2",
        "universe.count=4",
        "retail.count=40",
        "value.count=6",
        "sip.investors=300",
        "repo.count=3",
        'calendar.close="11:15"',
    ],
}


@pytest.mark.parametrize("name", sorted(p.name for p in SCENARIOS.glob("*.toml")))
def test_every_shipped_scenario_validates(name):
    scenario = sim.load_scenario(SCENARIOS / name)
    assert scenario.instruments and scenario.venues


@pytest.mark.parametrize("name", sorted(SMALLER))
def test_shipped_scenario_runs(name, tmp_path):
    result = sim.run(sim.load_scenario(SCENARIOS / name, SMALLER[name]), out=tmp_path)
    assert result.metrics["ledger"]["conserved"] is True
    assert result.trades.height > 0
    kinds = set(result.agents["kind"].to_list())
    populations = sim.load_scenario(SCENARIOS / name).populations
    assert all(any(kind.startswith(p) for kind in kinds) for p in populations)
    assert {p.name for p in result.path.iterdir()} >= {
        "orders.parquet",
        "trades.parquet",
        "quotes.parquet",
        "book.parquet",
        "agents.parquet",
        "fair_values.parquet",
        "curve.parquet",
        "instruments.parquet",
        "metrics.json",
        "manifest.json",
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ['sip.bonds=["NOPE"]'],
            r"baseline\.toml: sip: bonds: unknown instruments \['NOPE'\]",
        ),
        (["calendar.days=1500"], r"baseline\.toml: bond '.*' matures on .*, on or before the last"),
    ],
)
def test_what_only_the_run_can_check_is_a_scenario_error(overrides, message):
    scenario = sim.load_scenario(SCENARIOS / "baseline.toml", overrides)
    with pytest.raises(sim.ScenarioError, match=message):
        sim.Simulation(scenario)


def test_the_cli_reports_it_in_one_line(tmp_path):
    bondlab = Path(sys.executable).parent / "bondlab"
    command = [
        str(bondlab),
        "run",
        str(SCENARIOS / "baseline.toml"),
        "--quiet",
        "--out",
        str(tmp_path),
        "--set",
        'sip.bonds=["NOPE"]',
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "unknown instruments" in done.stderr


def test_bond_markets_open_at_their_first_fair_value(tmp_path):
    overrides = [*SMALLER["baseline.toml"], "calendar.days=1"]
    simulation = sim.Simulation(sim.load_scenario(SCENARIOS / "baseline.toml", overrides))
    result = simulation.run(out=tmp_path)
    first = result.fair_values.group_by("instrument").first()
    for symbol, fair in first.select("instrument", "fair_clean_price").iter_rows():
        tick = float(simulation.instruments[symbol].tick_size)
        assert simulation.reference_prices[symbol] == round(fair / tick)
