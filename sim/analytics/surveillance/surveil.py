"""The entry point: every detector over a run's frames, one alert table back.

    alerts = surveil(orders, trades, quotes, agents, instruments=instruments)
    alerts = surveil_result(sim.Result.load("results/<run>"))

`surveil` reads only polars frames, as the rest of `sim.analytics` does; `surveil_result` takes
anything with a `Result`'s frames and manifest, adds the market makers' tier obligations from
its resolved scenario (`mm_obligation.with_obligations`) and calls it.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from sim.analytics.surveillance.activity import Activity, prepare
from sim.analytics.surveillance.alerts import empty_alerts, sort_alerts
from sim.analytics.surveillance.layering import layering
from sim.analytics.surveillance.marking_the_close import marking_the_close
from sim.analytics.surveillance.mm_obligation import (
    compliance_by_tier,
    mm_obligation,
    with_obligations,
)
from sim.analytics.surveillance.momentum_ignition import momentum_ignition
from sim.analytics.surveillance.params import SurveillanceParams
from sim.analytics.surveillance.quote_stuffing import quote_stuffing
from sim.analytics.surveillance.spoofing import spoofing
from sim.analytics.surveillance.wash_trade import wash_trade

DETECTORS: dict[str, Callable[[Activity, SurveillanceParams], pl.DataFrame]] = {
    "spoofing": spoofing,
    "layering": layering,
    "wash_trade": wash_trade,
    "marking_the_close": marking_the_close,
    "quote_stuffing": quote_stuffing,
    "momentum_ignition": momentum_ignition,
    "mm_obligation": mm_obligation,
}


def surveil(
    orders: pl.DataFrame,
    trades: pl.DataFrame,
    quotes: pl.DataFrame,
    agents: pl.DataFrame,
    *,
    instruments: pl.DataFrame | None = None,
    params: SurveillanceParams | None = None,
) -> pl.DataFrame:
    """One row per alert (`alerts.ALERT_SCHEMA`) from the detectors `params.detectors`, over
    a run's orders, trades, quotes and agents tables; `instruments` (symbol, tick_size) prints
    evidence prices in the instrument's terms. Market makers' obligations are checked when
    `agents` carries them (`with_obligations`)."""
    params = params or SurveillanceParams()
    activity = prepare(orders, trades, quotes, agents, instruments)
    found = [DETECTORS[name](activity, params) for name in params.detectors]
    return sort_alerts(pl.concat([empty_alerts(), *found]))


def surveil_result(result, *, params: SurveillanceParams | None = None) -> pl.DataFrame:
    """`surveil` over a `sim.Result` (or anything with its orders, trades, quotes, agents,
    instruments and manifest), the makers' obligations read from its manifest's scenario."""
    return surveil(
        result.orders, result.trades, result.quotes, _agents_of(result),
        instruments=result.instruments, params=params,
    )  # fmt: skip


def tier_compliance(result, *, params: SurveillanceParams | None = None) -> pl.DataFrame:
    """`mm_obligation.compliance_by_tier` of a `sim.Result`: per tier, the makers' session
    time and the breaches in it."""
    activity = prepare(
        result.orders, result.trades, result.quotes, _agents_of(result), result.instruments
    )
    return compliance_by_tier(activity, params or SurveillanceParams())


def _agents_of(result) -> pl.DataFrame:
    return with_obligations(result.agents, result.manifest.get("scenario") or {})
