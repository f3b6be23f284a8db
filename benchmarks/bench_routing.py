"""Smart order routing against sending to one venue (issue 16): the implementation shortfall
of random orders, each decided by `sim.strategy.routing.route` on the depth the recorded books
of a two-venue run showed at one moment.

The run is `baseline.toml` (NSE at a 1 bp taker fee and 200 µs, BSE at 1.5 bp and 400 µs)
reduced to 3 days and small populations, with five-level book snapshots every minute. Each
order picks a snapshot of one bond at random (seeded), a side, and a size log-uniform from 1 to
400 units, and is planned as a market order four ways: routed ("cheapest"), to the venue with
the best net price at the top ("single"), and to NSE or BSE alone. Its shortfall is what it
pays (a buy) or gives up (a sell) against the arrival mid, fees included, in basis points of
that mid, where the arrival mid is the middle of the best bid and best ask across both venues.
The books are taken as they stand: each plan meets the snapshot's depth with no latency race
and no other trader reacting; the bands (5% around fair value) and halts are not in the book
records and are left out.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import polars as pl

SEED = 16
ORDERS = 5_000
MAX_UNITS = 400
OVERRIDES = [
    "calendar.days=3",
    "retail.count=100",
    "value.count=10",
    "momentum.count=2",
    "sip.investors=200",
    "recording.book_interval_seconds=60",
]
PLANS = ("routed", "single", "NSE only", "BSE only")

Levels = tuple[tuple[int, int], ...]


def snapshots(book: pl.DataFrame) -> dict[tuple[int, str], dict[tuple[str, int], Levels]]:
    """The recorded books by (time, instrument): each venue and side's levels, best first."""
    rows = (
        book.with_columns(pl.col("venue", "instrument").cast(pl.String))
        .sort("time", "instrument", "venue", "side", "level")
        .select("time", "instrument", "venue", "side", "price", "qty")
        .rows()
    )
    books: dict[tuple[int, str], dict[tuple[str, int], list]] = {}
    for t, instrument, venue, side, price, qty in rows:
        books.setdefault((t, instrument), {}).setdefault((venue, side), []).append((price, qty))
    return {
        key: {side: tuple(levels) for side, levels in sides.items()} for key, sides in books.items()
    }


def arrival_mid(sides: dict[tuple[str, int], Levels]) -> float | None:
    """The middle of the best bid and best ask across venues; None with a side empty."""
    bids = [levels[0][0] for (_, side), levels in sides.items() if side == 1]
    asks = [levels[0][0] for (_, side), levels in sides.items() if side == -1]
    return (max(bids) + min(asks)) / 2 if bids and asks else None


def shortfalls(seed: int = SEED, orders: int = ORDERS) -> tuple[pl.DataFrame, float]:
    """One row per random order: its side, size, and for each plan the units filled and the
    shortfall in bp (null unless filled in full), whether routing split it, and how many bp
    routing saves on the units the single venue filled; and the CPU time of one routing
    decision in µs."""
    import sim
    from sim.strategy.routing import VenueView, route

    scenario = sim.load_scenario("baseline", OVERRIDES)
    result = sim.run(scenario, seed=1, out=None)
    fees = {v.name: v.fees.taker_bps for v in scenario.venues}
    latency = {v.name: round(v.latency.base_us * 1_000) for v in scenario.venues}
    instruments = {row["symbol"]: row for row in result.instruments.iter_rows(named=True)}
    books = snapshots(result.book)
    moments = sorted(key for key, sides in books.items() if arrival_mid(sides) is not None)

    rng = np.random.default_rng(np.random.SeedSequence(seed))
    records, routing_cpu = [], 0.0
    for _ in range(orders):
        t, symbol = moments[rng.integers(len(moments))]
        sides = books[(t, symbol)]
        mid = arrival_mid(sides)
        side = int(rng.choice([1, -1]))
        info = instruments[symbol]
        lot = info["lot_size"]
        units = max(lot, round(np.exp(rng.uniform(0, np.log(MAX_UNITS))) / lot) * lot)
        tick_value = round(float(info["tick_size"]) * info["unit_face_value"])
        views = [
            VenueView(name, sides.get((name, -side), ()), fees[name], latency[name])
            for name in fees
        ]
        sizing = {"tick_value": tick_value, "lot_size": lot}
        started = time.process_time()
        routed = route(side, units, views, **sizing)
        routing_cpu += time.process_time() - started
        plans = {"routed": routed, "single": route(side, units, views, policy="single", **sizing)}
        for name in fees:
            plans[f"{name} only"] = route(side, units, views, policy="single", venue=name, **sizing)
        single = plans["single"]
        record = {"side": side, "qty": units, "split": routed.split, "gain at single's fill": None}
        if single.filled:
            # Routing only the units the single venue could fill compares every order.
            same = route(side, single.filled, views, **sizing)
            gain = side * (single.average_price_net - same.average_price_net) / mid * 1e4
            record["gain at single's fill"] = gain
        for label, plan in plans.items():
            record[f"{label} filled"] = plan.filled
            record[label] = (
                side * (plan.average_price_net - mid) / mid * 1e4 if plan.filled == units else None
            )
        records.append(record)
    return pl.DataFrame(records, infer_schema_length=None), routing_cpu / orders * 1e6


def run() -> str:
    frame, decision_us = shortfalls()
    full = frame.drop_nulls(list(PLANS))
    lines = [
        "| plan | orders filled in full | mean shortfall (bp) | median shortfall (bp) |",
        "|---|---:|---:|---:|",
    ]
    for label in PLANS:
        filled = frame[label].is_not_null().sum()
        lines.append(
            f"| {label} | {filled} of {len(frame)} | {full[label].mean():.2f} "
            f"| {full[label].median():.2f} |"
        )
    both = frame.drop_nulls(["routed", "single"])
    gain = (both["single"] - both["routed"]).to_list()
    improved = sum(g > 1e-9 for g in gain)
    split = both.filter(pl.col("split"))
    split_gain = (split["single"] - split["routed"]).to_list()
    short = frame.filter(pl.col("single").is_null() & pl.col("routed").is_not_null())
    same = frame["gain at single's fill"].drop_nulls()
    return "\n".join(
        [
            "## Smart order routing",
            "",
            __doc__.strip(),
            "",
            f"{len(frame)} orders (seed {SEED}); the shortfalls below are over the "
            f"{len(full)} orders that every plan filled in full, so that each is compared on "
            "the same orders.",
            "",
            *lines,
            "",
            f"- Routed against the single best-top venue, over the {len(both)} orders both "
            f"filled in full: {improved / len(both):.1%} improved, "
            f"{sum(g < -1e-9 for g in gain)} worse, the rest equal; by "
            f"{statistics.mean(gain):.2f} bp on average and {max(gain):.2f} bp at most.",
            f"- Split across both venues: {frame['split'].sum()} of all {len(frame)} orders; "
            f"{len(split)} of the {len(both)} ({len(split) / len(both):.1%}), improved by "
            f"{statistics.mean(split_gain) if split_gain else 0:.2f} bp on average.",
            f"- {len(short)} orders the single venue could not fill in full were filled in "
            "full by routing.",
            f"- Every order, routing only the units the single venue filled ({len(same)} "
            f"orders): {(same > 1e-9).mean():.1%} improved, {(same < -1e-9).sum()} worse, by "
            f"{same.mean():.2f} bp on average.",
            f"- One routing decision: {decision_us:.0f} µs of CPU.",
        ]
    )
