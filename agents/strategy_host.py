"""A strategy written against the Strategy API, hosted in a run: the ``[strategy]`` population.

    [strategy]
    ref = "strategies.momentum:Momentum"      # or "path/to/my_strategy.py:MyStrategy";
                                              # default: strategies.buy_and_hold:BuyAndHold
    params = { fast = 5, slow = 20 }
    markets = ["NSE:BOND-A"]                  # default: every listing of the run
    walk_forward = { train_days = 10, test_days = 5 }   # optional: its context shows them
    cash_rupees = 1_000_000
    units = 0

Each agent of the population builds its own instance of the strategy (`sim.strategy.loading`)
and runs it as a `StrategyParticipant` in the markets named (``"VENUE:SYMBOL"``; default:
every (venue, symbol) listed on the first day), with the population's endowment and latency.
The backtesting harness (`sim.studies.backtest`) adds this population to the scenarios it runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from agents.common import PopulationParams, build_population
from sim.engine.latency import latency_from
from sim.errors import ConfigurationError
from sim.scenario.registry import AgentKind
from sim.strategy.api import StrategyParticipant
from sim.strategy.loading import StrategyError, build_strategy, load_strategy, strategy_params
from sim.strategy.walk_forward import WalkForward


class WalkForwardSpec(BaseModel):
    """``walk_forward = { train_days = 10, test_days = 5 }`` (the defaults): rolling train and
    test windows (`sim.strategy.walk_forward`), which the strategy's context shows it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    train_days: int = Field(10, ge=1, le=10_000)
    test_days: int = Field(5, ge=1, le=10_000)


class StrategyHostParams(PopulationParams):
    """Parameters of a hosted strategy: what it is, its parameters, where it trades."""

    ref: str = Field(
        "strategies.buy_and_hold:BuyAndHold",
        min_length=3,
        max_length=500,
        description="module:Class or file.py:Class",
    )
    params: dict[str, Any] = Field(default_factory=dict, description="the strategy's own")
    markets: tuple[str, ...] = Field((), description='"VENUE:SYMBOL" each; default: every listing')
    walk_forward: WalkForwardSpec | None = None


class StrategyHost(StrategyParticipant):
    """One strategy instance, trading through its context."""

    kind = "strategy"

    def __init__(self, market, params: StrategyHostParams, rng: np.random.Generator) -> None:
        try:
            cls = load_strategy(params.ref)
            resolved = strategy_params(cls, params.params)
        except StrategyError as exc:
            raise ConfigurationError(str(exc)) from None
        markets = _markets(market, params.markets)
        latency = latency_from(params.latency_us, params.latency_jitter_us)
        windows = params.walk_forward
        folds = None if windows is None else WalkForward(windows.train_days, windows.test_days)
        strategy = build_strategy(cls, resolved)
        super().__init__(market, rng, latency, strategy, markets, resolved, folds)

    def report(self) -> dict:
        return {"log_lines": self.log_lines}


def _markets(market, named: tuple[str, ...]) -> list[tuple[str, str]]:
    listed = market.listings(0)
    if not named:
        return list(listed)
    chosen = []
    for text in named:
        venue, sep, symbol = text.partition(":")
        if not sep or (venue, symbol) not in listed:
            shown = ", ".join(f"{v}:{s}" for v, s in listed[:6])
            shown += ", ..." if len(listed) > 6 else ""
            raise ConfigurationError(f"markets: {text!r} is not a listing of the run ({shown})")
        chosen.append((venue, symbol))
    return chosen


def build(market, params: StrategyHostParams, seeds):
    return build_population(StrategyHost, market, params, seeds)


KIND = AgentKind("strategy", StrategyHostParams, build)
