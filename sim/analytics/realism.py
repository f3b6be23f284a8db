"""Does a run's bond market price like one? The measures behind the realism targets in
benchmarks/RESULTS.md, from a run's records alone.

- `fair_value_gaps`: each trade's |clean price - published fair clean price| in bp of fair
  value, at the time of the trade;
- `quoted_spreads`: the median quoted spread (bp of mid) of each rating grade's books, over
  every level-1 change with both sides quoted;
- `cross_venue_gaps`: |mid on one venue - mid on another| in ticks, per instrument, at every
  book snapshot where both are quoted;
- `arbitrage_edge`: what each arbitrageur's trades earned against the evaluated price, in bp of
  the value it traded;
- `retail_outcomes`: for a retail cohort, each investor's trading PnL (against the evaluated
  price, before fees) and number of fills;
- `trades_by_grade`: trades per bond of each rating grade.
"""

from __future__ import annotations

import polars as pl

from sim.analytics.attribution import marks

GRADE = pl.col("rating").str.replace_all(r"[+-]", "").fill_null("BIG").alias("grade")


def _symbols(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col("instrument").cast(pl.String))


def _at_trades(trades: pl.DataFrame, fair_values: pl.DataFrame) -> pl.DataFrame:
    """Trades with the valuation in force at each (published at or before it)."""
    return (
        _symbols(trades)
        .sort("time")
        .join_asof(
            _symbols(fair_values).sort("time"),
            on="time",
            by="instrument",
            strategy="backward",
            check_sortedness=False,  # both sorted by time, so each instrument's rows are too
        )
    )


def fair_value_gaps(result) -> pl.Series:
    """|trade price - fair clean price| in bp of the fair clean price, one per trade."""
    ticks = result.instruments.select(
        pl.col("symbol").alias("instrument"), pl.col("tick_size").cast(pl.Float64)
    )
    priced = _at_trades(result.trades, result.fair_values).join(ticks, on="instrument")
    price = pl.col("price") * pl.col("tick_size")
    gap = (price - pl.col("fair_clean_price")).abs() / pl.col("fair_clean_price") * 1e4
    return priced.select(gap.alias("gap_bp"))["gap_bp"]


def quoted_spreads(result) -> dict[str, float]:
    """Median quoted spread (bp of mid) by rating grade."""
    quotes = _symbols(result.quotes).drop_nulls(["bid", "ask"])
    mid = (pl.col("bid") + pl.col("ask")) / 2
    spread = ((pl.col("ask") - pl.col("bid")) / mid * 1e4).alias("spread_bp")
    grades = result.instruments.select(pl.col("symbol").alias("instrument"), GRADE)
    table = quotes.select("instrument", spread).join(grades, on="instrument")
    rows = table.group_by("grade").agg(pl.col("spread_bp").median()).iter_rows()
    return dict(sorted(rows))


def cross_venue_gaps(result) -> pl.Series:
    """|mid on a venue - mid on the first venue| (ticks), per instrument and snapshot."""
    best = (
        _symbols(result.book)
        .with_columns(pl.col("venue").cast(pl.String))
        .filter(pl.col("level") == 1)
        .pivot(on="side", index=["time", "venue", "instrument"], values="price")
        .drop_nulls()
        .select("time", "venue", "instrument", ((pl.col("1") + pl.col("-1")) / 2).alias("mid"))
    )
    venues = sorted(best["venue"].unique())
    first = best.filter(pl.col("venue") == venues[0]).drop("venue")
    others = best.filter(pl.col("venue") != venues[0]).drop("venue")
    both = first.join(others, on=["time", "instrument"], suffix="_other")
    return both.select((pl.col("mid") - pl.col("mid_other")).abs().alias("gap_ticks"))["gap_ticks"]


def _valued_fills(result, account: int) -> pl.DataFrame:
    """The account's fills with their side, client and value at the evaluated price: (side,
    client, qty, consideration, value) in paise."""
    faces = dict(result.instruments.select("symbol", "unit_face_value").iter_rows())
    ticks = dict(
        result.instruments.select(
            "symbol", (pl.col("tick_size").cast(pl.Float64) * pl.col("unit_face_value"))
        ).iter_rows()
    )
    trades = _symbols(result.trades).filter(
        (pl.col("maker_agent") == account) | (pl.col("taker_agent") == account)
    )
    taker = pl.col("taker_agent") == account
    side = pl.when(taker).then(pl.col("aggressor_side")).otherwise(-pl.col("aggressor_side"))
    fills = trades.select(
        "time",
        "instrument",
        "qty",
        side.cast(pl.Int64).alias("side"),
        pl.when(taker).then("taker_client").otherwise("maker_client").alias("client"),
        (
            pl.col("price")
            * pl.col("qty")
            * pl.col("instrument").replace_strict(ticks, return_dtype=pl.Float64)
            + pl.col("accrued")
        ).alias("consideration"),
    )
    valued = marks(result.fair_values, faces).sort("time")
    return (
        fills.sort("time")
        .join_asof(valued, on="time", by="instrument", strategy="backward", check_sortedness=False)
        .with_columns(((pl.col("clean") + pl.col("accrued")) * pl.col("qty")).alias("value"))
    )


def arbitrage_edge(result) -> float | None:
    """What the arbitrageurs' trades earned against the evaluated price, in bp of the value
    they traded (None without arbitrage trades)."""
    accounts = result.agents.filter(pl.col("kind") == "arbitrage")["agent"].to_list()
    fills = [_valued_fills(result, a) for a in accounts]
    fills = pl.concat(fills) if fills else None
    if fills is None or fills.is_empty():
        return None
    earned = (pl.col("side") * (pl.col("value") - pl.col("consideration"))).sum()
    return fills.select(earned / pl.col("value").sum() * 1e4).item()


def retail_outcomes(result) -> pl.DataFrame:
    """Per retail investor (client code) of every retail cohort: fills and trading PnL
    (paise, against the evaluated price at each fill, before fees)."""
    accounts = result.agents.filter(pl.col("kind") == "retail")["agent"].to_list()
    frames = []
    for account in accounts:
        fills = _valued_fills(result, account)
        frames.append(
            fills.group_by("client").agg(
                pl.len().alias("fills"),
                (pl.col("side") * (pl.col("value") - pl.col("consideration")))
                .sum()
                .alias("trading_pnl"),
            )
        )
    return pl.concat(frames) if frames else pl.DataFrame()


def trades_by_grade(result) -> dict[str, float]:
    """Trades per bond of each rating grade."""
    grades = result.instruments.select(pl.col("symbol").alias("instrument"), GRADE)
    counts = _symbols(result.trades).group_by("instrument").len()
    table = grades.join(counts, on="instrument", how="left").fill_null(0)
    rows = table.group_by("grade").agg(pl.col("len").mean()).iter_rows()
    return dict(sorted(rows))
