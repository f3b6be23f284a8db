"""Fair value of a bond with a transparent breakdown: risk-free + credit + liquidity + model.

The fair dirty price discounts the bond's cash flows on the risk-free zero curve plus a constant
continuous spread (times ACT/365F from settle, as in `sim.pricing.curves`):

    spread = rating spread (from the spread table, at the bond's remaining life)
           + liquidity premium (from observed liquidity, `liquidity_premium_bp`)
           + model adjustment (bp, supplied by the caller)

The breakdown adds the components one at a time — risk-free price, then + rating spread, then
+ liquidity premium, then + model adjustment — and reports each step's price effect in rupees
per 100 face, so the effects add up to the difference between the fair and risk-free prices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from sim.pricing.credit import DEFAULT_SPREAD_TABLE, Rating, SpreadTable
from sim.pricing.curves import ZeroCurve, cashflow_times, price_cashflows

if TYPE_CHECKING:
    from sim.pricing.bond import Bond


@dataclass(frozen=True)
class Liquidity:
    """Observed liquidity of a bond.

    ``bid_ask_bp``: quoted bid-ask spread in yield basis points; ``depth_rupees``: resting size
    near the touch, in rupees (both sides); ``days_since_trade``: calendar days since the last
    trade.
    """

    bid_ask_bp: float
    depth_rupees: float
    days_since_trade: float

    def __post_init__(self) -> None:
        for name in ("bid_ask_bp", "depth_rupees", "days_since_trade"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"Liquidity.{name} must be finite and >= 0, got {value!r}")


@dataclass(frozen=True)
class LiquidityPremiumParams:
    """Parameters of `liquidity_premium_bp` (illustrative defaults, not calibrated).

    premium = min(cap_bp, spread_weight * bid_ask_bp
                         + depth_bp * reference_depth_rupees / (reference_depth_rupees + depth)
                         + staleness_bp * (1 - exp(-days_since_trade / staleness_days)))

    Half the quoted spread by default; up to ``depth_bp`` for an empty book (half of it at the
    reference depth of ₹10 lakh); up to ``staleness_bp`` as the last trade grows stale.
    """

    spread_weight: float = 0.5
    depth_bp: float = 25.0
    reference_depth_rupees: float = 1_000_000.0
    staleness_bp: float = 20.0
    staleness_days: float = 10.0
    cap_bp: float = 200.0

    def __post_init__(self) -> None:
        for name in ("spread_weight", "depth_bp", "staleness_bp", "cap_bp"):
            if not 0 <= getattr(self, name) < math.inf:
                raise ValueError(f"LiquidityPremiumParams.{name} must be finite and >= 0")
        for name in ("reference_depth_rupees", "staleness_days"):
            if not 0 < getattr(self, name) < math.inf:
                raise ValueError(f"LiquidityPremiumParams.{name} must be finite and > 0")


def liquidity_premium_bp(
    liquidity: Liquidity, params: LiquidityPremiumParams = LiquidityPremiumParams()
) -> float:
    """Liquidity premium in yield bp: rises with the spread and staleness, falls with depth."""
    p = params
    spread = p.spread_weight * liquidity.bid_ask_bp
    depth = (
        p.depth_bp * p.reference_depth_rupees / (p.reference_depth_rupees + liquidity.depth_rupees)
    )
    stale = p.staleness_bp * -math.expm1(-liquidity.days_since_trade / p.staleness_days)
    return min(p.cap_bp, spread + depth + stale)


@dataclass(frozen=True)
class Component:
    """One step of the breakdown: spread added (bp) and its effect on price (₹ per 100 face)."""

    name: str
    spread_bp: float
    price_effect: float


@dataclass(frozen=True)
class FairValueInputs:
    """Everything the fair value was computed from."""

    bond: Bond
    settle: date
    curve: ZeroCurve
    rating: Rating | None
    liquidity: Liquidity | None
    liquidity_params: LiquidityPremiumParams
    model_adjustment_bp: float


@dataclass(frozen=True)
class FairValue:
    """Fair price of a bond with its breakdown; prices are per 100 face, in rupees.

    ``components`` are rating spread, liquidity premium and model adjustment, in that order;
    their price effects sum to ``dirty_price - risk_free_dirty_price``: exactly in floating
    point when the four prices are within a factor of two of each other (each difference is
    then exact), otherwise to rounding.
    """

    clean_price: float
    dirty_price: float
    accrued: float
    ytm: float
    risk_free_dirty_price: float
    components: tuple[Component, ...]
    inputs: FairValueInputs

    @property
    def risk_free_clean_price(self) -> float:
        return self.risk_free_dirty_price - self.accrued

    @property
    def total_spread_bp(self) -> float:
        return sum(c.spread_bp for c in self.components)

    def to_dict(self) -> dict[str, Any]:
        """Plain types only, ready for JSON."""
        liq = self.inputs.liquidity
        bond = self.inputs.bond
        return {
            "settle": self.inputs.settle.isoformat(),
            "clean_price": self.clean_price,
            "dirty_price": self.dirty_price,
            "accrued": self.accrued,
            "ytm": self.ytm,
            "risk_free_clean_price": self.risk_free_clean_price,
            "risk_free_dirty_price": self.risk_free_dirty_price,
            "total_spread_bp": self.total_spread_bp,
            "components": [
                {"name": c.name, "spread_bp": c.spread_bp, "price_effect": c.price_effect}
                for c in self.components
            ],
            "inputs": {
                "bond": {
                    "issue": bond.issue.isoformat(),
                    "maturity": bond.maturity.isoformat(),
                    "coupon": bond.coupon,
                    "frequency": bond.frequency,
                    "day_count": bond.day_count,
                },
                "rating": None if self.inputs.rating is None else self.inputs.rating.value,
                "liquidity": None if liq is None else vars(liq).copy(),
                "liquidity_params": vars(self.inputs.liquidity_params).copy(),
                "model_adjustment_bp": self.inputs.model_adjustment_bp,
                "curve": {
                    "tenors": list(self.inputs.curve.tenors),
                    "rates": list(self.inputs.curve.rates),
                    "interpolation": self.inputs.curve.interpolation,
                },
            },
        }

    def __str__(self) -> str:
        lines = [
            f"Fair value at {self.inputs.settle.isoformat()} (per ₹100 face)",
            f"  {'risk-free (zero curve)':<26}{'':>10}{self.risk_free_clean_price:>12.4f}",
        ]
        for c in self.components:
            label = c.name.replace("_", " ")
            lines.append(f"  {'+ ' + label:<26}{c.spread_bp:>7.1f} bp{c.price_effect:>+12.4f}")
        lines += [
            f"  {'= fair clean price':<26}{self.total_spread_bp:>7.1f} bp{self.clean_price:>12.4f}",
            f"  {'accrued interest':<26}{'':>10}{self.accrued:>12.4f}",
            f"  {'dirty price':<26}{'':>10}{self.dirty_price:>12.4f}",
            f"  {'yield to maturity':<26}{'':>10}{100 * self.ytm:>11.4f}%",
        ]
        return "\n".join(lines)


def fair_value_of(
    bond: Bond,
    settle: date,
    curve: ZeroCurve,
    rating: Rating | str | None = None,
    liquidity: Liquidity | None = None,
    *,
    model_adjustment_bp: float = 0.0,
    spread_table: SpreadTable = DEFAULT_SPREAD_TABLE,
    liquidity_params: LiquidityPremiumParams = LiquidityPremiumParams(),
) -> FairValue:
    """Fair value of ``bond`` at ``settle`` with its breakdown.

    ``rating=None`` means no credit spread (a G-sec); ``liquidity=None`` means no liquidity
    premium. The rating spread is read at the bond's remaining life (ACT/365F years). A
    defaulted bond (rating D) has no spread-based fair value: use
    `sim.pricing.credit.defaulted_value`.
    """
    rating = None if rating is None else Rating.parse(rating)
    if rating is Rating.D:
        raise ValueError("rating D: a defaulted bond is worth its recovery; use defaulted_value")
    if not math.isfinite(model_adjustment_bp):
        raise ValueError(f"model_adjustment_bp must be finite, got {model_adjustment_bp!r}")
    times, amounts = cashflow_times(bond, settle)  # refuses a settle on or after maturity

    rating_bp = 0.0 if rating is None else float(spread_table.spread_bp(rating, times[-1]))
    liquidity_bp = 0.0 if liquidity is None else liquidity_premium_bp(liquidity, liquidity_params)
    steps = (
        ("rating_spread", rating_bp),
        ("liquidity_premium", liquidity_bp),
        ("model_adjustment", float(model_adjustment_bp)),
    )

    risk_free = price_cashflows(curve, times, amounts, 0.0)
    previous, cumulative_bp, components = risk_free, 0.0, []
    for name, bp in steps:
        cumulative_bp += bp
        price = price_cashflows(curve, times, amounts, cumulative_bp / 1e4)
        components.append(Component(name, bp, price - previous))
        previous = price

    accrued = float(bond.accrued(settle))
    clean = previous - accrued
    return FairValue(
        clean_price=clean,
        dirty_price=previous,
        accrued=accrued,
        ytm=float(bond.yield_from_price(clean, settle)),
        risk_free_dirty_price=risk_free,
        components=tuple(components),
        inputs=FairValueInputs(
            bond, settle, curve, rating, liquidity, liquidity_params, float(model_adjustment_bp)
        ),
    )
