"""The Pulse on a short real run: the frame, its reproducibility, and the validation in
reduced form (four days of the baseline, its makers widening and retail panicking on day 2)."""

import math

import polars as pl
import pytest

import sim
from sim.pulse import pulse, realised_costs, validate
from sim.pulse.frame import COLUMNS

STRESS = (
    'shocks=[{kind = "liquidity_withdrawal", day = 2, fraction = 1.0},'
    ' {kind = "panic", day = 2, intensity = 0.8}]'
)


@pytest.fixture(scope="module")
def run():
    scenario = sim.load_scenario("baseline", overrides=["calendar.days=4", STRESS])
    return sim.run(scenario, seed=1, out=None)


@pytest.fixture(scope="module")
def frame(run):
    return pulse(run)


def test_the_frame_has_a_row_per_listing_and_interval(frame):
    assert frame.columns == list(COLUMNS)
    counts = dict(frame.group_by("interval").len().iter_rows())
    # 20 bonds on NSE, BSE and consolidated; 4 days of 7 hourly slots (the last 15 minutes).
    assert counts == {"1d": 20 * 3 * 4, "1h": 20 * 3 * 4 * 7}


def test_every_score_is_between_0_and_100_with_its_drivers(frame):
    for name in ("liquidity", "repayment", "score"):
        values = frame[name]
        assert values.null_count() == 0
        assert ((values >= 0) & (values <= 100)).all()
        assert (frame[f"{name}_uncertainty"] >= 0).all()
        assert (frame[f"{name}_drivers"].list.len() == 3).all()


def test_the_same_run_gives_the_same_frame_in_memory_and_from_disk(run, frame, tmp_path):
    assert pulse(run).equals(frame)
    assert pulse(run.save(tmp_path)).equals(frame)


def test_the_index_falls_when_the_makers_widen(frame):
    daily = (
        frame.filter((pl.col("interval") == "1d") & (pl.col("venue") == "all"))
        .group_by("day")
        .agg(pl.col("liquidity").mean())
        .sort("day")["liquidity"]
        .to_list()
    )
    assert max(daily[2:]) < min(daily[:2]) - 10


def test_realised_costs_rise_with_the_stress(run):
    costs = realised_costs(run).filter(pl.col("venue") == "all")
    by_day = costs.group_by("day").agg(pl.col("cost_bp").median()).sort("day")["cost_bp"]
    assert min(by_day[2:]) > 2 * max(by_day[:2])


def test_validation_in_reduced_form(run):
    figures = validate(run)
    assert figures["pairs"] == 20 * 3  # days 0-2 against days 1-3
    assert figures["spearman"] < -0.3  # -0.67 when written
    assert figures["meets_goal"] == (figures["spearman"] <= -0.5)
    assert set(figures["spearman_by_venue"]) == {"NSE", "BSE"}
    assert all(math.isfinite(v) for v in figures["spearman_by_venue"].values())
    lead = figures["lead"]
    assert (lead["first_shock_day"], lead["stress_day"], lead["fall_day"]) == (2, 2, 2)
    assert lead["lead_days"] == 0 and lead["falls_ahead"] is False
    assert lead["realised_stress_day"] == 2


def test_repayment_support_falls_with_credit_quality(frame):
    by_grade = dict(
        frame.filter(pl.col("interval") == "1d")
        .group_by("grade")
        .agg(pl.col("repayment").mean())
        .iter_rows()
    )
    assert by_grade["AAA"] > by_grade["AA"] > by_grade["A"] > by_grade["BBB"]


def test_a_one_day_run_has_a_pulse_without_stabilities():
    # One day: no spread or depth history to measure stability over, but every index.
    one_day = sim.run(sim.load_scenario("baseline", ["calendar.days=1", "universe.count=3"]),
                      seed=1, out=None)  # fmt: skip
    frame = sim.pulse.pulse(one_day)
    assert frame.height > 0 and frame["score"].is_not_null().all()
    assert frame["day"].unique().to_list() == [0]
