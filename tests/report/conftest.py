"""What the report's tests share: one small real run (the baseline over two days, with a spread
shock on day 1 and calibration targets, so that every section has something to show), its
report, a hand-made frame of surveillance alerts in `surveil_result`'s schema, and a gate
decision log that names the run."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest

import sim
from sim.gate.decisions import DecisionLog
from sim.gate.registry import _sha256, _write_manifests
from sim.presentation.report import build_report, default_path, write_html
from sim.scenario import scenario_from_dict

SHOCK_DAY = 1
TARGETS = [  # one met, one missed, one this run cannot measure
    {"metric": "credit_spread_move_bp_AAA", "historical": 100, "tolerance": 25, "kind": "input",
     "source": "the shock's own size"},
    {"metric": "spread_multiple", "historical": 50, "tolerance": 1, "kind": "emergent",
     "source": "far off on purpose"},
    {"metric": "fx_move_pct_USDINR", "historical": 5, "tolerance": 1, "kind": "emergent",
     "source": "no FX shock in this run"},
]  # fmt: skip


def small_stress_scenario():
    """The baseline over two days, AAA spreads up 100 bp on day 1, and `TARGETS`."""
    document = sim.load_scenario("baseline", ["calendar.days=2"]).to_dict()
    document["shocks"] = [{"kind": "spread", "day": SHOCK_DAY, "size_bp": 100, "ratings": ["AAA"]}]
    document["calibration"] = {"targets": TARGETS}
    return scenario_from_dict(document, source="tests/report")


@pytest.fixture(scope="package")
def run_dir(tmp_path_factory) -> Path:
    """A run folder no test changes (a test that damages one works on a copy)."""
    return sim.run(small_stress_scenario(), out=tmp_path_factory.mktemp("runs")).path


def make_alerts(rows: list[dict]) -> pl.DataFrame:
    """Alerts in `sim.analytics.surveillance.surveil_result`'s schema."""
    schema = {
        "detector": pl.String, "agent": pl.Int64, "client": pl.String, "venue": pl.String,
        "instrument": pl.String, "start": pl.Int64, "end": pl.Int64, "score": pl.Float64,
        "order_ids": pl.List(pl.Int64), "trade_ids": pl.List(pl.Int64), "evidence": pl.String,
    }  # fmt: skip
    return pl.DataFrame(rows, schema=schema)


T0 = 1_704_101_400_000_000_000  # 2024-01-01 09:30 as the run's clock counts


@pytest.fixture(scope="package")
def alerts() -> pl.DataFrame:
    return make_alerts([
        {"detector": "spoofing", "agent": 12, "client": "C12", "venue": "NSE",
         "instrument": "HOUSI1-2028-A", "start": T0, "end": T0 + 2_000_000_000, "score": 0.93,
         "order_ids": list(range(101, 113)), "trade_ids": [7],
         "evidence": "12 orders of 500 units cancelled within 2 s <b>while</b> selling 40"},
        {"detector": "wash_trade", "agent": 40, "client": None, "venue": "BSE",
         "instrument": "INFRA1-2030-A", "start": T0, "end": T0 + 60_000_000_000, "score": 0.71,
         "order_ids": [11, 12], "trade_ids": [5, 6],
         "evidence": "the same beneficial owner on both sides, client codes 4 and 9"},
    ])  # fmt: skip


@pytest.fixture(scope="package")
def report(run_dir, alerts):
    """The run's report, verified with its re-run."""
    return build_report(run_dir, alerts=alerts)


@pytest.fixture(scope="package")
def page(report, run_dir) -> Path:
    """The report written where `bondlab report` writes it."""
    return write_html(report, default_path(run_dir))


def gate_digest(manifest: dict, folder: Path) -> str:
    """The sha256 the gate records of a suite run's manifest, by the gate's own code (which
    writes it into `folder`)."""
    tested = SimpleNamespace(runs=[SimpleNamespace(manifest=manifest, scenario="s", seed=1)])
    folder.mkdir(parents=True, exist_ok=True)
    (written,) = _write_manifests(tested, folder / "manifests").iterdir()
    return _sha256(written)


def decision_log(folder: Path, digest: str) -> DecisionLog:
    """A log with a decision on this run (version 3), another model's decision, then the
    approval of version 3."""
    log = DecisionLog(folder)
    log.append("decision", "mm-desk", 3, who="ci", passed=True, alias="candidate",
               reason="all checks passed", production=None,
               artifacts={"backtest/summary.json": "0" * 64,
                          "manifests/baseline-seed1.json": digest})  # fmt: skip
    log.append("decision", "other", 1, who="ci", passed=False, alias=None, reason="sharpe",
               production=None, artifacts={"manifests/baseline-seed2.json": "f" * 64})  # fmt: skip
    log.append("approval", "mm-desk", 3, who="a.regulator", reason="approved by a.regulator",
               previous=None, production=3)  # fmt: skip
    return log
