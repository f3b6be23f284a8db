"""The T+7 forecaster on synthetic histories, out of sample, and the synthetic generator."""

import math
import subprocess
import sys
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from sim.pricing.credit import DEFAULT_SPREAD_TABLE
from sim.pricing.forecast import (
    FEATURES,
    REQUIRED_COLUMNS,
    PriceForecaster,
    _with_features,
    validate_history,
)
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
    with pytest.raises(ValueError, match="quantiles must be"):
        PriceForecaster(quantiles=(0.5,)).fit(history)
    with pytest.raises(ValueError, match="too little history to fit"):
        PriceForecaster().fit(history.filter(pl.col("bond_id") == "B000"))


def test_fit_accepts_the_smallest_valid_settings():
    # 2 bonds x (52 days - 20 days of feature history - 7 days ahead) = the 50 rows needed
    model = PriceForecaster(quantiles=(0.25, 0.75), n_estimators=5).fit(synthetic_history(2, 52))
    assert model.n_train_ == 50
    assert model.predict(synthetic_history(2, 52)).columns[-2:] == ["price_q25", "price_q75"]
    with pytest.raises(ValueError, match="too little history to fit: 48 rows"):
        PriceForecaster(n_estimators=5).fit(synthetic_history(2, 51))
    one_day = PriceForecaster(horizon_days=1, n_estimators=5).fit(synthetic_history(2, 46))
    assert one_day.n_train_ == 2 * (46 - 20 - 1)


def test_features_on_a_hand_made_history():
    # One bond over 21 days, t = 0..20; only the last day has the 20 days of history needed.
    t = np.arange(21)
    history = pl.DataFrame(
        {
            "date": [date(2024, 1, 1) + timedelta(days=int(i)) for i in t],
            "bond_id": "B",
            "clean_price": 200.0 - t**2 / 4,  # falling: 109.75 yesterday, 100 today
            "ytm": 0.07 - 0.0001 * t,
            "curve_level": 0.07 - 0.0002 * t,
            "curve_slope": 0.01 - 0.0001 * t,
            "rating_spread_bp": 150.0 - 2 * t,
            "bid_ask_bp": 12.0,
            "fair_value": 101.0,
        }
    )
    out = _with_features(history, horizon=7)
    assert out["date"].to_list() == [date(2024, 1, 21)]
    expected = {
        "price_change_1d": 100 - 109.75,
        "price_change_3d": 100 - 127.75,
        "price_change_7d": 100 - 157.75,
        "price_change_20d": 100 - 200.0,
        "ytm_change_1d_bp": -1.0,
        "ytm_change_7d_bp": -7.0,
        # daily changes -(2t - 1)/4 for t = 11..20: ten steps 0.5 apart
        "volatility_10d": 0.5 * math.sqrt(10 * 11 / 12),
        "gap_to_ma5": 100 - (200 - (16**2 + 17**2 + 18**2 + 19**2 + 20**2) / 4 / 5),
        "gap_to_ma20": 100 - (200 - 20 * 21 * 41 / 6 / 4 / 20),  # mean of 200 - t²/4, t = 1..20
        "gap_to_fair_value": 1.0,
        "curve_level_change_7d_bp": -14.0,
        "curve_slope_change_7d_bp": -7.0,
        "rating_spread_change_7d_bp": -14.0,
        "bid_ask_level_bp": 12.0,
    }
    assert list(expected) == list(FEATURES)
    for name, value in expected.items():
        assert out[name].item() == pytest.approx(value, rel=1e-9, abs=1e-9), name
    assert out["target_change"].item() is None  # no price 7 days after the last day


def test_evaluation_where_prices_never_move_reports_no_improvement():
    model = PriceForecaster(n_estimators=20, min_data_in_leaf=20).fit(synthetic_history(3, 60))
    frozen = synthetic_history(3, 40, seed=2).with_columns(clean_price=pl.lit(100.0))
    ev = model.evaluate(frozen)
    # The random walk is exact here: nothing to improve on, and no division by zero.
    assert ev.n_obs == 3 * (40 - 20 - 7) and ev.mae_random_walk == 0.0
    assert ev.improvement == 0.0


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


def test_synthetic_history_refuses_an_empty_market():
    with pytest.raises(ValueError, match="need n_bonds >= 1 and n_days >= 2, got 0 and 10"):
        synthetic_history(0, 10)
    with pytest.raises(ValueError, match="got 1 and 1"):
        synthetic_history(1, 1)


def test_synthetic_history_without_a_seed_is_reproducible():
    assert synthetic_history(2, 5).equals(synthetic_history(2, 5))


def test_synthetic_ratings_span_aaa_to_a():
    ratings = set(synthetic_history(200, 2, seed=1)["rating"])
    assert ratings == {"AAA", "AA+", "AA", "AA-", "A+", "A"}


def _implied_coupon(maturity, ytm, clean):
    """The annual coupon rate that prices a 100-face semi-annual bond at ``ytm`` to ``clean``.

    Coupons fall every half year back from maturity; accrued interest is linear in the period.
    """
    times = maturity - np.arange(int(2 * maturity) + 1) / 2
    times = times[times > 0]
    discount = (1 + ytm / 2) ** (-2 * times)
    accrued_share = 1 - 2 * times.min()
    return (clean - 100 * discount[0]) / (50 * (discount.sum() - accrued_share))


