"""What a finished simulation reports besides its event frames: the agents and instruments
tables, the run's metrics and its manifest (`Simulation.run` writes them with
`sim.records.result.write_run`)."""

from __future__ import annotations

import importlib.metadata
import subprocess
from pathlib import Path

import polars as pl

from sim.analytics import compute_metrics

PACKAGES = ("numpy", "numba", "polars", "pyarrow", "simpy", "mesa", "pydantic", "scipy")


def agents_frame(sim) -> pl.DataFrame:
    """One row per agent: its kind and population, cash, positions at the mark, PnL net of
    what it started with (and of deposits), fees, orders, fills and its own columns."""
    population_of = {a.account: name for name, pop in sim.populations.items() for a in pop}
    rows = []
    for agent in sim.model.agents:
        acct = sim.ledger.account(agent.account)
        positions = sum(
            acct.position(s) * sim.mark(s) * sim.instruments[s].tick_value for s in sim.instruments
        )
        cash = acct.cash + acct.pending_cash
        rows.append(
            {
                "agent": agent.account,
                "kind": agent.kind,
                "population": population_of.get(agent.account, agent.kind),
                "cash": cash,
                "positions_value": positions,
                "pnl": cash + positions - sim.initial_wealth(agent.account),
                "fees": agent.fees_paid,
                "orders": agent.orders_sent,
                "fills": agent.fills,
                **agent.report(),
            }
        )
    return pl.DataFrame(rows, infer_schema_length=None)


def instruments_frame(sim) -> pl.DataFrame:
    """Each instrument's tick size, lot, unit face value and reference price (ticks): what
    turns the frames' integer ticks and units into prices and money."""
    return pl.DataFrame(
        [
            {
                "symbol": s,
                "tick_size": str(i.tick_size),
                "lot_size": i.lot_size,
                "unit_face_value": i.unit_face_value,
                "reference_price": sim.reference_prices[s],
            }
            for s, i in sim.instruments.items()
        ]
    )


def metrics(sim, frames: dict, agents: pl.DataFrame, instruments: pl.DataFrame, ledger) -> dict:
    """metrics.json: the summary, market quality and stylized facts, the ledger's verdict,
    event counts and each population's own groups."""
    out = {"summary": summary(sim, frames), **compute_metrics(frames, agents, instruments)}
    out["ledger"] = {"conserved": ledger.ok, "unsettled_trades": ledger.unsettled_trades}
    out["events"] = dict(sim.events)
    for name, population in sim.populations.items():
        for group, values in _population_metrics(population).items():
            if name != sim.scenario.kind_of(name):
                group = f"{group}/{name}"  # a second population of a kind
            out.setdefault(group, {}).update(values)
    return out


def summary(sim, frames: dict) -> dict:
    """The headline numbers of a run."""
    trades = frames["trades"]
    value = {s: i.tick_value for s, i in sim.instruments.items()}
    notional = sum(
        price * qty * value[symbol]
        for symbol, price, qty in trades.select("instrument", "price", "qty").iter_rows()
    )
    return {
        "trading_days": len(sim.calendar.trading_days),
        "instruments": len(sim.instruments),
        "venues": len(sim.venues),
        "agents": len(sim.model.agents),
        "requests": sim.events["requests"],
        "trades": trades.height,
        "traded_units": int(trades["qty"].sum()) if trades.height else 0,
        "traded_notional_rupees": notional / 100,
    }


def manifest(sim, run_id: str, wall_seconds: float, ledger) -> dict:
    """manifest.json, less the file hashes `write_run` adds: what makes the run reproducible
    (the resolved scenario, its hash, the seed, the code and package versions) and how it went."""
    return {
        "run_id": run_id,
        "scenario": sim.scenario.to_dict(),
        "scenario_hash": sim.scenario.hash,
        "seed": sim.seed,
        "git_commit": _git_commit(),
        "packages": {p: importlib.metadata.version(p) for p in PACKAGES},
        "wall_time_s": round(wall_seconds, 3),
        "events": dict(sim.events),
        "ledger": ledger.to_dict(),
    }


def _population_metrics(agents) -> dict:
    """A population's own metric groups, from the class's `population_metrics` if it has one."""
    if not agents:
        return {}
    summarise = getattr(type(agents[0]), "population_metrics", None)
    return summarise(agents) if summarise else {}


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None
