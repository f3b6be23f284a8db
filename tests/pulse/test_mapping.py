"""The 0–100 mapping (features -> liquidity index) on generated features: bounded, and
monotone in each feature, other things equal (Hypothesis)."""

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.pulse.liquidity import score_liquidity
from sim.pulse.params import PulseParams

PARAMS = PulseParams(windows_days=(1, 2, 90))
# Each example scores a whole frame: fewer of them keep the file's run short.
fewer = settings(max_examples=40)
finite = {"allow_nan": False, "allow_infinity": False}


@st.composite
def features(draw):
    """Daily features of a few bonds over a few days, on one venue and consolidated."""
    bonds = draw(st.integers(1, 4))
    days = draw(st.integers(1, 4))
    n = bonds * days * 2
    column = lambda lo, hi: draw(st.lists(st.floats(lo, hi, **finite), min_size=n, max_size=n))  # noqa: E731
    imbalance = draw(st.lists(st.none() | st.floats(0, 1, **finite), min_size=n, max_size=n))
    keys = [(d, v, b) for d in range(days) for v in ("NSE", "all") for b in range(bonds)]
    return pl.DataFrame(
        {
            "interval": ["1d"] * n,
            "day": [d for d, _, _ in keys],
            "slot": [0] * n,
            "start": [d for d, _, _ in keys],
            "end": [d + 1 for d, _, _ in keys],
            "venue": [v for _, v, _ in keys],
            "instrument": [f"B{b}" for _, _, b in keys],
            "quoted_spread_bp": column(-5, 10_000),
            "depth_rupees": column(0, 1e7),
            "makers_two_sided": column(0, 3),
            "snapshots": [75] * n,
            "turnover_velocity": column(0, 2),
            "minutes_since_trade": column(0, 1e4),
            "order_imbalance": imbalance,
            "sip_activity": column(0, 0.1),
            "trades": [1] * n,
        },
        schema_overrides={"day": pl.Int32, "slot": pl.Int32, "order_imbalance": pl.Float64},
    )


def index(frame: pl.DataFrame) -> np.ndarray:
    return score_liquidity(frame, PARAMS, run_days=4)["liquidity"].to_numpy()


def moved(frame: pl.DataFrame, row: int, column: str, by: float) -> pl.DataFrame:
    values = frame[column].to_numpy().copy()
    values[row] += by
    return frame.with_columns(pl.Series(column, values))


@fewer
@given(features())
def test_the_index_is_between_0_and_100_with_a_non_negative_uncertainty(frame):
    scored = score_liquidity(frame, PARAMS, run_days=4)
    assert ((scored["liquidity"] >= 0) & (scored["liquidity"] <= 100)).all()
    assert (scored["liquidity_uncertainty"] >= 0).all()


@fewer
@given(features(), st.data(), st.floats(0, 5_000, **finite))
def test_a_wider_spread_never_raises_the_index(frame, data, wider):
    row = data.draw(st.integers(0, frame.height - 1))
    before = index(frame)[row]
    assert index(moved(frame, row, "quoted_spread_bp", wider))[row] <= before + 1e-9


@fewer
@given(features(), st.data(), st.floats(0, 1e7, **finite))
def test_more_depth_never_lowers_the_index(frame, data, deeper):
    row = data.draw(st.integers(0, frame.height - 1))
    before = index(frame)[row]
    assert index(moved(frame, row, "depth_rupees", deeper))[row] >= before - 1e-9


@fewer
@given(features())
def test_the_index_is_50_plus_the_features_points(frame):
    scored = score_liquidity(frame, PARAMS, run_days=4)
    points = scored["liquidity_points"].struct.unnest().to_numpy().sum(axis=1)
    assert np.allclose(scored["liquidity"].to_numpy(), 50 + points)


def test_a_bond_best_at_everything_nears_100_and_never_passes_it():
    # 50 bonds, bond k the k-th best on every feature: percentiles (k + 0.5) / 50.
    n = 50
    k = np.arange(n, dtype=float)
    frame = pl.DataFrame(
        {
            "interval": ["1d"] * n,
            "day": [0] * n,
            "slot": [0] * n,
            "start": [0] * n,
            "end": [1] * n,
            "venue": ["all"] * n,
            "instrument": [f"B{i}" for i in range(n)],
            "quoted_spread_bp": n - k,
            "depth_rupees": k,
            "makers_two_sided": k,
            "snapshots": [75] * n,
            "turnover_velocity": k,
            "minutes_since_trade": n - k,
            "order_imbalance": (n - k) / n,
            "sip_activity": k,
            "trades": [1] * n,
        },
        schema_overrides={"day": pl.Int32, "slot": pl.Int32},
    )
    got = index(frame)
    assert got[-1] == pytest.approx(100 * (n - 0.5) / n) and got[0] == pytest.approx(50 / n)
    assert got.max() <= 100 and got.min() >= 0
