"""The role views: each role sees what it should and nothing more; bands, plain sentences and
one-line errors."""

import polars as pl
import pytest

from sim.pulse.features import LIQUIDITY_FEATURES
from sim.pulse.frame import COLUMNS
from sim.pulse.params import PulseParams
from sim.pulse.repayment import REPAYMENT_FEATURES
from sim.pulse.roles import PHRASES, ViewError, band, explain, provenance, view
from sim.records.result import Result

FEATURE_COLUMNS = {f.column for f in LIQUIDITY_FEATURES}
HIDDEN_FROM_PROFESSIONALS = {c for c in COLUMNS if c.endswith(("_uncertainty", "_points"))}


@pytest.fixture(scope="module")
def result(rated_run):
    return Result.load(rated_run)


@pytest.fixture(scope="module")
def frame(result):
    return result.pulse


@pytest.fixture(scope="module")
def metadata(result):
    return provenance(result, result.pulse_settings.params)


def test_retail_sees_the_score_its_band_and_a_sentence_on_the_consolidated_book(frame, metadata):
    seen = view(frame, "retail", metadata=metadata)
    assert seen.rows.columns == [
        "instrument", "interval", "day", "slot", "start", "end", "score", "band", "explanation"
    ]  # fmt: skip
    assert not FEATURE_COLUMNS & set(seen.rows.columns)  # no features, drivers or venues
    assert seen.metadata == {}  # nor the run's provenance
    consolidated = frame.filter(pl.col("venue") == "all")
    assert seen.rows.height == consolidated.height
    assert seen.rows["score"].to_list() == consolidated["score"].to_list()
    assert seen.rows["band"].to_list() == [band(s) for s in consolidated["score"]]
    first = seen.rows.row(0, named=True)
    assert first["explanation"].startswith(
        f"{first['instrument']} scores {first['score']:.0f} out of 100 ({first['band']}); what "
    )


def test_professionals_add_the_features_and_drivers_per_venue_but_not_the_workings(frame, metadata):
    seen = view(frame, "professional", metadata=metadata)
    columns = set(seen.rows.columns)
    assert columns >= FEATURE_COLUMNS
    assert columns >= {"liquidity_drivers", "repayment_drivers", "score_drivers", "band"}
    assert not HIDDEN_FROM_PROFESSIONALS & columns  # uncertainties and points are the regulator's
    assert seen.metadata == {}
    assert seen.rows.height == frame.height
    assert set(seen.rows["venue"]) == {"NSE", "BSE", "all"}


def test_the_regulator_sees_every_column_and_the_runs_metadata(frame, result, metadata):
    seen = view(frame, "regulator", metadata=metadata)
    assert seen.rows.columns == [*COLUMNS, "band", "explanation"]
    assert seen.rows.drop("band", "explanation").equals(frame)
    assert seen.metadata["run_id"] == result.run_id
    assert seen.metadata["seed"] == 1 and seen.metadata["scenario"] == "baseline"
    assert seen.metadata["source"] == "pulse.parquet"
    assert seen.metadata["pulse_sha256"] == result.manifest["files"]["pulse.parquet"]
    assert PulseParams.model_validate(seen.metadata["params"]) == PulseParams()
    assert seen.to_dict()["rows"][0]["score_uncertainty"] >= 0


def test_one_bonds_rows_only(frame):
    bond = frame["instrument"][0]
    seen = view(frame, "professional", bond)
    assert set(seen.rows["instrument"]) == {bond}
    assert seen.rows.height == frame.filter(pl.col("instrument") == bond).height


def test_an_unknown_role_or_bond_is_one_line_with_a_hint(frame):
    with pytest.raises(ViewError) as caught:
        view(frame, "retial")
    assert str(caught.value) == (
        "unknown role 'retial' (did you mean retail?) (roles: retail, professional, regulator)"
    )
    bond = frame["instrument"][0]
    with pytest.raises(ViewError, match=rf"^no bond '{bond[:-1]}' in the Pulse \(did you mean "):
        view(frame, "retail", bond[:-1])


def test_an_unrated_bond_is_scored_on_liquidity_and_says_so(unrated_run):
    frame = Result.load(unrated_run).pulse
    assert frame["score"].null_count() == frame.height
    seen = view(frame, "retail")
    assert (
        seen.rows["score"].to_list()
        == frame.filter(pl.col("venue") == "all")["liquidity"].to_list()
    )
    assert all(" out of 100 for liquidity (" in s for s in seen.rows["explanation"])
    assert view(frame, "professional").rows["score"].null_count() == frame.height  # as it is


@pytest.mark.parametrize(
    ("score", "label"),
    [(0.0, "weak"), (34.4, "weak"), (34.6, "below average"), (44.5, "below average"),
     (45.0, "average"), (54.9, "above average"), (64.4, "above average"), (65.0, "strong"),
     (100.0, "strong"), (None, None)],
)  # fmt: skip
def test_bands_split_the_scale_around_the_neutral_50_as_shown(score, label):
    assert band(score) == label


def test_the_sentence_follows_the_top_driver_and_its_sign():
    lifted = explain("B", 71.2, {"feature": "depth", "points": 8.0})
    assert lifted == (
        "B scores 71 out of 100 (strong); what helps it most: plenty of the bond is on offer "
        "near its price."
    )
    held = explain("B", 30.0, {"feature": "rating_adjustment", "points": -10.0})
    assert held.endswith("what holds it back most: its issuer is rated below investment grade "
                         "or has defaulted.")  # fmt: skip
    assert explain("B", 50.2, {"feature": "depth", "points": 0.2}) == (
        "B scores 50 out of 100 (average); no single factor stands out."
    )
    assert explain("B", None, None) == "B has no score for this interval."


def test_every_driver_has_words():
    names = {f.name for f in (*LIQUIDITY_FEATURES, *REPAYMENT_FEATURES)} | {"rating_adjustment"}
    assert set(PHRASES) == names
