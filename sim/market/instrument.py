"""A listed bond as the venues see it: integer ticks of price, integer units of size."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation


def decimal_value(value: object, what: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{what} must be a number, got {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"{what} must be finite, got {value!r}")
    return number


@dataclass(frozen=True)
class Instrument:
    """A listed bond. Prices are integer ticks per 100 of face; quantities integer units.

    tick_size : rupees per 100 face that one tick is worth (e.g. 0.01).
    lot_size : orders are whole multiples of this many units.
    unit_face_value : rupees of face value in one unit (the fraction of a bond a unit is).
    """

    symbol: str
    tick_size: Decimal | str | float = Decimal("0.01")
    lot_size: int = 1
    unit_face_value: int = 1000

    def __post_init__(self) -> None:
        if not isinstance(self.symbol, str) or not self.symbol:
            raise ValueError(f"instrument symbol must be a non-empty string, got {self.symbol!r}")
        tick = decimal_value(self.tick_size, f"{self.symbol}: tick_size")
        object.__setattr__(self, "tick_size", tick)
        if tick <= 0:
            raise ValueError(f"{self.symbol}: tick_size must be positive, got {tick}")
        for name in ("lot_size", "unit_face_value"):
            value = getattr(self, name)
            if type(value) is not int or value <= 0:
                raise ValueError(f"{self.symbol}: {name} must be a positive integer, got {value!r}")
        value = tick * self.unit_face_value  # paise per tick per unit: P/100 * face * 100
        if value != value.to_integral_value():
            raise ValueError(
                f"{self.symbol}: one tick ({tick} per 100 face) on a unit of "
                f"{self.unit_face_value} rupees face is {value} paise; it must be whole paise"
            )

    @functools.cached_property  # read on every fill; Decimal arithmetic is slow
    def tick_value(self) -> int:
        """Paise that one tick of price is worth on one unit."""
        return int(self.tick_size * self.unit_face_value)

    def to_ticks(self, price: Decimal | str | float) -> int:
        """Ticks for a price per 100 face; raises when the price is off the tick grid."""
        ticks = decimal_value(price, f"{self.symbol}: price") / self.tick_size
        if ticks != ticks.to_integral_value():
            raise ValueError(f"{self.symbol}: price {price} is not a multiple of {self.tick_size}")
        return int(ticks)

    def to_price(self, ticks: int) -> Decimal:
        return ticks * self.tick_size
