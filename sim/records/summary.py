"""What a finished run reports besides its event frames: the agents and instruments tables,
the run's metrics and its manifest, all from a plain `RunRecord` of the run (the kernel
builds it; `sim.records.store.write_run` writes the tables)."""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from sim.analytics import compute_metrics
from sim.market.instrument import Instrument
from sim.market.ledger import ConservationReport

PACKAGES = ("numpy", "numba", "polars", "pyarrow", "simpy", "mesa", "pydantic", "scipy")


@dataclass(frozen=True)
class RunRecord:
    """A finished run as plain values.

    `agents` holds one row per agent: its account, kind and population, cash (paise, with
    pending settlements), positions at the mark (paise), PnL net of what it started with and
    of deposits, fees, orders, fills and its kind's own `report()` columns.
    `population_metrics` holds each population's own metric groups, named as in metrics.json.
    """

    run_id: str
    scenario: Any  # the resolved `sim.scenario.Scenario`
    seed: int
    trading_days: int
    venues: int
    instruments: dict[str, Instrument]
    reference_prices: dict[str, int]  # ticks
    agents: list[dict[str, Any]]
    population_metrics: dict[str, dict[str, Any]]
    events: dict[str, int]
    ledger: ConservationReport


def agents_frame(run: RunRecord) -> pl.DataFrame:
    """agents.parquet: `run.agents` as a frame."""
    return pl.DataFrame(run.agents, infer_schema_length=None)


def instruments_frame(run: RunRecord) -> pl.DataFrame:
    """Each instrument's tick size, lot, unit face value and reference price (ticks): what
    turns the frames' integer ticks and units into prices and money; and its terms as the
    scenario gives them (issuer, sector, rating at the start, coupon, dates, frequency, day
    count; null where it gives none)."""
    terms = {spec.symbol: spec for spec in run.scenario.instruments}
    return pl.DataFrame(
        [
            {
                "symbol": s,
                "tick_size": str(i.tick_size),
                "lot_size": i.lot_size,
                "unit_face_value": i.unit_face_value,
                "reference_price": run.reference_prices[s],
                **{field: getattr(terms.get(s), field, None) for field in TERMS},
            }
            for s, i in run.instruments.items()
        ],
        schema_overrides=TERM_TYPES,
    )


TERM_TYPES = {
    "issuer": pl.String,
    "sector": pl.String,
    "rating": pl.String,
    "coupon": pl.Float64,
    "issue": pl.Date,
    "maturity": pl.Date,
    "frequency": pl.Int8,
    "day_count": pl.String,
}
TERMS = tuple(TERM_TYPES)


def metrics(run: RunRecord, frames: dict, agents: pl.DataFrame, instruments: pl.DataFrame) -> dict:
    """metrics.json: the summary, market quality and stylized facts, the ledger's verdict,
    event counts and each population's own groups."""
    out = {"summary": summary(run, frames), **compute_metrics(frames, agents, instruments)}
    out["ledger"] = {"conserved": run.ledger.ok, "unsettled_trades": run.ledger.unsettled_trades}
    out["events"] = dict(run.events)
    for group, values in run.population_metrics.items():
        out.setdefault(group, {}).update(values)
    return out


def summary(run: RunRecord, frames: dict) -> dict:
    """The headline numbers of a run."""
    trades = frames["trades"]
    value = {s: i.tick_value for s, i in run.instruments.items()}
    notional = sum(
        price * qty * value[symbol]
        for symbol, price, qty in trades.select("instrument", "price", "qty").iter_rows()
    )
    return {
        "trading_days": run.trading_days,
        "instruments": len(run.instruments),
        "venues": run.venues,
        "agents": len(run.agents),
        "requests": run.events["requests"],
        "trades": trades.height,
        "traded_units": int(trades["qty"].sum()) if trades.height else 0,
        "traded_notional_rupees": notional / 100,
    }


def manifest(run: RunRecord, wall_seconds: float) -> dict:
    """manifest.json, less the file hashes `write_run` adds: what makes the run reproducible
    (the resolved scenario, its hash, the seed, the code and package versions) and how it went."""
    return {
        "run_id": run.run_id,
        "scenario": run.scenario.to_dict(),
        "scenario_hash": run.scenario.hash,
        # the JSON keeps keys sorted, and the populations' order sets their seeds and accounts
        "population_order": list(run.scenario.populations),
        "seed": run.seed,
        **code_version(),
        "wall_time_s": round(wall_seconds, 3),
        "events": dict(run.events),
        "ledger": run.ledger.to_dict(),
    }


def code_version() -> dict[str, Any]:
    """What code made a run, as the manifest records it: the git commit (None outside a
    checkout), the versions of the packages that shape results and `code_hash`, which also
    tells apart checkouts of one commit with different uncommitted changes."""
    return {
        "git_commit": _git_commit(),
        "packages": {p: importlib.metadata.version(p) for p in PACKAGES},
        "code_hash": code_hash(),
    }


CODE_PACKAGES = ("sim", "agents", "strategies")  # the code a run executes


@functools.cache  # once a process: the code does not change under a running process
def code_hash() -> str:
    """The SHA-256 over every Python source file of bondlab's packages (`CODE_PACKAGES`, where
    installed), each as its path within its package and its bytes, in path order."""
    digest = hashlib.sha256()
    for package in CODE_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        for root in spec.submodule_search_locations:
            base = Path(root)
            for file in sorted(base.rglob("*.py")):
                relative = f"{package}/{file.relative_to(base).as_posix()}"
                digest.update(f"{relative}\0{file.stat().st_size}\0".encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()


def _git_commit() -> str | None:
    """The commit of the checkout bondlab runs from; None for an installed bondlab (which may
    sit inside some other project's repository, whose commit says nothing of bondlab's code)."""
    root = Path(__file__).resolve().parents[2]  # the folder holding sim/
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel", "HEAD"],
            capture_output=True,
            text=True,
            cwd=root,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    lines = out.stdout.split()
    if len(lines) != 2 or Path(lines[0]).resolve() != root:
        return None
    return lines[1]
