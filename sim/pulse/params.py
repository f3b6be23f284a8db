"""The Liquidity Pulse's settings as data: `PulseWeights` (what each feature counts for) and
`PulseParams` (intervals, windows and the measures' constants), validated by pydantic.

The issue asks for "seed 002"'s weights; that document is not in the repository, so the defaults
below are chosen, not copied, and say why:

- liquidity: the cost of trading now (quoted spread 0.30, depth near mid 0.35) carries most of
  the weight, as in a liquidity cost score; the dealers behind it (makers quoting both sides,
  0.15) next; activity (turnover velocity, time since the last trade), the flow's balance and
  the SIP pool's recycling 0.05 each, being sparse and noisy. The first choice gave depth 0.25
  and turnover and recency 0.10 each; against the realised round-trip costs of the stress
  scenarios those two predicted next-day costs least and depth most, so weight moved to depth
  (benchmarks/RESULTS.md has the figures both ways);
- repayment: the market's price of credit (credit spread 0.20) and the agencies' view (rating
  0.15, the credit model's one-year default probability 0.15 and downgrade probability 0.05)
  together 0.55, the stability of spread and depth 0.15, and the three alternative-data signals 0.10
  each;
- combined: the issue's sector weights, liquidity share financial 0.7, utilities 0.4,
  industrial 0.5, government 0.3 (the rest is repayment's);
- rating adjustments, points added to the combined score: none from AAA to BBB, -10 below
  investment grade and -100 in default (a defaulted bond scores 0).

Bad settings raise `PulseParamsError`, one line per problem naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Weight = Annotated[float, Field(ge=0, allow_inf_nan=False)]
SectorGroup = Literal["financial", "utilities", "industrial", "government"]
Grade = Literal["AAA", "AA", "A", "BBB", "BIG", "D"]

# "1d": a whole session; "<n>h" / "<n>m": slots of that length from each open.
_INTERVAL = re.compile(r"^(1d|[1-9]\d*[hm])$")


class PulseParamsError(ValueError):
    """Pulse settings that do not validate: one ``field: reason`` line per problem."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Weights(_Model):
    """Non-negative feature weights, at least one positive; only their ratios matter."""

    @model_validator(mode="after")
    def _some_weight(self):
        if not any(self.as_dict().values()):
            raise ValueError("at least one weight must be positive")
        return self

    def as_dict(self) -> dict[str, float]:
        return self.model_dump()


class LiquidityWeights(_Weights):
    """Weights of the liquidity index's features (`sim.pulse.features` defines them)."""

    quoted_spread: Weight = 0.30
    depth: Weight = 0.35
    maker_presence: Weight = 0.15
    turnover: Weight = 0.05
    trade_recency: Weight = 0.05
    order_imbalance: Weight = 0.05
    sip_activity: Weight = 0.05


class RepaymentWeights(_Weights):
    """Weights of the repayment-support index's features (`sim.pulse.repayment`)."""

    credit_spread: Weight = 0.20
    rating: Weight = 0.15
    default_probability: Weight = 0.15
    downgrade_probability: Weight = 0.05
    spread_stability: Weight = 0.10
    depth_stability: Weight = 0.05
    traffic: Weight = 0.10
    utilities: Weight = 0.10
    sentiment: Weight = 0.10


class PulseWeights(_Model):
    """All the Pulse's weights: the two indices' features, each sector group's liquidity share
    of the combined score, and the combined score's rating adjustments (points)."""

    liquidity: LiquidityWeights = LiquidityWeights()
    repayment: RepaymentWeights = RepaymentWeights()
    sector_liquidity_share: dict[SectorGroup, Annotated[float, Field(ge=0, le=1)]] = {
        "financial": 0.7,
        "utilities": 0.4,
        "industrial": 0.5,
        "government": 0.3,
    }
    rating_adjustment: dict[Grade, Annotated[float, Field(ge=-100, le=100)]] = {
        "AAA": 0.0,
        "AA": 0.0,
        "A": 0.0,
        "BBB": 0.0,
        "BIG": -10.0,
        "D": -100.0,
    }

    @field_validator("sector_liquidity_share")
    @classmethod
    def _every_group(cls, shares: dict[str, float]) -> dict[str, float]:
        missing = sorted(set(SectorGroup.__args__) - set(shares))
        if missing:
            raise ValueError(f"needs a share for every sector group; missing {missing}")
        return shares


