"""Ratings and the credit model's probabilities from published valuations, and the
alternative-data signals."""

from datetime import date

import numpy as np
import polars as pl
import pytest

from sim.pricing.credit import DEFAULT_SPREAD_TABLE, illustrative_migration_matrix
from sim.pulse.altdata import alt_data
from sim.pulse.credit import daily_credit, rating_probabilities
from sim.pulse.params import AltDataParams
from sim.pulse.timeline import Timeline
from tests.pulse.hand import at, manifest

TIMELINE = Timeline.from_manifest(manifest())
BONDS = pl.DataFrame(
    {
        "symbol": ["SAFE", "RISKY"],
        "issuer": ["SAFECO", "RISKCO"],
        "sector": ["PSU", "NBFC"],
        "maturity": [date(2029, 1, 1), date(2029, 1, 1)],
    }
)
YEARS = (date(2029, 1, 1) - date(2024, 1, 1)).days / 365.0


def valuation(time, symbol, rating, extra_bp=0.0):
    """A published valuation row: `rating`'s table spread plus `extra_bp`; None: in default."""
    table = None if rating is None else DEFAULT_SPREAD_TABLE.spread_bp(rating, YEARS)
    return {
        "time": time,
        "instrument": symbol,
        "spread_bp": None if table is None else table + extra_bp,
        "rating_spread_bp": table,
        "model_adjustment_bp": None if table is None else extra_bp,
    }


def credit(rows) -> pl.DataFrame:
    frame = pl.DataFrame(rows, schema_overrides={"instrument": pl.Categorical})
    return daily_credit(frame, BONDS, TIMELINE)


def test_the_rating_is_the_tables_nearest_and_default_has_no_spread():
    got = credit(
        [valuation(at(0, 0), "SAFE", "AA+", 3.0), valuation(at(0, 0), "RISKY", "BBB-", -2.0),
         valuation(at(1, 0), "SAFE", "AA+"), valuation(at(1, 0), "RISKY", None)]
    )  # fmt: skip
    assert got.select("day", "instrument", "rating", "grade").rows() == [
        (0, "RISKY", "BBB-", "BBB"),
        (0, "SAFE", "AA+", "AA"),
        (1, "RISKY", "D", "D"),
        (1, "SAFE", "AA+", "AA"),
    ]
    assert got["latent_bp"].to_list() == [-2.0, 3.0, None, 0.0]


def test_a_day_takes_the_valuation_published_at_its_open():
    got = credit(
        [valuation(at(0, 0), "SAFE", "AAA"), valuation(at(0, 0), "SAFE", "AA"),  # the last
         valuation(at(0, 120), "SAFE", "BBB")]  # a shock re-published at 11:15: next day's
    )  # fmt: skip
    assert got["rating"].to_list() == ["AA"]


def test_the_probabilities_are_the_migration_matrixs():
    p = np.asarray(illustrative_migration_matrix().probabilities)
    table = {row["rating"]: row for row in rating_probabilities().to_dicts()}
    assert table["AAA"]["default_probability"] == p[0, -1]
    assert table["AA"]["downgrade_probability"] == pytest.approx(p[2, 3:-1].sum())
    assert table["D"]["default_probability"] == table["D"]["downgrade_probability"] == 1.0


def latent(days=400):
    rng = np.random.default_rng(5)
    walk = np.cumsum(rng.normal(0, 10, days))
    return pl.DataFrame(
        {"day": np.arange(days), "issuer": ["X"] * days, "latent_bp": walk},
        schema_overrides={"day": pl.Int32},
    )


def test_the_signals_observe_the_latent_state_with_their_own_noise():
    signals = alt_data(latent(), seed=1, params=AltDataParams())
    truth = -signals["latent_bp"].to_numpy()
    corr = {name: np.corrcoef(truth, signals[name].to_numpy())[0, 1] for name in
            ("traffic", "utilities", "sentiment")}  # fmt: skip
    assert 0.5 < corr["sentiment"] < corr["utilities"] < corr["traffic"] < 1.0


def test_the_signals_are_seeded_from_the_run_and_touch_no_global_state():
    before = np.random.get_state()[1].copy()  # noqa: NPY002 -- global state, watched
    one, again = alt_data(latent(), 1, AltDataParams()), alt_data(latent(), 1, AltDataParams())
    other = alt_data(latent(), 2, AltDataParams())
    assert one.equals(again)
    assert not one.equals(other)
    assert (np.random.get_state()[1] == before).all()  # noqa: NPY002


def test_an_issuer_in_default_signals_the_default_state():
    frame = pl.DataFrame(
        {"day": [0], "issuer": ["X"], "latent_bp": [None]},
        schema={"day": pl.Int32, "issuer": pl.String, "latent_bp": pl.Float64},
    )
    quiet = AltDataParams(traffic_noise=0, utilities_noise=0, sentiment_noise=0)
    assert alt_data(frame, 1, quiet).row(0)[3:] == (-100.0, -100.0, -100.0)  # 1,000 / 10
