"""Each account's PnL at evaluated prices, and where it came from: carry, valuation, trading and
fees. The parts sum to the PnL exactly, in paise.

Positions are valued at the published valuation (`fair_values`): a unit of a bond is worth its
fair clean price plus the interest accrued to the settlement date of a trade at that time, each
rounded to the paisa per unit (``M`` and ``A`` below, constant between publications). An
account's capital is its starting cash and units at the first valuation plus the money it was
given since (deposits less withdrawals); its PnL is its cash (settled or not) plus its
positions (settled or not) at the last valuation, less its capital. Over the run, with ``q``
its units of a bond, ``q0`` and ``q1`` those at the start and the end, and ``dq`` the change
at each trade or off-book transfer:

- **carry** = accrual + coupons + manufactured payments received, where the accrual is
  ``q1 A1 - q0 A0 - sum(dq A)``: ``q`` times each change of ``A``, which falls back at each
  coupon date as the coupon is paid;
- **valuation** = ``q1 M1 - q0 M0 - sum(dq M)``: ``q`` times each change of the fair clean price;
- **trading** = ``sum(dq (M + A) - cash paid)``: what each trade and off-book exchange paid or
  received against the evaluated price at its time (the spread crossed or earned, the edge, a
  repo's haircut);
- **fees** = minus the fees paid (rebates count as negative fees).

Summing ``q dM``-style terms by parts is what makes the split exact: the three position terms
and the cash of every event add up to ``q1 (M1 + A1) - q0 (M0 + A0)`` plus the cash flows.

Marked to mid instead (`mid_marks`, a scenario's ``recording.marks = "mid"``), ``M`` is the
most recent of the published fair clean price and the mid of a book snapshot (the mean over
the venues quoting both sides): the books' mids through the day, the evaluated price at each
open until the first snapshot, and the redemption value at maturity.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

import polars as pl

PARTS = ("carry", "valuation", "trading", "fees")


def marks(fair_values: pl.DataFrame, faces: Mapping[str, int]) -> pl.DataFrame:
    """Each publication of `fair_values` as paise per unit: (time, instrument, clean, accrued),
    with `faces` the rupees of face in one unit of each instrument."""
    face = pl.col("instrument").cast(pl.String).replace_strict(faces, return_dtype=pl.Float64)
    return fair_values.select(
        "time",
        pl.col("instrument").cast(pl.String),
        (pl.col("fair_clean_price") * face).round().cast(pl.Int64).alias("clean"),
        (pl.col("accrued").fill_null(0.0) * face).round().cast(pl.Int64).alias("accrued"),
    ).sort("instrument", "time", maintain_order=True)


def mid_marks(
    fair_values: pl.DataFrame,
    book: pl.DataFrame,
    faces: Mapping[str, int],
    tick_sizes: Mapping[str, float],
) -> pl.DataFrame:
    """`marks`, with a row for every book snapshot (`book`, L2 rows) where some venue quoted
    both sides: the clean price at the mean of those venues' mids, the accrued interest of the
    publication in force."""
    published = marks(fair_values, faces)
    top = book.filter(pl.col("level") == 1).with_columns(pl.col("instrument").cast(pl.String))
    quoted = top.group_by("time", "venue", "instrument").agg(
        pl.col("price").filter(pl.col("side") == 1).first().alias("bid"),
        pl.col("price").filter(pl.col("side") == -1).first().alias("ask"),
    )
    per_100 = pl.col("instrument").replace_strict(tick_sizes, return_dtype=pl.Float64)
    face = pl.col("instrument").replace_strict(faces, return_dtype=pl.Float64)
    mids = (
        quoted.drop_nulls(["bid", "ask"])
        .group_by("time", "instrument")
        .agg(((pl.col("bid") + pl.col("ask")) / 2).mean().alias("mid"))
        .select(
            "time",
            "instrument",
            (pl.col("mid") * per_100 * face).round().cast(pl.Int64).alias("clean"),
        )
        .sort("time")
        .join_asof(
            published.select("time", "instrument", "accrued").sort("time"),
            on="time",
            by="instrument",
            strategy="backward",
            check_sortedness=False,
        )
        .drop_nulls("accrued")  # a snapshot before the first valuation
    )
    # Publications first at equal times: a snapshot taken then shows the book after it.
    return pl.concat([published, mids.select(published.columns)]).sort(
        "instrument", "time", maintain_order=True
    )


def movements(
    trades: pl.DataFrame, transfers: pl.DataFrame, tick_values: Mapping[str, int]
) -> pl.DataFrame:
    """Every change of an account's units or cash other than capital and fees, one row per
    account: (time, account, instrument, units, cash, kind) with kind "trade", "transfer" or
    "carry" (coupons and manufactured payments: cash, no units)."""
    tick = pl.col("instrument").replace_strict(tick_values, return_dtype=pl.Int64)
    trades = trades.with_columns(pl.col("instrument").cast(pl.String))
    consideration = pl.col("price") * pl.col("qty") * tick + pl.col("accrued")
    buyer = pl.when(pl.col("aggressor_side") == 1).then("taker_agent").otherwise("maker_agent")
    seller = pl.when(pl.col("aggressor_side") == 1).then("maker_agent").otherwise("taker_agent")
    sides = [
        trades.select(
            "time",
            account.alias("account"),
            "instrument",
            (sign * pl.col("qty")).alias("units"),
            (-sign * consideration).alias("cash"),
            pl.lit("trade").alias("kind"),
        )
        for account, sign in ((buyer, 1), (seller, -1))
    ]
    moves = transfers.with_columns(pl.col("instrument").cast(pl.String))
    exchanges = moves.filter(pl.col("kind").is_in(["transfer", "redemption"]))
    # A transfer: the source pays `cash` to the target, the target delivers `qty` to the source
    # (a redemption too: the paying agent pays, the holder delivers).
    for account, sign in (("source", 1), ("target", -1)):
        sides.append(
            exchanges.select(
                "time",
                pl.col(account).alias("account"),
                "instrument",
                (sign * pl.col("qty")).alias("units"),
                (-sign * pl.col("cash")).alias("cash"),
                pl.lit("transfer").alias("kind"),
            )
        )
    income = moves.filter(pl.col("kind").is_in(["coupon", "manufactured_payment"]))
    for account, sign in (("source", -1), ("target", 1)):
        sides.append(
            income.select(
                "time",
                pl.col(account).alias("account"),
                "instrument",
                pl.lit(0, pl.Int64).alias("units"),
                (sign * pl.col("cash")).alias("cash"),
                pl.lit("carry").alias("kind"),
            )
        )
    frame = pl.concat([s.cast({"account": pl.Int64, "units": pl.Int64, "cash": pl.Int64})
                       for s in sides])  # fmt: skip
    return frame.filter(pl.col("account").is_not_null())


def capital(transfers: pl.DataFrame) -> tuple[dict[int, int], dict[tuple[int, str], int]]:
    """Cash and units each account was given from outside: (cash by account, units by
    (account, instrument)). Deposits less withdrawals; issues."""
    cash: dict[int, int] = defaultdict(int)
    units: dict[tuple[int, str], int] = defaultdict(int)
    rows = transfers.filter(pl.col("kind").is_in(["deposit", "withdrawal", "issue"])).select(
        "kind", "source", "target", "cash", pl.col("instrument").cast(pl.String), "qty"
    )
    for kind, source, target, amount, instrument, qty in rows.iter_rows():
        if kind == "deposit":
            cash[target] += amount
        elif kind == "withdrawal":
            cash[source] -= amount
        else:
            units[target, instrument] += qty
    return cash, units


def attribute(
    trades: pl.DataFrame,
    transfers: pl.DataFrame,
    valued: pl.DataFrame,
    tick_values: Mapping[str, int],
    fees: Mapping[int, int],
) -> dict[int, dict[str, int]]:
    """Capital, positions at the last mark, PnL and its parts (paise) of every account in
    `fees` (the fees each paid): {account: {"capital", "positions_value", "pnl", *PARTS}}.
    `valued`: the marks (`marks` or `mid_marks`)."""
    first = valued.group_by("instrument").first()
    last = valued.group_by("instrument").last()
    start = {i: (m, a) for i, m, a in first.select("instrument", "clean", "accrued").iter_rows()}
    end = {i: (m, a) for i, m, a in last.select("instrument", "clean", "accrued").iter_rows()}
    moves = movements(trades, transfers, tick_values).sort("time", maintain_order=True)
    # Both sorted by time, so each instrument's rows are too (polars cannot check it by group).
    priced = moves.join_asof(
        valued.sort("time"),
        on="time",
        by="instrument",
        strategy="backward",
        check_sortedness=False,
    ).with_columns(pl.col("clean").fill_null(0), pl.col("accrued").fill_null(0))
    # Per (account, instrument): the sums over events of dq, dq M and dq A.
    per_position = (
        priced.filter(pl.col("units") != 0)
        .group_by("account", "instrument")
        .agg(
            pl.col("units").sum().alias("dq"),
            (pl.col("units") * pl.col("clean")).sum().alias("dq_m"),
            (pl.col("units") * pl.col("accrued")).sum().alias("dq_a"),
        )
    )
    per_account = priced.group_by("account").agg(
        (pl.col("units") * (pl.col("clean") + pl.col("accrued")) + pl.col("cash"))
        .filter(pl.col("kind") != "carry")
        .sum()
        .alias("trading"),
        pl.col("cash").filter(pl.col("kind") == "carry").sum().alias("income"),
        pl.col("cash").sum().alias("cash"),
    )
    flows = {row[0]: row[1:] for row in per_account.iter_rows()}
    moved = defaultdict(dict)
    for account, instrument, dq, dq_m, dq_a in per_position.iter_rows():
        moved[account][instrument] = (dq, dq_m, dq_a)
    given_cash, given_units = capital(transfers)
    out = {}
    for account, paid in fees.items():
        trading, income, cash = flows.get(account, (0, 0, 0))
        holdings = {i: q for (a, i), q in given_units.items() if a == account}
        instruments = set(holdings) | set(moved.get(account, {}))
        valuation = accrual = value0 = value1 = 0
        for instrument in instruments:
            q0 = holdings.get(instrument, 0)
            dq, dq_m, dq_a = moved.get(account, {}).get(instrument, (0, 0, 0))
            q1 = q0 + dq
            (m0, a0), (m1, a1) = start[instrument], end[instrument]
            valuation += q1 * m1 - q0 * m0 - dq_m
            accrual += q1 * a1 - q0 * a0 - dq_a
            value0 += q0 * (m0 + a0)
            value1 += q1 * (m1 + a1)
        parts = {
            "carry": accrual + income,
            "valuation": valuation,
            "trading": trading,
            "fees": -paid,
        }
        funded = given_cash.get(account, 0) + value0
        out[account] = {
            "capital": funded,
            "positions_value": value1,
            "pnl": sum(parts.values()),
            "cash_flows": cash,
            **parts,
        }
    return out