class AltDataParams(_Model):
    """The simulated alternative-data signals (`sim.pulse.altdata`): each is the issuer's
    latent credit factor in units of `scale_bp`, sign flipped so that higher is healthier,
    plus independent normal noise of its own standard deviation (in the same units)."""

    scale_bp: float = Field(10.0, gt=0, allow_inf_nan=False)
    traffic_noise: float = Field(1.0, ge=0, allow_inf_nan=False)
    utilities_noise: float = Field(1.5, ge=0, allow_inf_nan=False)
    sentiment_noise: float = Field(2.0, ge=0, allow_inf_nan=False)
    default_bp: float = Field(
        1000.0, gt=0, allow_inf_nan=False, description="latent factor of an issuer in default"
    )


class PulseParams(_Model):
    """How the Pulse is computed from a run's records.

    `intervals`: the index's intervals ("1d" a session; "1h", "30m": slots from each open, the
    last one shorter when the session is not a whole number of them). `windows_days`: the
    rolling normalisation windows in trading days (`sim.pulse.normalise` says how a run too
    short for one is handled). `depth_bp`: depth counts the book's units within this many bp
    of mid. `one_sided_spread_bp`: the spread a book with a side missing counts as.
    `round_trip_rupees`: face value of the validation's standard round trip;
    `unfilled_penalty_bp`: the concession (bp of mid) at which what the recorded depth cannot
    fill is charged, at least as bad as the worst recorded level (`sim.pulse.round_trip`).
    """

    weights: PulseWeights = PulseWeights()
    intervals: tuple[str, ...] = ("1h", "1d")
    windows_days: tuple[Annotated[int, Field(ge=1)], ...] = (7, 30, 90)
    depth_bp: float = Field(50.0, gt=0, allow_inf_nan=False)
    one_sided_spread_bp: float = Field(10_000.0, gt=0, allow_inf_nan=False)
    round_trip_rupees: int = Field(100_000, gt=0)
    unfilled_penalty_bp: float = Field(500.0, ge=0, allow_inf_nan=False)
    alt_data: AltDataParams = AltDataParams()

    @field_validator("intervals")
    @classmethod
    def _known_intervals(cls, intervals: tuple[str, ...]) -> tuple[str, ...]:
        if not intervals:
            raise ValueError("needs at least one interval")
        for text in intervals:
            if not _INTERVAL.match(text):
                raise ValueError(f'{text!r} is not an interval ("1d", "<n>h" or "<n>m")')
        if len(set(intervals)) != len(intervals):
            raise ValueError(f"repeats an interval: {list(intervals)}")
        return intervals

    @field_validator("windows_days")
    @classmethod
    def _some_window(cls, windows: tuple[int, ...]) -> tuple[int, ...]:
        if not windows:
            raise ValueError("needs at least one window")
        return tuple(sorted(set(windows)))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PulseParams:
        """Validated settings from plain data (a parsed TOML table, say); `PulseParamsError`
        lists every problem."""
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            raise PulseParamsError(_problems(exc)) from None


def interval_ns(text: str, session_ns: int) -> int:
    """Length of interval `text` in nanoseconds, a session's for "1d"."""
    if text == "1d":
        return session_ns
    unit = 3_600 if text.endswith("h") else 60
    return int(text[:-1]) * unit * 1_000_000_000


def _problems(exc: ValidationError) -> str:
    """One line per error: the dotted field path, then pydantic's reason."""
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "pulse params"
        reason = error["msg"].removeprefix("Value error, ")
        # Our own checks name what was wrong; pydantic's bounds and types do not.
        if "input" in error and error["type"] not in ("missing", "extra_forbidden", "value_error"):
            reason += f" (got {error['input']!r})"
        lines.append(f"{where}: {reason}")
    return "\n".join(lines)
