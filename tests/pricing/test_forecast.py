"""The T+7 forecaster on synthetic histories, out of sample, and the synthetic generator."""

import subprocess
import sys
from datetime import date

import numpy as np
import polars as pl
import pytest

from sim.pricing.forecast import FEATURES, REQUIRED_COLUMNS, PriceForecaster, validate_history
from sim.pricing.synthetic import SyntheticParams, business_days, synthetic_history

N_BONDS, N_DAYS, TRAIN_DAYS = 30, 300, 200
START = date(2024, 1, 1)
SPLIT = business_days(START, N_DAYS)[TRAIN_DAYS]


def _fit_and_evaluate(structure, seed):
    history = synthetic_history(N_BONDS, N_DAYS, seed=seed, structure=structure, start=START)
    model = PriceForecaster().fit(history.filter(pl.col("date") < SPLIT))
    return history, model, model.evaluate(history, start=SPLIT)


@pytest.fixture(scope="module")
def structured():
    return _fit_and_evaluate("mean_reverting", seed=3)


@pytest.fixture(scope="module")
def random_walk():
    return _fit_and_evaluate("random_walk", seed=3)


def _realised_changes(history, horizon=7):
    """Independent reference: price[t+h] - price[t] for test rows, by plain numpy per bond."""
    out = []
    for _, bond in history.sort("date").group_by("bond_id", maintain_order=True):
        dates = bond["date"].to_list()
        price = bond["clean_price"].to_numpy()
        for i in range(len(dates) - horizon):
            if dates[i] >= SPLIT:
                out.append(price[i + horizon] - price[i])
    return np.array(out)


def test_beats_the_random_walk_where_prices_revert_to_fair_value(structured):
    history, _, ev = structured
    assert ev.n_obs == N_BONDS * (N_DAYS - TRAIN_DAYS - 7)
    assert ev.mae < 0.93 * ev.mae_random_walk  # measured: about 15% better
    assert ev.mae_random_walk == pytest.approx(
        np.mean(np.abs(_realised_changes(history))), rel=1e-12
    )
    assert ev.nominal_coverage == pytest.approx(0.8)
    assert 0.7 <= ev.coverage <= 0.9


def test_reports_no_edge_on_a_pure_random_walk(random_walk):
    history, _, ev = random_walk
    assert ev.mae_random_walk == pytest.approx(
        np.mean(np.abs(_realised_changes(history))), rel=1e-12
    )
    assert ev.improvement < 0.02  # not materially better than the random walk
    assert ev.improvement > -0.10  # and not badly worse: the model shrinks toward no change
    assert 0.7 <= ev.coverage <= 0.9


def test_explanations_sum_to_the_prediction_and_find_the_structure(structured):
    history, model, _ = structured
    pred = model.predict(history, start=SPLIT)
    explained = model.explain(history, start=SPLIT)
    contrib_cols = [f"contrib_{f}" for f in FEATURES]
    contrib = explained.select(contrib_cols).to_numpy()
    total = contrib.sum(axis=1) + explained["bias"].to_numpy()
    np.testing.assert_allclose(total, pred["predicted_change"].to_numpy(), atol=1e-9)
    np.testing.assert_allclose(
        explained["predicted_price"].to_numpy(), pred["predicted_price"].to_numpy(), atol=1e-9
    )
    importance = dict(zip(FEATURES, np.abs(contrib).mean(axis=0), strict=True))
    assert max(importance, key=importance.get) == "gap_to_fair_value"


def test_predictions_are_ordered_and_consistent(structured):
    history, model, _ = structured
    pred = model.predict(history, start=SPLIT)
    assert pred.columns == [
        "date", "bond_id", "clean_price", "predicted_change", "predicted_price",
        "price_q10", "price_q50", "price_q90",
    ]  # fmt: skip
    assert pred["date"].min() == SPLIT and pred.height == N_BONDS * (N_DAYS - TRAIN_DAYS)
    q = pred.select("price_q10", "price_q50", "price_q90").to_numpy()
    assert np.all(np.diff(q, axis=1) >= 0)
    np.testing.assert_allclose(
        pred["predicted_price"], pred["clean_price"] + pred["predicted_change"], atol=1e-12
    )


def test_fit_is_deterministic_and_accepts_pandas():
    history = synthetic_history(8, 120, seed=5)
    a = PriceForecaster(n_estimators=30, min_data_in_leaf=20).fit(history).predict(history)
    b = PriceForecaster(n_estimators=30, min_data_in_leaf=20).fit(history.to_pandas())
    assert a.equals(b.predict(history.to_pandas()))


def test_history_validation_names_the_problem():
    history = synthetic_history(3, 40, seed=1)
    for column in ("fair_value", "bid_ask_bp"):
        with pytest.raises(ValueError, match=f"missing required column\\(s\\): {column}"):
            validate_history(history.drop(column))
    with pytest.raises(ValueError, match="column 'ytm' has 1 null"):
        validate_history(
            history.with_columns(
                pl.when(pl.int_range(pl.len()) == 5)
                .then(None)
                .otherwise(pl.col("ytm"))
                .alias("ytm")
            )
        )
    with pytest.raises(ValueError, match="column 'clean_price' must be numeric"):
        validate_history(history.with_columns(pl.col("clean_price").cast(pl.Utf8)))
    with pytest.raises(ValueError, match="duplicate \\(bond_id, date\\)"):
        validate_history(pl.concat([history, history.head(1)]))
    with pytest.raises(TypeError, match="polars or pandas DataFrame, got dict"):
        validate_history({c: [] for c in REQUIRED_COLUMNS})


def test_misuse_is_refused():
    history = synthetic_history(3, 40, seed=1)
    with pytest.raises(RuntimeError, match="not fitted yet"):
        PriceForecaster().predict(history)
    with pytest.raises(ValueError, match="quantiles must be at least two distinct increasing"):
        PriceForecaster(quantiles=(0.9, 0.1)).fit(history)
    with pytest.raises(ValueError, match="quantiles must be"):
        PriceForecaster(quantiles=(0.0, 0.5)).fit(history)
    with pytest.raises(ValueError, match="horizon_days must be a positive integer"):
        PriceForecaster(horizon_days=0).fit(history)
    with pytest.raises(ValueError, match="too little history to fit"):
        PriceForecaster().fit(history.filter(pl.col("bond_id") == "B000"))


def test_importing_pricing_does_not_import_lightgbm():
    code = "import sys, sim.pricing, sim.pricing.forecast; print('lightgbm' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- the synthetic generator -------------------------------------------------------------


def test_synthetic_history_is_seeded_and_well_formed():
    a = synthetic_history(5, 30, seed=11)
    assert a.equals(synthetic_history(5, 30, seed=11))
    assert not a.equals(synthetic_history(5, 30, seed=12))
    assert a.height == 150 and validate_history(a) is a
    assert all(d.weekday() < 5 for d in a["date"].unique())
    with pytest.raises(ValueError, match="unknown structure 'trend'"):
        synthetic_history(structure="trend")


def test_synthetic_prices_revert_to_fair_value_at_the_set_speed():
    params = SyntheticParams()
    history = synthetic_history(40, 400, seed=2, params=params).sort("bond_id", "date")
    gap = history.select(
        (pl.col("clean_price") - pl.col("fair_value")).alias("now"),
        (pl.col("clean_price") - pl.col("fair_value")).shift(1).over("bond_id").alias("before"),
    ).drop_nulls()
    x, y = gap["before"].to_numpy(), gap["now"].to_numpy()
    assert np.dot(x, y) / np.dot(x, x) == pytest.approx(params.mispricing_persistence, abs=0.03)
