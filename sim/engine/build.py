"""Building a run's market from a resolved `Scenario`: instruments, the fundamental process,
reference prices and venues. Plain functions; `sim.engine.kernel.Simulation` composes them.
A value the scenario's validation could not see alone (a bond maturing inside the run, say)
raises ValueError, which the kernel reports as the scenario's error."""

from __future__ import annotations

import numpy as np

from sim.engine.latency import Latency, latency_from
from sim.market.calendar import TradingCalendar
from sim.market.fees import FeeSchedule, Tier
from sim.market.instrument import Instrument
from sim.market.ledger import Ledger
from sim.market.venue import PriceBand, Venue
from sim.scenario.shocks import DefaultShock, VolatilityShock
from sim.units import NS_PER_SECOND


def trading_calendar(spec) -> TradingCalendar:
    """The trading calendar of a scenario's ``[calendar]``."""
    return TradingCalendar(spec.start, spec.days, spec.open, spec.close, tuple(spec.holidays))


def instrument_of(spec) -> Instrument:
    """The market's instrument for one of the scenario's instrument specs."""
    return Instrument(spec.symbol, spec.tick_size, spec.lot_size, spec.unit_face_value)


def build_fundamental(scenario, calendar: TradingCalendar, seed: np.random.SeedSequence):
    """The scenario's fundamental process, seeded from its own branch of the run's seeds."""
    from sim import fundamentals

    spec = scenario.fundamentals
    rng = np.random.default_rng(seed)
    if spec.kind == "replay":
        from sim.engine.replay import recorded_fundamental

        replay = scenario.replay
        listed = next(i for i in scenario.instruments if i.symbol == replay.symbol)
        ticks = round(listed.reference_price / listed.tick_size)
        return recorded_fundamental(replay, ticks, float(listed.tick_size), calendar)
    if spec.kind == "mean_reverting":
        r_bar = {
            i.symbol: float(spec.r_bar if spec.r_bar is not None else i.reference_price)
            for i in scenario.instruments
        }
        return fundamentals.MeanRevertingFundamental(
            r_bar,
            spec.kappa_per_second,
            spec.sigma_s,
            spec.jump_rate_per_day,
            spec.jump_mean_pct,
            spec.jump_sd_pct,
            rng,
            start_ns=calendar.start_ns,
        )
    from sim.pricing import Bond

    bonds = {
        i.symbol: (Bond(i.issue, i.maturity, i.coupon, i.frequency, i.day_count), i.rating)
        for i in scenario.instruments
    }
    params = fundamentals.BondFactorParams(
        level=spec.short_rate + spec.slope,
        slope=spec.slope,
        level_vol_bp=spec.level_vol_bp_per_day,
        slope_vol_bp=spec.slope_vol_bp_per_day,
        credit_vol_bp=spec.spread_vol_bp_per_day,
        level_kappa_per_year=spec.level_kappa,
        slope_kappa_per_year=spec.slope_kappa,
        downgrade_prob_per_year=spec.downgrade_prob_per_year,
        settlement_lag_days=max(v.settlement_lag_days for v in scenario.venues),
    )
    issuers = {i.symbol: (i.issuer, i.sector) for i in scenario.instruments}
    volatility = tuple(s for s in scenario.shocks if isinstance(s, VolatilityShock))
    return fundamentals.BondFundamental(
        bonds, calendar, params, rng, issuers, volatility, spec.recovery
    )


def defaults_by_symbol(scenario) -> dict[str, int]:
    """The trading day from which each bond of a defaulting issuer is in default."""
    days: dict[str, int] = {}
    for shock in scenario.shocks:
        if isinstance(shock, DefaultShock):
            days[shock.issuer] = min(shock.day, days.get(shock.issuer, shock.day))
    return {i.symbol: days[i.issuer] for i in scenario.instruments if i.issuer in days}


def reference_prices(
    scenario, instruments: dict[str, Instrument], fundamental, calendar: TradingCalendar
) -> dict[str, int]:
    """Each instrument's reference price in ticks: where its market opens, its price band is
    centred and agents' priors start. Bonds priced by the pricing engine open at their first
    fair value (their file's reference price would disagree with the curve); otherwise the
    scenario's reference price."""
    prices = {}
    for spec in scenario.instruments:
        instrument = instruments[spec.symbol]
        if scenario.fundamentals.kind == "bond":
            fair = fundamental.value(spec.symbol, calendar.start_ns)
            prices[spec.symbol] = max(round(fair / float(instrument.tick_size)), 1)
        else:
            prices[spec.symbol] = instrument.to_ticks(spec.reference_price)
    return prices


def price_band(settings) -> PriceBand:
    """The venue's price band for circuit-breaker settings: a venue's ``[venues.price_band]``
    or a ``circuit_breaker`` shock (each has limit_pct, halt_pct and halt_minutes)."""
    return PriceBand(
        settings.limit_pct, settings.halt_pct, int(settings.halt_minutes * 60 * NS_PER_SECOND)
    )


def build_venue(
    spec,
    ledger: Ledger,
    instruments: dict[str, Instrument],
    reference_prices: dict[str, int],
    calendar: TradingCalendar,
) -> tuple[Venue, Latency]:
    """One of the scenario's venues, listing its instruments at their reference prices, and
    the latency of requests to it."""
    fees = FeeSchedule(
        spec.fees.maker_bps,
        spec.fees.taker_bps,
        {Tier(t): bps for t, bps in spec.fees.tiers.items()},
    )
    venue = Venue(
        spec.name,
        ledger,
        fees=fees,
        price_band=None if spec.price_band is None else price_band(spec.price_band),
        settlement_lag_days=spec.settlement_lag_days,
        market_protection_pct=spec.market_protection_pct,
        settlement_time=calendar.settlement_time,
    )
    listed = instruments if "*" in spec.listings else spec.listings
    for symbol in listed:
        venue.list_instrument(instruments[symbol], reference_prices[symbol])
    return venue, latency_from(spec.latency.base_us, spec.latency.jitter_us)
