"""Trading fees: maker and taker rates in basis points, market-maker tiers with rebates.

Fees are whole paise, truncated toward zero, so the fees of a split fill never add up to more
than the fee on the whole.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

from sim.market.instrument import decimal_value

MICROS = 1_000_000  # fee rates are held in millionths of the notional (1 bp = 100)


class Tier(Enum):
    """Market-maker tiers; each earns its maker rebate in the venue's fee schedule."""

    BRONZE = "bronze"
    SILVER = "silver"
    GOLD = "gold"
    PLATINUM = "platinum"


@dataclass(frozen=True)
class FeeSchedule:
    """Maker and taker fees in basis points of notional; tiers set market makers' maker fee
    (a negative fee is a rebate). Fees are whole paise, truncated toward zero."""

    maker_bps: Decimal | str | float = Decimal("0")
    taker_bps: Decimal | str | float = Decimal("1")
    tier_maker_bps: dict[Tier, Decimal] = field(
        default_factory=lambda: {
            Tier.BRONZE: Decimal("0"),
            Tier.SILVER: Decimal("-0.1"),
            Tier.GOLD: Decimal("-0.2"),
            Tier.PLATINUM: Decimal("-0.3"),
        }
    )

    def __post_init__(self) -> None:
        maker = decimal_value(self.maker_bps, "maker_bps")
        taker = decimal_value(self.taker_bps, "taker_bps")
        tiers = {
            Tier(t): decimal_value(v, f"tier {Tier(t).value} maker_bps")
            for t, v in self.tier_maker_bps.items()
        }
        object.__setattr__(self, "maker_bps", maker)
        object.__setattr__(self, "taker_bps", taker)
        object.__setattr__(self, "tier_maker_bps", tiers)
        for name, bps in (("maker_bps", maker), ("taker_bps", taker), *tiers.items()):
            if abs(bps) >= 100 or (bps * 100) != (bps * 100).to_integral_value():
                raise ValueError(
                    f"fee {name} = {bps} bp must be in (-100, 100) with at most two decimals"
                )
        if taker < 0:
            raise ValueError(f"taker_bps must not be negative, got {taker}")
        lowest_maker = min([maker, *tiers.values()])
        if taker + lowest_maker < 0:
            raise ValueError(
                f"the largest maker rebate ({-lowest_maker} bp) exceeds the taker fee ({taker} bp):"
                " the venue would pay out more than it collects on a trade"
            )

    def rate(self, maker: bool, tier: Tier | None) -> int:
        """Fee rate in millionths of notional for a maker or taker of a tier (or none)."""
        if not maker:
            return self._rates["taker"]
        rates = self._rates
        return rates[tier] if tier in rates else rates["maker"]

    @functools.cached_property
    def max_rate(self) -> int:
        """The highest fee rate any side of a trade can pay, in millionths."""
        return max(self._rates.values())

    @functools.cached_property
    def _rates(self) -> dict:
        """Every rate as an int, worked out once: `rate` is called for both sides of every
        fill, and Decimal arithmetic there would cost more than the matching."""
        rates = {tier: int(bps * 100) for tier, bps in self.tier_maker_bps.items()}
        return {**rates, "maker": int(self.maker_bps * 100), "taker": int(self.taker_bps * 100)}


def fee(notional: int, rate: int) -> int:
    """Whole paise for a fee rate in millionths, truncated toward zero (so fees on split
    fills never add up to more than the fee on the whole)."""
    magnitude = abs(notional * rate) // MICROS
    return magnitude if rate >= 0 else -magnitude
