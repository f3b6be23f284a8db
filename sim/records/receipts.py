"""Trade receipts: what each trade cost each side, and what the market and the valuation
said at the time (seed 000's "trade receipt transparency").

Built from a run's frames (`receipts`), one row per trade, in trade id order. Money is in
paise, prices in ticks unless named per 100 face, quantities in units.

Columns:

- the trade: trade_id, time (ns), datetime (the same, as a calendar time), venue, instrument,
  buyer, buyer_client, seller, seller_client (accounts and client codes), aggressor ("buyer"
  or "seller": who crossed the spread), qty, price (ticks), clean_price (per 100 face).
- what changed hands: notional (price x qty at the instrument's tick value), accrued (the
  interest the buyer paid the seller on top), buyer_fee and seller_fee (each side's fee to the
  venue; negative: a maker's rebate), buyer_paid (notional + accrued + buyer_fee),
  seller_received (notional + accrued - seller_fee).
- the valuation in force, published at or before the trade (fair_values.parquet):
  fair_time, fair_clean_price and fair_accrued (per 100 face), fair_yield, spread_bp, the
  breakdown where the run has it (risk_free_clean_price; rating_spread, liquidity_premium,
  model_adjustment: each ``_bp`` and its ``_price`` effect per 100 face), and
  price_vs_fair_bp: the clean price's distance from the fair clean price, in bp of it.
- each venue's best prices when the trade happened: ``<venue>_bid``, ``<venue>_bid_qty``,
  ``<venue>_ask``, ``<venue>_ask_qty`` from that venue's last quote strictly before the trade's
  time (quotes.parquet; a quote at the trade's own time already shows its effect); null where
  the venue showed no such side, or does not list the instrument.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import polars as pl

BREAKDOWN = ("rating_spread", "liquidity_premium", "model_adjustment")
_FAIR = ("fair_clean_price", "accrued", "fair_yield", "spread_bp", "risk_free_clean_price",
         *(f"{name}_{unit}" for name in BREAKDOWN for unit in ("bp", "price")))  # fmt: skip
_SIDES = ("bid", "bid_qty", "ask", "ask_qty")


def receipts(
    trades: pl.DataFrame,
    fair_values: pl.DataFrame,
    quotes: pl.DataFrame,
    instruments: pl.DataFrame,
) -> pl.DataFrame:
    """One receipt per trade (the module doc lists the columns)."""
    if "trade_id" not in trades.columns:  # a run recorded before trades had ids
        trades = trades.with_row_index("trade_id", offset=1)
    for fee in ("maker_fee", "taker_fee"):
        if fee not in trades.columns:
            trades = trades.with_columns(pl.lit(None, dtype=pl.Int64).alias(fee))
    terms = instruments.select(
        pl.col("symbol").cast(pl.String).alias("instrument"),
        pl.col("tick_size").cast(pl.String),
        pl.col("unit_face_value"),
    )
    tick_value = {
        s: int(Decimal(t) * f) for s, t, f in terms.iter_rows()
    }  # paise per tick on one unit, as `Instrument.tick_value`
    tick_size = {s: float(Decimal(t)) for s, t, _ in terms.iter_rows()}
    # ticks per rupee where whole (0.01: 100), so that price / it is the nearest float
    per_rupee = {s: float(1 / Decimal(t)) for s, t, _ in terms.iter_rows()
                 if (1 / Decimal(t)) % 1 == 0}  # fmt: skip
    symbol = pl.col("instrument")
    ticks_per_rupee = symbol.replace_strict(per_rupee, default=None, return_dtype=pl.Float64)
    rupees_per_tick = symbol.replace_strict(tick_size, default=None, return_dtype=pl.Float64)
    paise_per_tick = symbol.replace_strict(tick_value, default=None, return_dtype=pl.Int64)
    price = pl.col("price")
    buyer_takes = pl.col("aggressor_side") == 1

    def buyers(taker: str, maker: str) -> pl.Expr:
        return pl.when(buyer_takes).then(pl.col(taker)).otherwise(pl.col(maker))

    out = (
        trades.with_columns(pl.col("venue", "instrument").cast(pl.String))
        .sort("trade_id")
        .select(
            pl.col("trade_id").cast(pl.Int64),
            "time",
            pl.from_epoch("time", time_unit="ns").alias("datetime"),
            "venue",
            "instrument",
            buyers("taker_agent", "maker_agent").alias("buyer"),
            buyers("taker_client", "maker_client").alias("buyer_client"),
            buyers("maker_agent", "taker_agent").alias("seller"),
            buyers("maker_client", "taker_client").alias("seller_client"),
            pl.when(buyer_takes)
            .then(pl.lit("buyer"))
            .otherwise(pl.lit("seller"))
            .alias("aggressor"),
            "qty",
            "price",
            pl.coalesce(price / ticks_per_rupee, price * rupees_per_tick).alias("clean_price"),
            (price * pl.col("qty") * paise_per_tick).alias("notional"),
            "accrued",
            buyers("taker_fee", "maker_fee").alias("buyer_fee"),
            buyers("maker_fee", "taker_fee").alias("seller_fee"),
        )
    )
    paid = pl.col("notional") + pl.col("accrued")
    out = out.with_columns(
        (paid + pl.col("buyer_fee")).alias("buyer_paid"),
        (paid - pl.col("seller_fee")).alias("seller_received"),
    )
    out = _with_fair_values(out, fair_values)
    return _with_quotes(out, quotes)


def _with_fair_values(out: pl.DataFrame, fair_values: pl.DataFrame) -> pl.DataFrame:
    fair = fair_values.with_columns(pl.col("instrument").cast(pl.String))
    for name in _FAIR:
        if name not in fair.columns:  # a run recorded before valuations had a breakdown
            fair = fair.with_columns(pl.lit(None, dtype=pl.Float64).alias(name))
    fair = fair.select(
        "instrument",
        pl.col("time").alias("fair_time"),
        *(pl.col(name).alias("fair_accrued" if name == "accrued" else name) for name in _FAIR),
    ).sort("fair_time")
    joined = (
        out.sort("time")
        .join_asof(
            fair,
            left_on="time",
            right_on="fair_time",
            by="instrument",
            strategy="backward",
            check_sortedness=False,
        )  # both sorted by time
        .sort("trade_id")
    )
    return joined.with_columns(
        ((pl.col("clean_price") / pl.col("fair_clean_price") - 1) * 1e4).alias("price_vs_fair_bp")
    )


def _with_quotes(out: pl.DataFrame, quotes: pl.DataFrame) -> pl.DataFrame:
    quotes = quotes.with_columns(pl.col("venue", "instrument").cast(pl.String))
    venues = quotes["venue"].unique(maintain_order=True).to_list()
    if out.height:  # a venue that traded without a quote recorded still gets its columns
        venues += [v for v in out["venue"].unique(maintain_order=True) if v not in venues]
    out = out.sort("time")
    for venue in venues:
        book = (
            quotes.filter(pl.col("venue") == venue)
            .select(
                "instrument",
                pl.col("time").alias("_quote_time"),
                *(pl.col(side).alias(f"{venue}_{side}") for side in _SIDES),
            )
            .sort("_quote_time")
        )
        out = out.join_asof(
            book,
            left_on="time",
            right_on="_quote_time",
            by="instrument",
            strategy="backward",
            allow_exact_matches=False,
            check_sortedness=False,  # both sorted by time
        ).drop("_quote_time")
    return out.sort("trade_id")


def receipt_of(frame: pl.DataFrame, trade_id: int) -> dict[str, Any] | None:
    """The receipt of one trade as nested plain values (None when `frame` has no such trade):
    the trade, ``buyer`` and ``seller`` (agent, client, fee, paid or received), ``fair_value``
    (its ``breakdown`` nested) and ``quotes`` by venue."""
    rows = frame.filter(pl.col("trade_id") == trade_id)
    if rows.height == 0:
        return None
    row = rows.row(0, named=True)
    venues = [c.removesuffix("_bid_qty") for c in frame.columns if c.endswith("_bid_qty")]
    breakdown = {"risk_free_clean_price": row["risk_free_clean_price"]}
    for name in BREAKDOWN:
        breakdown[name] = {"bp": row[f"{name}_bp"], "price": row[f"{name}_price"]}
    return {
        "trade_id": row["trade_id"],
        "time": row["time"],
        "datetime": row["datetime"].isoformat(),
        "venue": row["venue"],
        "instrument": row["instrument"],
        "qty": row["qty"],
        "price": row["price"],
        "clean_price": row["clean_price"],
        "notional": row["notional"],
        "accrued": row["accrued"],
        "aggressor": row["aggressor"],
        "buyer": {
            "agent": row["buyer"],
            "client": row["buyer_client"],
            "fee": row["buyer_fee"],
            "paid": row["buyer_paid"],
        },
        "seller": {
            "agent": row["seller"],
            "client": row["seller_client"],
            "fee": row["seller_fee"],
            "received": row["seller_received"],
        },
        "fair_value": {
            "time": row["fair_time"],
            "clean_price": row["fair_clean_price"],
            "accrued": row["fair_accrued"],
            "yield": row["fair_yield"],
            "spread_bp": row["spread_bp"],
            "breakdown": breakdown,
            "price_vs_fair_bp": row["price_vs_fair_bp"],
        },
        "quotes": {venue: {side: row[f"{venue}_{side}"] for side in _SIDES} for venue in venues},
    }
