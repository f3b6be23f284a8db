"""LightGBM alpha: a regressor on microstructure and fair-value features, trained walk-forward on
the run's own history, trading each bond on its predicted mid move, every order explained.

It trades each bond of its markets on the first venue listing it. Every `interval_seconds` of
trading time (one *step*) it reads each bond's quote (as it reached it) and valuation
(`ctx.valuation`) and records a row of features, prices in ticks:

    ret_k, spread, imbalance,   the microstructure of the bond's mid series, as the AI agent
    ma_gap, volatility          has it (`sim.strategy.features`)
    fair_gap                    mid - evaluated clean price
    liquidity_premium_bp        the pricing engine's liquidity premium for what it sees of the
                                book (NaN without a two-sided quote)
    fair_change_k               change of the evaluated clean price over the last k steps

The label of a bond's row at step s is its mid change from s to s + `horizon_steps`, known at
step s + `horizon_steps`. One model learns from all its bonds (their rows pooled, prices in
ticks alike). Walk-forward: at each step it first predicts with the model it has,
then, once `min_train_rows` labelled rows exist and every `retrain_every` steps, fits a new
LightGBM regressor on the rows whose labels have ended (all, or those of the last
`train_window` steps), used from the next step on. A prediction at step t therefore comes from
a model fitted before t, on labels that ended before t.

The decision, per bond, with prediction p and quoted spread s (ticks):

    p - s/2 >  threshold_ticks   buy  min(clip, max_position - held, what its free cash pays)
    p + s/2 < -threshold_ticks   sell min(clip, free units)
    otherwise                    wait

in whole lots, immediate-or-cancel at the touch (the ask to buy, the bid to sell); `held` is the
units it holds (pending trades included) and its free units those settled and not offered, so
it sells only what it has: it cannot short. One order per bond is on its way at a time.

Each order carries its decision (`sim.strategy.features.decision`, recorded in the run's
`decisions`): the prediction, the threshold |p| cleared (`threshold_ticks` + s/2), every
feature's contribution and the bias (they add up to p), and the model's number (the n-th fitted
in the run; 0 for the one loaded from `model_in`).

The model is saved with the strategy: with `model_path`, `on_stop` writes the last model there
(LightGBM's text format, atomically); with `model_in`, a model saved so (with the same features:
the same `return_lags`) is loaded at start, so that it trades from the first step, until its own
first fit replaces it. Each fit is a line of its log, and so is a summary at the end (models,
predictions, and the sign hit rate of the predictions whose label matured). Parameters:

    interval_seconds    trading seconds per step (default 60)
    return_lags         steps of the mid returns and fair-value changes (default 1, 2, 5, 10)
    short_window, long_window   steps of the moving averages of ma_gap (default 5, 30)
    vol_window          steps of realised volatility (default 30)
    horizon_steps       the label: mid change this many steps ahead (default 5)
    min_train_rows      labelled rows, all bonds together, before the first fit (default 1000)
    retrain_every       steps between fits (default 200)
    train_window        steps of labelled rows a fit uses, the latest; 0 = all (default 2000)
    n_estimators, num_leaves, learning_rate, min_leaf_rows   LightGBM's (40, 7, 0.1, 20)
    seed                LightGBM's seed (default 0)
    threshold_ticks     predicted move beyond half the spread to trade (default 0.5)
    clip_lots           lots per order (default 10)
    max_position        units of each bond it may hold (default 100)
    model_path          file to save the last model to at the end (default: none)
    model_in            model file to trade with from the start (default: none)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sim.records.store import write_bytes_atomically
from sim.strategy.features import (
    decision,
    explain,
    fit_model,
    history_needed,
    hit_rate,
    microstructure,
    microstructure_names,
)
from sim.strategy.loading import StrategyError
from sim.units import NS_PER_SECOND
from strategies.buy_and_hold import units_for

FEE_MARGIN = 0.001  # of a buy's budget, for the taker fee (1 to 1.5 bp on the baseline's venues)


@dataclass(frozen=True)
class Fit:
    """One model: fitted at `step` on `rows` labelled rows, whose labels ended by
    `last_label_step`."""

    step: int
    rows: int
    last_label_step: int


class LgbmAlpha:
    """Trades each bond on a walk-forward LightGBM prediction of its mid move."""

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        interval_seconds: float = Field(60.0, gt=0, description="trading seconds per step")
        return_lags: tuple[int, ...] = Field((1, 2, 5, 10), min_length=1, description="steps")
        short_window: int = Field(5, ge=1, description="steps of the short mid average")
        long_window: int = Field(30, ge=2, description="steps of the long mid average")
        vol_window: int = Field(30, ge=2, description="steps of realised volatility")
        horizon_steps: int = Field(5, ge=1, description="label: mid change this many steps on")
        min_train_rows: int = Field(1000, ge=10, description="labelled rows before a fit")
        retrain_every: int = Field(200, ge=1, description="steps between fits")
        train_window: int = Field(2000, ge=0, description="latest steps fitted on; 0 = all")
        n_estimators: int = Field(40, ge=1, le=2000, description="boosting rounds")
        num_leaves: int = Field(7, ge=2, le=1024)
        learning_rate: float = Field(0.1, gt=0, le=1)
        min_leaf_rows: int = Field(20, ge=1)
        seed: int = Field(0, ge=0, lt=2**31, description="LightGBM's seed")
        threshold_ticks: float = Field(0.5, ge=0, description="predicted move net of half spread")
        clip_lots: int = Field(10, ge=1, description="lots per order")
        max_position: int = Field(100, ge=1, description="units it may hold of each bond")
        model_path: str | None = Field(None, description="where on_stop saves the last model")
        model_in: str | None = Field(None, description="a saved model to trade with from start")

        @model_validator(mode="after")
        def _consistent(self):
            if self.short_window >= self.long_window:
                raise ValueError("short_window must be smaller than long_window")
            if any(lag < 1 for lag in self.return_lags):
                raise ValueError("return_lags must be positive numbers of steps")
            return self

        @field_validator("model_in")
        @classmethod
        def _model_in_exists(cls, path: str | None) -> str | None:
            if path is not None and not Path(path).is_file():
                raise ValueError(f"no such file {path!r}")
            return path

        @field_validator("model_path")
        @classmethod
        def _model_path_folder_exists(cls, path: str | None) -> str | None:
            if path is not None and not Path(path).resolve().parent.is_dir():
                raise ValueError(f"no folder to write {path!r} into")
            return path

    def __init__(self, params: Params | None = None) -> None:
        self.params = params or self.Params()
        p = self.params
        self.names = [
            *microstructure_names(p.return_lags),
            "fair_gap",
            "liquidity_premium_bp",
            *(f"fair_change_{k}" for k in p.return_lags),
        ]
        self.markets: list[tuple[str, str]] = []  # (venue, symbol): each bond's first listing
        self.mids: list[np.ndarray] = []  # per step, one per bond (NaN: a side was empty)
        self.fair: list[np.ndarray] = []  # per step, evaluated clean price in ticks
        self.rows: list[np.ndarray] = []  # per step, (bonds, features)
        self.predicted: list[np.ndarray] = []  # per step, one per bond (NaN: no model yet)
        self.fits: list[Fit] = []
        self.predictions: list[tuple[int, int]] = []  # (step, number of the model used)
        self.model = None
        self.model_number = 0  # the n-th fitted in the run; 0 for one loaded or none
        self.waiting: dict[str, int] = {}  # bonds with an order on its way -> paise held back

    # --- handlers ----------------------------------------------------------------------------

    def on_start(self, ctx) -> None:
        first_listings = {}
        for venue, symbol in ctx.markets:
            first_listings.setdefault(symbol, venue)
        self.markets = [(venue, symbol) for symbol, venue in first_listings.items()]
        if self.params.model_in is not None:
            self.model = load_model(self.params.model_in, self.names)
        ctx.set_timer(round(self.params.interval_seconds * NS_PER_SECOND))

    def on_timer(self, ctx) -> None:
        step = len(self.mids)
        quotes = [ctx.quote(venue, symbol) for venue, symbol in self.markets]
        valuations = [ctx.valuation(symbol) for _, symbol in self.markets]
        self.mids.append(np.array([math.nan if q.mid is None else q.mid for q in quotes]))
        self.fair.append(
            np.array([v.clean / float(ctx.instrument(v.symbol).tick_size) for v in valuations])
        )
        rows = np.vstack([self._features(b, quotes[b], v) for b, v in enumerate(valuations)])
        self.rows.append(rows)
        predicted = np.full(len(self.markets), math.nan)
        if self.model is not None:
            predicted, contributions = explain(self.model, rows)
            self.predictions.append((step, self.model_number))
            for bond, (quote, valuation) in enumerate(zip(quotes, valuations, strict=True)):
                self._trade(ctx, bond, quote, valuation, predicted[bond], contributions[bond])
        self.predicted.append(predicted)
        self._maybe_fit(ctx, step)

    def on_order(self, ctx, request, response) -> None:
        if request[0] == "new":
            self.waiting.pop(request[2], None)

    def on_stop(self, ctx) -> None:
        ctx.log(
            "lgbm_alpha summary",
            models=len(self.fits),
            predictions=len(self.predictions),
            hit_rate=self.hit_rate(),
        )
        if self.params.model_path is not None and self.model is not None:
            text = self.model.model_to_string(num_iteration=-1)
            write_bytes_atomically(self.params.model_path, text.encode())

    # --- features, decisions, fits -----------------------------------------------------------

    def _features(self, bond: int, quote, valuation) -> np.ndarray:
        """A bond's feature row at the latest step (`mids` and `fair` already hold it)."""
        p = self.params
        recent = -history_needed(p.return_lags, p.long_window, p.vol_window)
        mids = np.array([m[bond] for m in self.mids[recent:]])
        market = microstructure(
            mids, quote, p.return_lags, p.short_window, p.long_window, p.vol_window
        )
        fair = self.fair[-1][bond]
        premium = next(
            (c.spread_bp for c in valuation.components if c.name == "liquidity_premium"), math.nan
        )
        changes = [
            fair - self.fair[-1 - k][bond] if len(self.fair) > k else math.nan
            for k in p.return_lags
        ]
        return np.array([*market, mids[-1] - fair, premium, *changes], float)

    def _trade(self, ctx, bond: int, quote, valuation, prediction: float, contributions) -> None:
        """Send the bond's order if the prediction clears the threshold (the rule in the module
        docstring), with its decision."""
        p = self.params
        venue, symbol = self.markets[bond]
        if quote.spread is None or symbol in self.waiting:
            return
        side = side_of(prediction, quote.spread, p.threshold_ticks)
        if not side:
            return
        instrument = ctx.instrument(symbol)
        budget = max(ctx.free_cash() * (1 - FEE_MARGIN) - sum(self.waiting.values()), 0)
        affordable = units_for(budget, quote.ask, instrument, valuation.accrued)
        qty = order_units(
            side,
            held=ctx.position(symbol),
            free_units=ctx.free_units(symbol),
            affordable=affordable,
            clip=p.clip_lots * instrument.lot_size,
            max_position=p.max_position,
            lot=instrument.lot_size,
        )
        if not qty:
            return
        threshold = p.threshold_ticks + quote.spread / 2
        why = decision(prediction, threshold, self.names, contributions, self.model_number)
        if side > 0:
            unit_cost = (
                quote.ask * instrument.tick_value + valuation.accrued * instrument.unit_face_value
            )
            self.waiting[symbol] = qty * unit_cost
            ctx.submit(venue, symbol, "buy", qty, quote.ask, "IOC", decision=why)
        else:
            self.waiting[symbol] = 0
            ctx.submit(venue, symbol, "sell", qty, quote.bid, "IOC", decision=why)

    def _maybe_fit(self, ctx, step: int) -> None:
        """Fit on every row whose label has ended by `step`; used from the next step on."""
        p = self.params
        if self.fits and step - self.fits[-1].step < p.retrain_every:
            return
        last = step - p.horizon_steps
        first = max(0, last + 1 - p.train_window) if p.train_window else 0
        if last < first:
            return
        mids = np.array(self.mids[first : last + p.horizon_steps + 1])
        labels = (mids[p.horizon_steps :] - mids[: last - first + 1]).ravel()
        labelled = np.isfinite(labels)
        if labelled.sum() < p.min_train_rows:
            return
        features = np.vstack(self.rows[first : last + 1])[labelled]
        self.model = fit_model(features, labels[labelled], p, p.seed, self.names)
        self.fits.append(Fit(step, int(labelled.sum()), last + p.horizon_steps))
        self.model_number = len(self.fits)
        ctx.log("fitted", model=self.model_number, rows=self.fits[-1].rows, first_step=first)

    def hit_rate(self) -> float | None:
        """Sign hit rate of its predictions whose label has matured (both moves non-zero)."""
        h = self.params.horizon_steps
        if len(self.mids) <= h:
            return None
        mids = np.array(self.mids)
        realised = mids[h:] - mids[:-h]
        return hit_rate(np.array(self.predicted[:-h]), realised)


