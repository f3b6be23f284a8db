"""The service's run as it stands: its records so far as an in-memory `sim.Result`, for what
reads a finished run's frames (the Liquidity Pulse, `sim.pulse`) to read a live one.

The frames are the recorder's (copies: the run goes on recording), with what a finished run
adds to them: the valuations' breakdown in ``fair_values``, an ``agents`` frame of each
account's id and kind (no PnL: the run is not over) and the ``instruments`` frame a finished
run writes. The manifest holds the run id, the resolved scenario and the seed; the metrics are
empty.

A client account of the market-maker role counts as a market maker (its kind
``market_maker``): its quotes are a maker's, whoever sends them. Call it under the exchange's
lock, so that the frames are of one moment.
"""

from __future__ import annotations

from collections.abc import Collection

from sim.engine.kernel import Simulation
from sim.records import summary
from sim.records.result import Result
from sim.records.summary import RunRecord

MAKER_KIND = "market_maker"  # the kind `sim.pulse.makers` counts


def records_so_far(sim: Simulation, makers: Collection[int] = ()) -> Result:
    """`sim`'s records up to now as a `Result`; `makers` are the accounts (besides the agents
    of kind ``market_maker``) that count as market makers."""
    frames = sim.recorder.frames()
    # The engine's own breakdown, as a finished run's fair_values carry it (the repayment
    # index reads its rating spread and credit adjustment).
    frames["fair_values"] = sim._with_breakdown(frames["fair_values"])
    agents = [
        {"agent": a.account, "kind": MAKER_KIND if a.account in makers else a.kind}
        for a in sim.model.agents
    ]
    record = RunRecord(
        run_id=sim.run_id,
        scenario=sim.scenario,
        seed=sim.seed,
        trading_days=len(sim.calendar.trading_days),
        venues=len(sim.venues),
        instruments=sim.instruments,
        reference_prices=sim.reference_prices,
        agents=agents,
        population_metrics={},
        events=dict(sim.events),
        ledger=sim.ledger.check(),
    )
    frames["agents"] = summary.agents_frame(record)
    frames["instruments"] = summary.instruments_frame(record)
    manifest = {
        "run_id": sim.run_id,
        "scenario": sim.scenario.to_dict(),
        "scenario_hash": sim.scenario.hash,
        "seed": sim.seed,
    }
    return Result.in_memory(frames, {}, manifest)
