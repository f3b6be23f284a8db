"""What the learning strategies learn from, and how each prediction is explained: microstructure
features of a series of mids, a deterministic LightGBM regressor over them, and the decision
record of a prediction (`agents.ai`, `strategies.lgbm_alpha`).

Features of one market at one step, from its mids so far (one per step, latest last, NaN when a
side of the book was empty) and its quote now; prices in ticks:

    ret_k       mid change over the last k steps (k in the return lags)
    spread      ask - bid
    imbalance   (bid_qty - ask_qty) / (bid_qty + ask_qty) at the touch
    ma_gap      mean mid over the short window minus mean mid over the long window (NaN mids
                left out)
    volatility  population sd of the one-step mid changes over the volatility window

A value that cannot be known yet (a lag longer than the history, an empty side) is NaN, which
LightGBM reads as missing.

`fit_model` fits a LightGBM regressor with its seed, `deterministic`, one thread and row-wise
histograms, so that the same rows and seed give bit-identical trees. `explain` gives each
prediction with its feature contributions (LightGBM's ``pred_contrib``: SHAP values, and the
bias, the model's expected output, last), which add up to the prediction; `decision` is the
record an order carries (`Context.submit`'s ``decision``):

    {"prediction": ..., "threshold": ..., "contributions": {feature: ..., "bias": ...},
     "model": n}
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.market.messages import Quote


def microstructure_names(return_lags: Sequence[int]) -> list[str]:
    """The names of `microstructure`'s values, in its order."""
    return [*(f"ret_{k}" for k in return_lags), "spread", "imbalance", "ma_gap", "volatility"]


def history_needed(return_lags: Sequence[int], long_window: int, vol_window: int) -> int:
    """Mids (steps) `microstructure` reads at most."""
    return max(long_window, vol_window, *return_lags) + 1


def microstructure(
    mids: np.ndarray,
    quote: Quote,
    return_lags: Sequence[int],
    short_window: int,
    long_window: int,
    vol_window: int,
) -> list[float]:
    """The features of the latest step (`mids` ends with its mid; see the module docstring)."""
    now = mids[-1]
    returns = [now - mids[-1 - k] if mids.size > k else math.nan for k in return_lags]
    spread = math.nan if quote.spread is None else float(quote.spread)
    depth = quote.bid_qty + quote.ask_qty
    imbalance = (quote.bid_qty - quote.ask_qty) / depth if depth else math.nan
    ma_gap = math.nan
    if mids.size >= long_window:
        recent = mids[-long_window:]
        ma_gap = _mean(recent[-short_window:]) - _mean(recent)
    volatility = math.nan
    if mids.size > vol_window:
        changes = np.diff(mids[-(vol_window + 1) :])
        changes = changes[np.isfinite(changes)]
        volatility = float(changes.std()) if changes.size > 1 else math.nan
    return [*returns, spread, imbalance, ma_gap, volatility]


def _mean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else math.nan


# --- the model ---------------------------------------------------------------------------------


def fit_model(
    features: np.ndarray,
    labels: np.ndarray,
    params,
    seed: int,
    names: Sequence[str] | None = None,
):
    """A LightGBM regressor (a `lightgbm.Booster`) of labels on features, deterministic for a
    given seed. `params` has ``n_estimators``, ``num_leaves``, ``learning_rate`` and
    ``min_leaf_rows``; `names` name the feature columns (kept in the model's file)."""
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
    data = lightgbm.Dataset(
        features,
        labels,
        feature_name=list(names) if names is not None else "auto",
        params={"feature_pre_filter": False},
    )
    return lightgbm.train(settings, data, num_boost_round=params.n_estimators)


def explain(model, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The model's predictions for `rows` (one per row) and their contributions: one column per
    feature, then the bias, adding up to each prediction."""
    predictions = model.predict(rows, num_threads=1)
    contributions = model.predict(rows, pred_contrib=True, num_threads=1)
    return predictions, contributions


def decision(
    prediction: float,
    threshold: float,
    names: Sequence[str],
    contributions: np.ndarray,
    model: int,
) -> dict:
    """Why an order was sent: the prediction, the threshold it cleared, each feature's
    contribution and the bias (the row of `explain` for it), and the model's number."""
    drivers = {name: float(c) for name, c in zip(names, contributions[:-1], strict=True)}
    drivers["bias"] = float(contributions[-1])
    return {
        "prediction": float(prediction),
        "threshold": float(threshold),
        "contributions": drivers,
        "model": int(model),
    }


def hit_rate(predicted, realised) -> float | None:
    """Share of predictions whose sign matched the realised move, over pairs where both moved."""
    predicted, realised = np.asarray(predicted, float), np.asarray(realised, float)
    scored = (predicted != 0) & (realised != 0) & np.isfinite(predicted) & np.isfinite(realised)
    if not scored.any():
        return None
    return float(np.mean(np.sign(predicted[scored]) == np.sign(realised[scored])))
