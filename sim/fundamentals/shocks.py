"""Shocks to fundamentals: the spread and jump shocks defined here, the curve shocks of
`sim.pricing.curve_shocks`, and `as_shock`, which turns a scenario's shock entry into one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from sim.fundamentals.base import check_number
from sim.pricing import ButterflyShock, CompositeShock, ParallelShock, Rating, TwistShock
from sim.pricing.curve_shocks import FULL_FROM_DAY_0


@dataclass(frozen=True)
class SpreadShock:
    """Credit spreads of bonds rated ``ratings`` (all when empty) move by ``size_bp``.

    ``path`` is a time path in trading days from the shock's day, as for curve shocks.
    """

    kind: ClassVar[str] = "spread"
    size_bp: float
    ratings: tuple[str, ...] = ()
    path: tuple[tuple[float, float], ...] = FULL_FROM_DAY_0

    def __post_init__(self) -> None:
        checked = ParallelShock(self.size_bp, self.path)  # same number and path rules
        object.__setattr__(self, "size_bp", checked.size_bp)
        object.__setattr__(self, "path", checked.path)
        ratings = (self.ratings,) if isinstance(self.ratings, str) else tuple(self.ratings)
        object.__setattr__(self, "ratings", tuple(Rating.parse(r).value for r in ratings))

    def applies_to(self, rating: Rating) -> bool:
        return not self.ratings or rating.value in self.ratings


@dataclass(frozen=True)
class FundamentalJump:
    """Mean-reverting values of ``symbols`` (all when empty) jump by ``size_pct`` percent."""

    kind: ClassVar[str] = "fundamental_jump"
    size_pct: float
    symbols: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if check_number("fundamental_jump size_pct", self.size_pct, signed=True) <= -100:
            raise ValueError(f"fundamental_jump size_pct must be > -100, got {self.size_pct!r}")
        symbols = (self.symbols,) if isinstance(self.symbols, str) else tuple(self.symbols)
        object.__setattr__(self, "size_pct", float(self.size_pct))
        object.__setattr__(self, "symbols", symbols)


CurveShock = ParallelShock | TwistShock | ButterflyShock | CompositeShock
_CURVE_KINDS = {
    "rates_parallel": ParallelShock,
    "rates_twist": TwistShock,
    "rates_butterfly": ButterflyShock,
}
_OWN_KINDS = {"spread": SpreadShock, "fundamental_jump": FundamentalJump}
# Shocks to the market, not to values: agents react to them, fundamentals do not.
IGNORED_KINDS = frozenset({"panic", "liquidity_withdrawal"})


# Scenario files spell the curve shocks' pivots with their unit; the pricing engine without.
_SCENARIO_FIELD_NAMES = {
    "short_pivot_years": "short_pivot",
    "long_pivot_years": "long_pivot",
    "belly_years": "belly",
}


def as_shock(shock: Any) -> CurveShock | SpreadShock | FundamentalJump | None:
    """The shock object for ``shock``, or None for kinds that leave fundamentals alone.

    Accepts the shock dataclasses themselves, or a mapping or object (a validated scenario
    entry, say) with a ``kind`` of ``rates_parallel``, ``rates_twist``, ``rates_butterfly``,
    ``spread``, ``fundamental_jump``, ``panic`` or ``liquidity_withdrawal``. Fields the shock
    does not use, such as when it is scheduled, are ignored: timing is the kernel's business.
    """
    if isinstance(shock, CurveShock | SpreadShock | FundamentalJump):
        return shock
    if isinstance(shock, Mapping):
        table = dict(shock)
    elif hasattr(shock, "model_dump"):
        table = shock.model_dump()
    else:
        table = dict(vars(shock)) if hasattr(shock, "__dict__") else {}
    kind = getattr(table.get("kind"), "value", table.get("kind"))  # an Enum kind gives its value
    if kind in IGNORED_KINDS:
        return None
    cls = _CURVE_KINDS.get(kind) or _OWN_KINDS.get(kind)
    if cls is None:
        known = sorted([*_CURVE_KINDS, *_OWN_KINDS, *IGNORED_KINDS])
        raise ValueError(f"unknown shock kind {kind!r}; expected one of {known}")
    names = set(cls.__dataclass_fields__) - {"kind"}
    table = {_SCENARIO_FIELD_NAMES.get(k, k): v for k, v in table.items()}
    try:
        return cls(**{k: v for k, v in table.items() if k in names and v is not None})
    except TypeError as exc:
        raise ValueError(f"{kind} shock: {exc}") from None
