"""Synthetic daily price histories for bonds, in the long format `PriceForecaster` reads.

Two structures:

- ``"mean_reverting"``: a two-factor curve (level and slope, each an Ornstein–Uhlenbeck process)
  shaped as a Nelson–Siegel zero curve, a common credit factor scaling the rating spreads of
  `sim.pricing.credit`, a liquidity premium from a noisy bid-ask spread, and observed prices
  that mean-revert toward fair value: ``clean = fair + m`` with the mispricing ``m`` an AR(1).
  Part of each future price change is therefore predictable from today's data.
- ``"random_walk"``: each clean price is a driftless Gaussian random walk, independent of every
  other column; ``fair_value`` is the price plus independent noise. Nothing is predictable.

The bonds are stylised: semi-annual coupons on a year-fraction grid (time advances by calendar
days / 365 between business days), 100 face, accrued interest linear in the coupon period.
All randomness comes from ``np.random.default_rng(seed)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from sim.pricing.credit import DEFAULT_SPREAD_TABLE, Rating
from sim.pricing.curves import NSSParams, nss_zero_rate
from sim.pricing.fair_value import Liquidity, liquidity_premium_bp

STRUCTURES = ("mean_reverting", "random_walk")
_RATINGS = (Rating.AAA, Rating.AA_PLUS, Rating.AA, Rating.AA_MINUS, Rating.A_PLUS, Rating.A)
_TRADING_YEAR = 250.0


@dataclass(frozen=True)
class SyntheticParams:
    """Dynamics of the synthetic market (annualised unless stated; rates in decimals)."""

    level_mean: float = 0.072
    level_reversion: float = 0.8
    level_vol: float = 0.004
    slope_mean: float = 0.008
    slope_reversion: float = 1.0
    slope_vol: float = 0.003
    slope_decay_years: float = 2.0
    credit_vol: float = 0.2  # of the log multiplier on rating spreads
    credit_reversion: float = 2.0
    mispricing_persistence: float = 0.7  # daily AR(1) coefficient
    mispricing_vol: float = 0.35  # daily innovation, rupees per 100 face
    random_walk_vol: float = 0.35  # daily price step of the random-walk structure
    random_walk_fair_noise: float = 0.4  # its uninformative fair_value: price + this noise


def business_days(start: date, n_days: int) -> list[date]:
    """The first ``n_days`` Monday–Friday dates from ``start`` on."""
    out, day = [], start
    while len(out) < n_days:
        if day.weekday() < 5:
            out.append(day)
        day += timedelta(days=1)
    return out


def _ou(
    rng: np.random.Generator, n: int, x0: float, mean: float, kappa: float, vol: float
) -> np.ndarray:
    dt = 1.0 / _TRADING_YEAR
    x = np.empty(n)
    x[0] = x0
    shocks = rng.standard_normal(n) * vol * np.sqrt(dt)
    for i in range(1, n):
        x[i] = x[i - 1] + kappa * (mean - x[i - 1]) * dt + shocks[i]
    return x


def _zero_rates(times: np.ndarray, level: float, slope: float, decay: float) -> np.ndarray:
    """Nelson–Siegel zero curve: ``level`` at the long end, ``level - slope`` at the short end."""
    return np.asarray(nss_zero_rate(times, NSSParams(level, -slope, 0.0, 0.0, decay, decay)))


def _semiannual_yield(times: np.ndarray, amounts: np.ndarray, dirty: np.ndarray) -> np.ndarray:
    """Semi-annual yields solving ``dirty = sum a (1 + y/2)^(-2t)`` row by row (Newton)."""
    y = np.full(dirty.shape, 0.07)
    for _ in range(30):
        base = 1.0 + y[:, None] / 2.0
        pv = amounts * base ** (-2.0 * times)
        price = pv.sum(axis=1)
        slope = (pv * (-times) / base).sum(axis=1)
        step = (price - dirty) / slope
        y -= step
        if np.max(np.abs(step)) < 1e-13:
            break
    return y


def synthetic_history(
    n_bonds: int = 30,
    n_days: int = 300,
    seed: int = 0,
    structure: str = "mean_reverting",
    start: date = date(2024, 1, 1),
    params: SyntheticParams = SyntheticParams(),
) -> pl.DataFrame:
    """A long frame, one row per (business day, bond).

    Columns: ``date``, ``bond_id``, ``rating``, ``maturity_years`` (remaining), ``clean_price``,
    ``ytm`` (semi-annual, decimal), ``curve_level`` (10-year zero rate), ``curve_slope``
    (10-year minus 1-year zero rate), ``rating_spread_bp``, ``bid_ask_bp`` and ``fair_value``
    (fair clean price).
    """
    if structure not in STRUCTURES:
        raise ValueError(f"unknown structure {structure!r}; expected one of {STRUCTURES}")
    if n_bonds < 1 or n_days < 2:
        raise ValueError(f"need n_bonds >= 1 and n_days >= 2, got {n_bonds} and {n_days}")
    rng = np.random.default_rng(seed)
    p = params
    days = business_days(start, n_days)
    elapsed = np.array([(d - start).days / 365.0 for d in days])

    # Bonds: coupon, rating, maturity longer than the history so none matures inside it.
    coupons = rng.uniform(0.065, 0.095, n_bonds)
    ratings = [_RATINGS[i] for i in rng.integers(0, len(_RATINGS), n_bonds)]
    maturities = elapsed[-1] + rng.uniform(1.5, 10.0, n_bonds)
    n_flows = int(np.ceil(maturities.max() * 2)) + 1
    k = np.arange(n_flows)[None, :]
    flow_times = maturities[:, None] - k[:, ::-1] / 2.0  # last column is maturity
    amounts = np.broadcast_to(100.0 * coupons[:, None] / 2.0, flow_times.shape).copy()
    amounts[:, -1] += 100.0

    random_walk = structure == "random_walk"
    kappa = 0.0 if random_walk else 1.0
    level = _ou(rng, n_days, p.level_mean, p.level_mean, kappa * p.level_reversion, p.level_vol)
    slope = _ou(rng, n_days, p.slope_mean, p.slope_mean, kappa * p.slope_reversion, p.slope_vol)
    credit = _ou(rng, n_days, 0.0, 0.0, kappa * p.credit_reversion, p.credit_vol)
    base_bid_ask = rng.uniform(4.0, 40.0, n_bonds)
    bid_ask = base_bid_ask[None, :] * np.exp(0.3 * rng.standard_normal((n_days, n_bonds)))
    depth = rng.uniform(2e5, 5e6, n_bonds)

    mispricing = np.zeros(n_bonds)
    rw_price = np.zeros(n_bonds)
    rows: dict[str, list] = {c: [] for c in _COLUMNS}
    for d, day in enumerate(days):
        times = flow_times - elapsed[d]
        live = times > 1e-9
        amt = np.where(live, amounts, 0.0)
        t = np.where(live, times, 0.0)
        remaining = times[:, -1]
        next_coupon = np.where(live, times, np.inf).min(axis=1)
        accrued = 100.0 * coupons / 2.0 * (1.0 - 2.0 * next_coupon)

        spread_bp = np.array(
            [DEFAULT_SPREAD_TABLE.spread_bp(r, m) for r, m in zip(ratings, remaining, strict=True)]
        ) * np.exp(credit[d])
        liq_bp = np.array(
            [
                liquidity_premium_bp(Liquidity(float(b), float(q), 1.0))
                for b, q in zip(bid_ask[d], depth, strict=True)
            ]
        )
        z = (
            _zero_rates(t, level[d], slope[d], p.slope_decay_years)
            + (spread_bp + liq_bp)[:, None] / 1e4
        )
        fair_clean = (amt * np.exp(-z * t)).sum(axis=1) - accrued

        if random_walk:
            step = p.random_walk_vol * rng.standard_normal(n_bonds)
            rw_price = fair_clean.copy() if d == 0 else rw_price + step
            clean = rw_price
            fair_report = clean + rng.normal(0.0, p.random_walk_fair_noise, n_bonds)
        else:
            innovations = p.mispricing_vol * rng.standard_normal(n_bonds)
            mispricing = p.mispricing_persistence * mispricing + innovations
            clean = fair_clean + mispricing
            fair_report = fair_clean

        curve_1y, curve_10y = _zero_rates(
            np.array([1.0, 10.0]), level[d], slope[d], p.slope_decay_years
        )
        rows["date"] += [day] * n_bonds
        rows["bond_id"] += [f"B{i:03d}" for i in range(n_bonds)]
        rows["rating"] += [r.value for r in ratings]
        rows["maturity_years"] += remaining.tolist()
        rows["clean_price"] += clean.tolist()
        rows["ytm"] += _semiannual_yield(t, amt, clean + accrued).tolist()
        rows["curve_level"] += [float(curve_10y)] * n_bonds
        rows["curve_slope"] += [float(curve_10y - curve_1y)] * n_bonds
        rows["rating_spread_bp"] += spread_bp.tolist()
        rows["bid_ask_bp"] += bid_ask[d].tolist()
        rows["fair_value"] += fair_report.tolist()
    return pl.DataFrame(rows, schema=_COLUMNS)


_COLUMNS = {
    "date": pl.Date,
    "bond_id": pl.Utf8,
    "rating": pl.Utf8,
    "maturity_years": pl.Float64,
    "clean_price": pl.Float64,
    "ytm": pl.Float64,
    "curve_level": pl.Float64,
    "curve_slope": pl.Float64,
    "rating_spread_bp": pl.Float64,
    "bid_ask_bp": pl.Float64,
    "fair_value": pl.Float64,
}
