"""Pieces every agent kind shares: endowment parameters, building a population and small
pricing helpers. Builders are handed the run's `MarketAccess` (`sim.engine.access`), never the
simulation."""

from __future__ import annotations

from typing import TYPE_CHECKING, get_args

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sim.scenario.shocks import GradeName

if TYPE_CHECKING:
    from sim.engine.access import MarketAccess


class PopulationParams(BaseModel):
    """Parameters every population has: its size and each member's starting endowment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    count: int = Field(1, ge=0, le=1_000_000, description="number of agents")
    cash_rupees: float = Field(1_000_000.0, ge=0, description="starting cash of each agent")
    units: int = Field(0, ge=0, description="starting units of every instrument, each agent")
    latency_us: float = Field(500.0, ge=0, description="one-way latency to venues, microseconds")
    latency_jitter_us: float = Field(100.0, ge=0, description="mean extra latency (exponential)")

    @model_validator(mode="after")
    def _sizes_in_order(self):
        """Kinds that draw order sizes from ``min_qty..max_qty`` need the range the right way
        round."""
        low, high = getattr(self, "min_qty", None), getattr(self, "max_qty", None)
        if low is not None and high is not None and low > high:
            raise ValueError(f"min_qty ({low}) must not exceed max_qty ({high})")
        return self


GRADES = get_args(GradeName)  # ratings with their notches pooled, best first


def grade(rating: str | None) -> str:
    """The grade of a rating: notches pooled (AA+ -> AA), unrated counted as BIG."""
    if rating is None:
        return "BIG"
    return rating.rstrip("+-")


def grade_table(values: dict[str, float], name: str, upper: float) -> dict[str, float]:
    """Check a table with one value in [0, `upper`] for each of the grades."""
    if set(values) != set(GRADES):
        raise ValueError(f"needs exactly the grades {list(GRADES)}, got {sorted(values)}")
    for key, value in values.items():
        if not 0 <= value <= upper:
            raise ValueError(f"{name} of {key} must be in [0, {upper:g}], got {value}")
    return values


class GradeChoiceParams(PopulationParams):
    """A population that picks a bond at random for each order, favouring some grades."""

    grade_weights: dict[str, float] = Field(
        default_factory=lambda: dict.fromkeys(GRADES, 1.0),
        description="relative chance of picking a bond of each rating grade (AAA, AA, A, BBB, "
        "BIG; unrated and defaulted bonds count as BIG)",
    )

    @field_validator("grade_weights")
    @classmethod
    def _every_grade(cls, weights: dict[str, float]) -> dict[str, float]:
        grade_table(weights, "grade_weights", 1_000_000)
        if not any(weights.values()):
            raise ValueError("grade_weights needs a positive weight")
        return weights


class MarketPicker:
    """Draws which of its markets an agent trades next, each with the weight of its bond's
    rating grade that day (`grade_weights`: investors favour some grades). Equal weights draw
    as ``rng.integers`` does, so populations left at their defaults keep their random
    streams."""

    def __init__(self, grade_weights: dict[str, float]) -> None:
        self.grade_weights = grade_weights
        self.uniform = len(set(grade_weights.values())) == 1
        self.markets: tuple[tuple[str, str], ...] = ()
        self._cumulative = np.zeros(0)

    def refresh(self, market: MarketAccess, markets: tuple[tuple[str, str], ...], day: int):
        """The markets to pick from on trading day `day` (ratings migrate)."""
        self.markets = markets
        if not self.uniform:
            weights = [self._weight(grade(market.rating(s, day))) for _, s in markets]
            self._cumulative = np.cumsum(weights)

    def _weight(self, grade_name: str) -> float:
        """A grade's weight; a defaulted bond (D) is weighed as BIG."""
        return self.grade_weights.get(grade_name, self.grade_weights["BIG"])

    def pick(self, rng: np.random.Generator) -> int | None:
        """The index of the next market, or None when none may be picked."""
        markets = self.markets
        if not markets:
            return None
        if self.uniform:
            return rng.integers(len(markets))  # on every order: no conversion to int
        if self._cumulative[-1] <= 0:
            return None
        return int(np.searchsorted(self._cumulative, rng.random() * self._cumulative[-1], "right"))


def endow(market: MarketAccess, agent, params: PopulationParams, tier: str | None = None) -> None:
    """Open the agent's account with the population's cash and units."""
    units = {symbol: params.units for symbol in market.symbols()} if params.units else {}
    market.open_account(agent, cash=round(params.cash_rupees * 100), units=units, tier=tier)


def build_population(
    agent_class, market: MarketAccess, params: PopulationParams, seeds, tier: str | None = None
):
    """`params.count` agents of `agent_class`, each with a generator of its own and the
    population's endowment."""
    agents = []
    for seed in seeds.spawn(params.count):
        agent = agent_class(market, params, np.random.default_rng(seed))
        endow(market, agent, params, tier=tier)
        agents.append(agent)
    return agents


def round_to_lot(qty: float, lot: int) -> int:
    return max(lot, round(qty / lot) * lot)


def observed_price(agent, venue: str, symbol: str, quote=None) -> float:
    """The agent's view of the price from its delayed quote (or the `quote` it already read):
    the mid, else the one side showing, else the instrument's reference price."""
    if quote is None:
        quote = agent.quote(venue, symbol)
    if quote.mid is not None:
        return quote.mid
    side = quote.bid if quote.bid is not None else quote.ask
    return float(side if side is not None else agent.market.reference_price(symbol))
