"""The autonomous AI agent: a LightGBM signal on microstructure features, trained walk-forward
on the run's own history, trading under guardrails.

Both pieces are written only against the Strategy API's `Context` (`sim.strategy.api`), so the
same objects can later trade through the live adapter.

`MicrostructureSignal` (the strategy). Every `interval_seconds` (one *step*) it reads its
delayed quote of one market and records a row of features:

    ret_k       mid change over the last k steps, ticks (k in `return_lags`)
    spread      ask - bid, ticks
    imbalance   (bid_qty - ask_qty) / (bid_qty + ask_qty) at the touch
    ma_gap      mean mid over `short_window` steps minus mean mid over `long_window`, ticks
    volatility  sd of one-step mid changes over the last `vol_window` steps, ticks
    inventory   units held beyond the holding it started with

The label of the row of step s is the mid change from s to s + `horizon_steps`, in ticks, known
at step s + `horizon_steps`. At each step it first predicts with the model it already has, then
(every `retrain_every` steps, once `min_train_rows` labelled rows exist) fits a new LightGBM
regressor on the labelled rows (all, or the last `train_window`) for the steps that follow: a
prediction at step t always comes from a model fitted at an earlier step, on labels that ended
by then, so before t. It buys (sells) `clip` units with an IOC at the ask (bid) when the
predicted move less half the spread (the cost of crossing from the mid) exceeds
`threshold_ticks`. It sells only units it holds: the venues have no short selling. Each order
carries its decision (`sim.strategy.features.decision`: the prediction, the threshold it cleared,
`threshold_ticks` plus half the spread, every feature's contribution and the bias, which add up
to the prediction, and the model's number, 1 for the first fitted), recorded with the order in
the run's `decisions`. The feature maths and the model are shared with
`strategies.lgbm_alpha` (`sim.strategy.features`).

The agent (`AIAgent`, kind "ai") runs the signal under `sim.strategy.guardrails.Guardrails`: a
position limit, a VaR limit and a drawdown kill switch around any strategy, whose rules that
module's docstring sets out; the `max_position`, `var_*`, `min_var_returns` and
`max_drawdown_rupees` parameters below are its arguments. Each agent of kind "ai" trades the first
listed (venue, symbol) of the run."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from agents.common import PopulationParams, build_population
from sim.engine.latency import latency_from
from sim.errors import ConfigurationError
from sim.scenario.registry import AgentKind
from sim.strategy.api import StrategyParticipant
from sim.strategy.features import (
    decision,
    explain,
    fit_model,
    history_needed,
    microstructure,
    microstructure_names,
)
from sim.strategy.guardrails import Guardrails
from sim.units import NS_PER_SECOND


class AIParams(PopulationParams):
    """Parameters of the AI population: signal, model, trading and guardrails."""

    units: int = Field(1000, ge=0, description="starting units: what lets it sell")
    interval_seconds: float = Field(10.0, gt=0, description="one step: features and decisions")
    return_lags: tuple[int, ...] = Field((1, 2, 5, 10), min_length=1, description="steps")
    short_window: int = Field(5, ge=1, description="steps of the short mid average")
    long_window: int = Field(30, ge=2, description="steps of the long mid average")
    vol_window: int = Field(30, ge=2, description="steps of realised volatility")
    horizon_steps: int = Field(6, ge=1, description="label: mid change this many steps ahead")
    min_train_rows: int = Field(200, ge=10, description="labelled rows before the first model")
    retrain_every: int = Field(100, ge=1, description="steps between fits")
    train_window: int = Field(0, ge=0, description="latest labelled rows fitted on; 0 = all")
    n_estimators: int = Field(40, ge=1, le=2000, description="boosting rounds")
    num_leaves: int = Field(7, ge=2)
    learning_rate: float = Field(0.1, gt=0, le=1)
    min_leaf_rows: int = Field(20, ge=1)
    threshold_ticks: float = Field(0.5, ge=0, description="predicted move net of half spread")
    clip: int = Field(10, ge=1, description="units per order")
    max_position: int = Field(200, ge=0, description="units, long or short of the start")
    var_limit_rupees: float = Field(2_000.0, gt=0, description="VaR of the net position")
    var_method: Literal["parametric", "historical"] = "parametric"
    var_confidence: float = Field(0.99, gt=0.5, lt=1)
    var_horizon_seconds: float | None = Field(None, gt=0, description="default: one session")
    var_window: int = Field(500, ge=2, description="latest mid returns used for VaR")
    min_var_returns: int = Field(20, ge=2, description="returns needed before adding risk")
    max_drawdown_rupees: float = Field(5_000.0, gt=0, description="kill switch: from peak")

    @model_validator(mode="after")
    def _consistent(self):
        if self.short_window >= self.long_window:
            raise ValueError("short_window must be smaller than long_window")
        if any(lag < 1 for lag in self.return_lags):
            raise ValueError("return_lags must be positive numbers of steps")
        if self.min_var_returns > self.var_window:
            raise ValueError("min_var_returns must not exceed var_window")
        return self


# --- the signal ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingWindow:
    """One fit: at `step`, on the rows of steps first_row..last_row, whose labels ended by
    `last_label_step` (= last_row + horizon)."""

    step: int
    first_row: int
    last_row: int
    last_label_step: int
    rows: int


class MicrostructureSignal:
    """The LightGBM microstructure strategy on one market (see the module docstring)."""

    def __init__(self, venue: str, symbol: str, params: AIParams, seed: int) -> None:
        self.venue = venue
        self.symbol = symbol
        self.params = params
        self.seed = seed
        self.names = [*microstructure_names(params.return_lags), "inventory"]
        self.mids: list[float] = []  # per step, nan when a side was empty
        self.rows: list[np.ndarray] = []
        self.windows: list[TrainingWindow] = []
        self.predictions: list[tuple[int, int]] = []  # (step, index of the model used)
        self.orders = 0
        self._predicted: list[float] = []  # per step, nan without a model
        self._model = None
        self._start_units = 0
        self._hits = 0
        self.scored = 0  # predictions whose label matured, both moves non-zero

    @property
    def hit_rate(self) -> float | None:
        """Sign hit rate of the predictions whose label has matured (both moves non-zero)."""
        return self._hits / self.scored if self.scored else None

    def on_start(self, ctx) -> None:
        self._start_units = ctx.position(self.symbol)
        ctx.set_timer(round(self.params.interval_seconds * NS_PER_SECOND))

    def on_timer(self, ctx) -> None:
        quote = ctx.quote(self.venue, self.symbol)
        self.mids.append(math.nan if quote.mid is None else quote.mid)
        step = len(self.mids) - 1
        row = self.features(quote, ctx.position(self.symbol) - self._start_units)
        self.rows.append(row)
        self._score(step)
        prediction = math.nan
        if self._model is not None:
            predictions, contributions = explain(self._model, row[None, :])
            prediction = float(predictions[0])
            self.predictions.append((step, len(self.windows) - 1))
            self._trade(ctx, quote, prediction, contributions[0])
        self._predicted.append(prediction)
        self._maybe_fit(step)

    def features(self, quote, inventory: int) -> np.ndarray:
        """The feature row of the latest step (`mids` already holds its mid)."""
        p = self.params
        mids = np.asarray(self.mids[-history_needed(p.return_lags, p.long_window, p.vol_window) :])
        market = microstructure(
            mids, quote, p.return_lags, p.short_window, p.long_window, p.vol_window
        )
        return np.array([*market, inventory], float)

    def _score(self, step: int) -> None:
        """The prediction made `horizon_steps` ago meets its realised move."""
        then = step - self.params.horizon_steps
        if then < 0:
            return
        predicted, realised = self._predicted[then], self.mids[step] - self.mids[then]
        if np.isfinite(predicted) and np.isfinite(realised) and predicted and realised:
            self.scored += 1
            self._hits += (predicted > 0) == (realised > 0)

    def _trade(self, ctx, quote, prediction: float, contributions: np.ndarray) -> None:
        p = self.params
        if quote.spread is None or abs(prediction) - quote.spread / 2 <= p.threshold_ticks:
            return
        if prediction < 0 and ctx.position(self.symbol) < p.clip:
            return
        side, price = ("buy", quote.ask) if prediction > 0 else ("sell", quote.bid)
        self.orders += 1
        threshold = p.threshold_ticks + quote.spread / 2  # what |prediction| cleared
        why = decision(prediction, threshold, self.names, contributions, len(self.windows))
        ctx.submit(self.venue, self.symbol, side, p.clip, price, "IOC", decision=why)

    def _maybe_fit(self, step: int) -> None:
        """Fit on every row whose label has matured by `step`; used from the next step on."""
        p = self.params
        if self.windows and step - self.windows[-1].step < p.retrain_every:
            return
        last = step - p.horizon_steps
        first = max(0, last + 1 - p.train_window) if p.train_window else 0
        if last - first + 1 < p.min_train_rows:
            return
        mids = np.asarray(self.mids)
        labels = mids[first + p.horizon_steps : last + p.horizon_steps + 1] - mids[first : last + 1]
        labelled = np.isfinite(labels)
        if labelled.sum() < p.min_train_rows:
            return
        features = np.vstack(self.rows[first : last + 1])[labelled]
        self._model = fit_model(features, labels[labelled], p, self.seed, self.names)
        self.windows.append(
            TrainingWindow(step, first, last, last + p.horizon_steps, int(labelled.sum()))
        )


# --- the agent kind ---------------------------------------------------------------------------


_SUMMED = ("models_trained", "predictions", "predictions_scored", "signal_orders",
           "refused_position", "refused_var", "refused_kill_switch",
           "kill_switch_tripped")  # fmt: skip


class AIAgent(StrategyParticipant):
    """A `MicrostructureSignal` under `Guardrails`, trading the run's first listed market."""

    kind = "ai"

    def __init__(self, market, params: AIParams, rng: np.random.Generator) -> None:
        venue, symbol = market.listings()[0]
        if params.clip % market.lot_size(symbol):
            raise ConfigurationError(f"clip {params.clip} is not a multiple of {symbol}'s lot size")
        open_ns, close_ns = market.session(0)
        self.signal = MicrostructureSignal(venue, symbol, params, int(rng.integers(2**31 - 1)))
        self.guard = Guardrails(
            self.signal,
            {symbol: venue},
            max_position=params.max_position,
            var_limit_rupees=params.var_limit_rupees,
            max_drawdown_rupees=params.max_drawdown_rupees,
            var_horizon_seconds=params.var_horizon_seconds or (close_ns - open_ns) / NS_PER_SECOND,
            var_method=params.var_method,
            var_confidence=params.var_confidence,
            var_window=params.var_window,
            min_var_returns=params.min_var_returns,
        )
        latency = latency_from(params.latency_us, params.latency_jitter_us)
        super().__init__(market, rng, latency, self.guard, [(venue, symbol)])

    def report(self) -> dict:
        signal, guard = self.signal, self.guard
        return {
            "models_trained": len(signal.windows),
            "last_train_rows": signal.windows[-1].rows if signal.windows else 0,
            "predictions": len(signal.predictions),
            "predictions_scored": signal.scored,
            "hit_rate": signal.hit_rate,
            "signal_orders": signal.orders,
            "refused_position": guard.refused["position"],
            "refused_var": guard.refused["var"],
            "refused_kill_switch": guard.refused["kill_switch"],
            "kill_switch_tripped": int(guard.tripped_at is not None),
            "kill_switch_time": guard.tripped_at,
            "max_drawdown_rupees": guard.max_drawdown,
        }

    @staticmethod
    def population_metrics(agents) -> dict:
        rows = [agent.report() for agent in agents]
        rates = [r["hit_rate"] for r in rows if r["hit_rate"] is not None]
        summary = {"agents": len(rows)} | {key: sum(r[key] for r in rows) for key in _SUMMED}
        summary["mean_hit_rate"] = float(np.mean(rates)) if rates else None
        summary["max_drawdown_rupees"] = max(r["max_drawdown_rupees"] for r in rows)
        return {"ai": summary}


def build(market, params: AIParams, seeds):
    return build_population(AIAgent, market, params, seeds)


KIND = AgentKind("ai", AIParams, build)