def test_synthetic_bonds_keep_one_semiannual_coupon_and_age_by_calendar_days():
    history = synthetic_history(6, 140, seed=4)  # 140 business days pass a coupon date of each
    for _, bond in history.sort("date").group_by("bond_id", maintain_order=True):
        rows = bond.select("maturity_years", "ytm", "clean_price").iter_rows()
        coupons = np.array([_implied_coupon(*row) for row in rows])
        assert np.ptp(coupons) < 1e-12 and 0.05 < coupons[0] < 0.10
        days = (bond["date"] - bond["date"][0]).dt.total_days().to_numpy()
        np.testing.assert_allclose(
            bond["maturity_years"], bond["maturity_years"][0] - days / 365, atol=1e-12
        )


def test_synthetic_curve_columns_are_the_10y_zero_rate_and_10y_minus_1y():
    still = SyntheticParams(
        level_mean=0.07, level_vol=0.0, slope_mean=0.01, slope_vol=0.0, slope_decay_years=2.0
    )
    history = synthetic_history(2, 3, params=still)
    # Nelson–Siegel, level 7%, slope 1%, decay 2 years: r(t) = 0.07 - 0.01 (1 - e^(-t/2)) / (t/2)
    r10 = 0.07 - 0.01 * (1 - math.exp(-5)) / 5  # 6.80135%
    r1 = 0.07 - 0.01 * (1 - math.exp(-0.5)) / 0.5  # 6.21306%
    np.testing.assert_allclose(history["curve_level"], r10, rtol=1e-12)
    np.testing.assert_allclose(history["curve_slope"], r10 - r1, rtol=1e-9)


def test_synthetic_yields_in_a_still_market_are_the_curve_plus_spread_and_liquidity():
    still = SyntheticParams(
        level_vol=0.0, slope_mean=0.0, slope_vol=0.0, credit_vol=0.0, mispricing_vol=0.0
    )
    history = synthetic_history(4, 30, seed=4, params=still)
    # A flat continuous rate z has the semi-annual yield 2 (e^(z/2) - 1). Here z is the flat
    # curve plus the rating spread plus the liquidity premium: half the bid-ask, and per bond a
    # constant for depth and staleness (at most 25 + 20 bp, `LiquidityPremiumParams`).
    rest = history.select(
        "bond_id",
        rest=2 * (1 + pl.col("ytm") / 2).log()
        - pl.col("curve_level")
        - (pl.col("rating_spread_bp") + 0.5 * pl.col("bid_ask_bp")) / 1e4,
    )
    per_bond = rest.group_by("bond_id").agg(lo=pl.col("rest").min(), hi=pl.col("rest").max())
    assert (per_bond["hi"] - per_bond["lo"]).max() < 1e-10
    assert per_bond["lo"].min() > 0 and per_bond["hi"].max() < 45e-4


def test_synthetic_rating_spreads_are_the_tables_scaled_by_a_reverting_common_factor():
    still = synthetic_history(5, 20, seed=6, params=SyntheticParams(credit_vol=0.0))
    table = [
        DEFAULT_SPREAD_TABLE.spread_bp(r, m)
        for r, m in still.select("rating", "maturity_years").iter_rows()
    ]
    np.testing.assert_allclose(still["rating_spread_bp"], table, rtol=1e-12)

    # Reversion 50 a year, over 250 trading days a year: each day keeps 1 - 50/250 of the factor.
    history = synthetic_history(3, 300, seed=6, params=SyntheticParams(credit_reversion=50.0))
    table = [
        DEFAULT_SPREAD_TABLE.spread_bp(r, m)
        for r, m in history.select("rating", "maturity_years").iter_rows()
    ]
    factor = (
        history.with_columns(log_factor=np.log(history["rating_spread_bp"].to_numpy() / table))
        .group_by("date")
        .agg(lo=pl.col("log_factor").min(), hi=pl.col("log_factor").max())
        .sort("date")
    )
    assert (factor["hi"] - factor["lo"]).max() < 1e-12  # common to every bond
    x = factor["lo"].to_numpy()
    assert np.dot(x[:-1], x[1:]) / np.dot(x[:-1], x[:-1]) == pytest.approx(0.8, abs=0.08)


def test_synthetic_random_walk_has_the_set_step_and_fair_value_noise():
    params = SyntheticParams(random_walk_vol=0.2, random_walk_fair_noise=0.5)
    history = synthetic_history(20, 150, seed=7, structure="random_walk", params=params)
    moves = history.sort("bond_id", "date").select(
        step=pl.col("clean_price").diff().over("bond_id"),
        noise=pl.col("fair_value") - pl.col("clean_price"),
    )
    step, noise = moves["step"].drop_nulls().to_numpy(), moves["noise"].to_numpy()
    assert abs(step.mean()) < 0.02 and step.std() == pytest.approx(0.2, rel=0.05)
    assert abs(noise.mean()) < 0.04 and noise.std() == pytest.approx(0.5, rel=0.05)