def side_of(prediction: float, spread: int, threshold: float) -> int:
    """+1 to buy, -1 to sell, 0 to wait: whether the predicted move, less half the spread (the
    cost of crossing from the mid), exceeds the threshold."""
    if abs(prediction) - spread / 2 <= threshold:
        return 0
    return 1 if prediction > 0 else -1


def order_units(
    side: int,
    *,
    held: int,
    free_units: int,
    affordable: int,
    clip: int,
    max_position: int,
    lot: int,
) -> int:
    """Units of an order on `side` (+1 buy, -1 sell), in whole lots: a buy at most `clip`, the
    room `held` leaves under `max_position` and the `affordable` units; a sale at most `clip` and
    the `free_units` (settled and not offered: it sells only what it has, never short)."""
    if side > 0:
        qty = min(clip, max_position - held, affordable)
    elif side < 0:
        qty = min(clip, free_units)
    else:
        return 0
    return max(qty, 0) // lot * lot


def load_model(path: str, names: list[str]):
    """The LightGBM model saved at `path`, checked to read the features `names`."""
    import lightgbm  # heavy: imported only when a model is loaded

    with open(path, "rb") as file:
        # LightGBM's text format opens with this line. Checked first: LightGBM prints its own
        # complaint about any other file before it raises.
        if file.readline().rstrip() != b"tree":
            raise StrategyError(f"LgbmAlpha model_in {path!r}: not a LightGBM model file")
    try:
        model = lightgbm.Booster(model_file=path)
    except lightgbm.basic.LightGBMError as error:
        message = f"LgbmAlpha model_in {path!r}: a damaged LightGBM model ({error})"
        raise StrategyError(message) from None
    if model.feature_name() != names:
        raise StrategyError(
            f"LgbmAlpha model_in {path!r}: its features {model.feature_name()} are not "
            f"this strategy's {names}"
        )
    return model
