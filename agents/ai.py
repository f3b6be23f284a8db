"""The autonomous AI agent: a LightGBM signal on microstructure features, trained walk-forward
on the run's own history, trading under guardrails.

Both pieces are written only against the Strategy API's `Context` (`sim.strategy`), so the
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
`threshold_ticks`. It sells only units it holds: the venues have no short selling.

`Guardrails` wraps any strategy and hands it a `GuardedContext` whose `submit` checks, in order:

    kill switch     once tripped, every order of the strategy is refused
    position limit  q = units held - units held at the start (the starting holding is what
                    funds sells, so limits apply to what the strategy changed); worst case =
                    q + open and in-flight orders on the order's side + the order; refused
                    when |worst case| > max_position and the order adds exposure
    VaR limit       VaR at `var_confidence` (99%) over `var_horizon_seconds` (one session) of
                    the worst-case position, summed over markets (no diversification credit);
                    refused when above `var_limit_rupees` and the order adds exposure. From
                    the mid returns r_i sampled at every timer, dt_i seconds apart, scaled to
                    the horizon H by sqrt(H / dt_i) (zero mean):
                      parametric  VaR = z_c * sqrt(mean(r_i^2 / dt_i) * H) * |q| * mid * tick_value
                      historical  VaR = -quantile_(1-c)(q * mid * tick_value * r_i * sqrt(H / dt_i))
                    Until `min_var_returns` returns are seen the risk is unknown and orders that
                    add exposure are refused.
    drawdown        equity = cash from own fills + units from own fills * mid * tick_value,
                    checked at every timer, quote and fill: the strategy's mark-to-market P&L,
                    net of the starting holding like the limits above, and counted from fills
                    so that cash and units move together (free cash leaves out locked cash and
                    unsettled proceeds). When its drawdown from the peak exceeds
                    `max_drawdown_rupees` the switch trips for the rest of the run: open orders
                    are cancelled and the position is flattened back to the starting holding
                    with IOCs at the far touch, retried at every timer until flat.

Refusals are counted per guardrail and go through the context's `refuse`: recorded in the
run's orders with their reason code, and answered to the strategy as rejected orders. Each agent
of kind "ai" trades the first listed (venue, symbol) of the run.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from agents.common import NS_PER_SECOND, PopulationParams, build_population, listings
from sim.latency import latency_from
from sim.orders import Reason, Side
from sim.registry import AgentKind
from sim.strategy import HANDLERS, StrategyParticipant


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


# --- the model ------------------------------------------------------------------------------


def fit_model(features: np.ndarray, labels: np.ndarray, params: AIParams, seed: int):
    """A LightGBM regressor (a `lightgbm.Booster`) of labels on features, deterministic for a
    given seed."""
    import lightgbm  # heavy: imported only when a model is fitted

    settings = {
        "objective": "regression",
        "num_leaves": params.num_leaves,
        "learning_rate": params.learning_rate,
        "min_data_in_leaf": params.min_leaf_rows,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": 1,
        "seed": seed,
        "verbosity": -1,
    }
    data = lightgbm.Dataset(features, labels, params={"feature_pre_filter": False})
    return lightgbm.train(settings, data, num_boost_round=params.n_estimators)


def hit_rate(predicted, realised) -> float | None:
    """Share of predictions whose sign matched the realised move, over pairs where both moved."""
    predicted, realised = np.asarray(predicted, float), np.asarray(realised, float)
    scored = (predicted != 0) & (realised != 0) & np.isfinite(predicted) & np.isfinite(realised)
    if not scored.any():
        return None
    return float(np.mean(np.sign(predicted[scored]) == np.sign(realised[scored])))


@dataclass(frozen=True)
class TrainingWindow:
    """One fit: at `step`, on the rows of steps first_row..last_row, whose labels ended by
    `last_label_step` (= last_row + horizon)."""

    step: int
    first_row: int
    last_row: int
    last_label_step: int
    rows: int


def _mean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else math.nan


class MicrostructureSignal:
    """The LightGBM microstructure strategy on one market (see the module docstring)."""

    def __init__(self, venue: str, symbol: str, params: AIParams, seed: int) -> None:
        self.venue = venue
        self.symbol = symbol
        self.params = params
        self.seed = seed
        self.mids: list[float] = []  # per step, nan when a side was empty
        self.rows: list[np.ndarray] = []
        self.windows: list[TrainingWindow] = []
        self.predictions: list[tuple[int, int]] = []  # (step, index of the model used)
        self.orders = 0
        self._predicted: list[float] = []  # per step, nan without a model
        self._model = None
        self._start_units = 0
        self._hits = 0
        self._scored = 0

    @property
    def hit_rate(self) -> float | None:
        """Sign hit rate of the predictions whose label has matured (both moves non-zero)."""
        return self._hits / self._scored if self._scored else None

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
            prediction = float(self._model.predict(row[None, :], num_threads=1)[0])
            self.predictions.append((step, len(self.windows) - 1))
            self._trade(ctx, quote, prediction)
        self._predicted.append(prediction)
        self._maybe_fit(step)

    def features(self, quote, inventory: int) -> np.ndarray:
        """The feature row of the latest step (`mids` already holds its mid)."""
        p = self.params
        mids = np.asarray(self.mids[-(max(p.long_window, p.vol_window, *p.return_lags) + 1) :])
        now = mids[-1]
        returns = [now - mids[-1 - k] if mids.size > k else math.nan for k in p.return_lags]
        spread = math.nan if quote.spread is None else float(quote.spread)
        depth = quote.bid_qty + quote.ask_qty
        imbalance = (quote.bid_qty - quote.ask_qty) / depth if depth else math.nan
        ma_gap = math.nan
        if mids.size >= p.long_window:
            recent = mids[-p.long_window :]
            ma_gap = _mean(recent[-p.short_window :]) - _mean(recent)
        volatility = math.nan
        if mids.size > p.vol_window:
            changes = np.diff(mids[-(p.vol_window + 1) :])
            changes = changes[np.isfinite(changes)]
            volatility = float(changes.std()) if changes.size > 1 else math.nan
        return np.array([*returns, spread, imbalance, ma_gap, volatility, inventory], float)

    def _score(self, step: int) -> None:
        """The prediction made `horizon_steps` ago meets its realised move."""
        then = step - self.params.horizon_steps
        if then < 0:
            return
        predicted, realised = self._predicted[then], self.mids[step] - self.mids[then]
        if np.isfinite(predicted) and np.isfinite(realised) and predicted and realised:
            self._scored += 1
            self._hits += (predicted > 0) == (realised > 0)

    def _trade(self, ctx, quote, prediction: float) -> None:
        p = self.params
        if quote.spread is None or abs(prediction) - quote.spread / 2 <= p.threshold_ticks:
            return
        if prediction < 0 and ctx.position(self.symbol) < p.clip:
            return
        side, price = ("buy", quote.ask) if prediction > 0 else ("sell", quote.bid)
        self.orders += 1
        ctx.submit(self.venue, self.symbol, side, p.clip, price, "IOC")

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
        self._model = fit_model(features, labels[labelled], p, self.seed)
        self.windows.append(
            TrainingWindow(step, first, last, last + p.horizon_steps, int(labelled.sum()))
        )


# --- guardrails -------------------------------------------------------------------------------


def value_at_risk(
    position: float,
    mid_ticks: float,
    tick_value: float,
    returns,
    seconds,
    horizon_seconds: float,
    method: str = "parametric",
    confidence: float = 0.99,
) -> float:
    """VaR in rupees of `position` units at `mid_ticks` (`tick_value` paise per tick and unit)
    over `horizon_seconds`, from mid returns observed over `seconds` each (zero-mean,
    square-root-of-time scaling; see the module docstring)."""
    returns, seconds = np.asarray(returns, float), np.asarray(seconds, float)
    value = position * mid_ticks * tick_value / 100  # rupees
    if method == "parametric":
        sigma = math.sqrt(float(np.mean(returns**2 / seconds)) * horizon_seconds)
        return NormalDist().inv_cdf(confidence) * sigma * abs(value)
    pnl = value * returns * np.sqrt(horizon_seconds / seconds)
    return max(-float(np.quantile(pnl, 1 - confidence)), 0.0)


@dataclass
class _Market:
    """What the guard has observed of one market."""

    venue: str
    tick_value: int
    start_units: int = 0
    mid: float | None = None
    last_sample: tuple[float, int] | None = None  # (mid, time) at the last timer
    returns: deque | None = None  # (return, seconds)


class Guardrails:
    """Position limit, VaR limit and drawdown kill-switch around any strategy.

    markets : {symbol: (venue, tick value in paise per tick and unit)} the guard watches.
    """

    def __init__(
        self,
        strategy,
        markets: dict[str, tuple[str, int]],
        max_position: int,
        var_limit_rupees: float,
        max_drawdown_rupees: float,
        var_horizon_seconds: float,
        var_method: str = "parametric",
        var_confidence: float = 0.99,
        var_window: int = 500,
        min_var_returns: int = 20,
    ) -> None:
        self.strategy = strategy
        self.markets = {
            s: _Market(venue, tv, returns=deque(maxlen=var_window))
            for s, (venue, tv) in markets.items()
        }
        self.max_position = max_position
        self.var_limit_rupees = var_limit_rupees
        self.max_drawdown_rupees = max_drawdown_rupees
        self.var_horizon_seconds = var_horizon_seconds
        self.var_method = var_method
        self.var_confidence = var_confidence
        self.min_var_returns = min_var_returns
        self.refused: Counter = Counter()  # by guardrail: position, var, kill_switch
        self.tripped_at: int | None = None
        self.max_drawdown = 0.0  # rupees
        self._cash = 0  # paise, from own fills
        self._units: Counter = Counter()  # from own fills
        self._peak: float | None = None  # paise
        self._in_flight: list[tuple[tuple, bool]] = []  # (request, sent by the guard)
        self._cancelled: set[int] = set()
        self._handlers = {name: getattr(strategy, name, None) for name in HANDLERS}

    # --- what the guard measures ---------------------------------------------------------------

    def exposure(self, ctx, symbol: str) -> int:
        """Units held beyond the starting holding."""
        return ctx.position(symbol) - self.markets[symbol].start_units

    def var(self, positions: dict[str, int]) -> float | None:
        """VaR (rupees) of net positions by symbol; None while a needed estimate is missing."""
        total = 0.0
        for symbol, position in positions.items():
            if not position:
                continue
            market = self.markets[symbol]
            if market.mid is None or len(market.returns) < self.min_var_returns:
                return None
            returns, seconds = zip(*market.returns, strict=True)
            total += value_at_risk(
                position,
                market.mid,
                market.tick_value,
                returns,
                seconds,
                self.var_horizon_seconds,
                self.var_method,
                self.var_confidence,
            )
        return total

    def equity(self) -> float | None:
        """Mark-to-market equity (paise) of the strategy's own fills; None before every
        market has shown a mid."""
        value = float(self._cash)
        for symbol, market in self.markets.items():
            if market.mid is None:
                return None
            value += self._units[symbol] * market.mid * market.tick_value
        return value

    # --- the check on every order of the strategy -----------------------------------------------

    def refusal(self, ctx, symbol: str, side: int, qty: int) -> str | None:
        """The guardrail that refuses this order, or None when it may go."""
        if self.tripped_at is not None:
            return "kill_switch"
        if symbol not in self.markets:
            return "position"  # a market the guard does not watch has no limits to check
        now = {s: self.exposure(ctx, s) for s in self.markets}
        worst = now[symbol] + side * (self._pending(ctx, symbol, side) + qty)
        if abs(worst) <= abs(now[symbol]):
            return None  # reducing exposure is always allowed
        if abs(worst) > self.max_position:
            return "position"
        var_after = self.var({**now, symbol: worst})
        if var_after is None or var_after > self.var_limit_rupees:
            return "var"
        return None

    def _pending(self, ctx, symbol: str, side: int) -> int:
        """Units of open and in-flight orders on one side of one market (conservative: an order
        that reached the venue counts twice until its answer comes back)."""
        resting = sum(
            o.qty for _, o in ctx.open_orders() if o.instrument == symbol and int(o.side) == side
        )
        flying = sum(
            r[4] for r, _ in self._in_flight if r[2] == symbol and Side.parse(r[3]) == side
        )
        return resting + flying

    def send(self, ctx, venue, symbol, side, qty, price, tif, options, by_guard=False) -> None:
        request = ("new", venue, symbol, side, qty, price, tif)
        self._in_flight.append((request, by_guard))
        ctx.submit(venue, symbol, side, qty, price, tif, **options)

    # --- handlers: observe, guard, then forward ------------------------------------------------

    def _forward(self, name: str, ctx, *args) -> None:
        handler = self._handlers[name]
        if handler is not None:
            handler(GuardedContext(self, ctx), *args)

    def on_start(self, ctx) -> None:
        for symbol, market in self.markets.items():
            market.start_units = ctx.position(symbol)
        self._forward("on_start", ctx)

    def on_timer(self, ctx) -> None:
        for symbol, market in self.markets.items():
            quote = ctx.quote(market.venue, symbol)
            if quote.mid is not None:
                self._sample(market, quote.mid, ctx.now)
        self._check_drawdown(ctx)
        if self.tripped_at is not None:
            self._wind_down(ctx)
        self._forward("on_timer", ctx)

    def on_quote(self, ctx, venue, symbol, quote) -> None:
        market = self.markets.get(symbol)
        if market is not None and quote.mid is not None:
            market.mid = quote.mid
            self._check_drawdown(ctx)
        self._forward("on_quote", ctx, venue, symbol, quote)

    def on_order(self, ctx, request, response) -> None:
        for i, (sent, by_guard) in enumerate(self._in_flight):
            if sent == tuple(request):
                del self._in_flight[i]
                if by_guard:
                    return  # the guard's own flattening orders are not the strategy's business
                break
        self._forward("on_order", ctx, request, response)

    def on_fill(self, ctx, fill, side: int) -> None:
        taker = side == int(fill.aggressor_side)
        self._cash -= side * fill.notional + (fill.taker_fee if taker else fill.maker_fee)
        self._units[fill.instrument] += side * fill.qty
        self._check_drawdown(ctx)
        self._forward("on_fill", ctx, fill, side)

    def on_stop(self, ctx) -> None:
        self._forward("on_stop", ctx)

    def _sample(self, market: _Market, mid: float, now: int) -> None:
        market.mid = mid
        if market.last_sample is not None and now > market.last_sample[1]:
            last_mid, last_time = market.last_sample
            market.returns.append((mid / last_mid - 1, (now - last_time) / NS_PER_SECOND))
        market.last_sample = (mid, now)

    def _check_drawdown(self, ctx) -> None:
        equity = self.equity()
        if equity is None:
            return
        self._peak = equity if self._peak is None else max(self._peak, equity)
        drawdown = (self._peak - equity) / 100
        self.max_drawdown = max(self.max_drawdown, drawdown)
        if self.tripped_at is None and drawdown > self.max_drawdown_rupees:
            self.tripped_at = ctx.now
            self._wind_down(ctx)

    def _wind_down(self, ctx) -> None:
        """After the trip: cancel what is open, then flatten with IOCs at the far touch."""
        for venue, order in ctx.open_orders():
            if order.order_id not in self._cancelled:
                self._cancelled.add(order.order_id)
                ctx.cancel(venue, order.instrument, order.order_id)
        if any(by_guard for _, by_guard in self._in_flight):
            return  # one flattening order at a time: its answer shows what is left
        for symbol, market in self.markets.items():
            excess = self.exposure(ctx, symbol)
            quote = ctx.quote(market.venue, symbol)
            price = quote.bid if excess > 0 else quote.ask
            if excess and price is not None:
                side = "sell" if excess > 0 else "buy"
                self.send(ctx, market.venue, symbol, side, abs(excess), price, "IOC", {}, True)


REFUSAL_REASONS = {
    "position": Reason.GUARDRAIL_POSITION,
    "var": Reason.GUARDRAIL_VAR,
    "kill_switch": Reason.KILL_SWITCH,
}


class GuardedContext:
    """The context a guarded strategy sees: the real one, with `submit` checked first."""

    def __init__(self, guard: Guardrails, ctx) -> None:
        self._guard = guard
        self._ctx = ctx

    @property
    def now(self) -> int:
        return self._ctx.now

    def submit(self, venue, symbol, side, qty, price=None, tif="GTC", **options) -> None:
        """Send the order if every guardrail lets it through; otherwise count the refusal."""
        sign = Side.parse(side)
        if sign is not None:  # a bad side is the venue's to reject, with its reason code
            rule = self._guard.refusal(self._ctx, symbol, int(sign), int(qty))
            if rule is not None:
                self._guard.refused[rule] += 1
                self._ctx.refuse(venue, symbol, side, qty, price, tif, REFUSAL_REASONS[rule])
                return
        self._guard.send(self._ctx, venue, symbol, side, qty, price, tif, options)

    def cancel(self, venue: str, symbol: str, order_id: int) -> None:
        self._ctx.cancel(venue, symbol, order_id)

    def quote(self, venue: str, symbol: str):
        return self._ctx.quote(venue, symbol)

    def position(self, symbol: str) -> int:
        return self._ctx.position(symbol)

    def free_cash(self) -> int:
        return self._ctx.free_cash()

    def open_orders(self, venue: str | None = None) -> list:
        return self._ctx.open_orders(venue)

    def set_timer(self, interval_ns: int) -> None:
        self._ctx.set_timer(interval_ns)

    def refuse(self, venue, symbol, side, qty, price, tif, reason) -> None:
        self._ctx.refuse(venue, symbol, side, qty, price, tif, reason)


# --- the agent kind ---------------------------------------------------------------------------


_SUMMED = ("models_trained", "predictions", "signal_orders", "refused_position", "refused_var",
           "refused_kill_switch", "kill_switch_tripped")  # fmt: skip


class AIAgent(StrategyParticipant):
    """A `MicrostructureSignal` under `Guardrails`, trading the run's first listed market."""

    kind = "ai"

    def __init__(self, sim, params: AIParams, rng: np.random.Generator) -> None:
        venue, symbol = listings(sim)[0]
        instrument = sim.instruments[symbol]
        if params.clip % instrument.lot_size:
            raise ValueError(f"ai.clip {params.clip} is not a multiple of {symbol}'s lot size")
        open_ns, close_ns = sim.calendar.session(0)
        self.signal = MicrostructureSignal(venue, symbol, params, int(rng.integers(2**31 - 1)))
        self.guard = Guardrails(
            self.signal,
            {symbol: (venue, instrument.tick_value)},
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
        super().__init__(sim, rng, latency, self.guard, [(venue, symbol)])

    def report(self) -> dict:
        signal, guard = self.signal, self.guard
        return {
            "models_trained": len(signal.windows),
            "last_train_rows": signal.windows[-1].rows if signal.windows else 0,
            "predictions": len(signal.predictions),
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


def build(sim, params: AIParams, seeds):
    return build_population(AIAgent, sim, params, seeds)


KIND = AgentKind("ai", AIParams, build)
