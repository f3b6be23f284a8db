"""`bondlab calibrate`: a stress file's targets measured over seeds from the runs' own records,
set beside history; the figures checked by hand on a small scenario, the command end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import sim
from sim.analytics.stress import stress_outcomes
from sim.cli import app
from sim.scenario import load_scenario
from sim.studies import calibration as study

# Eight days: a quiet week, then on day 5 the rupee falls 20% in one step and the A bond's
# spread widens 150 bp (both inputs), while the makers withdraw and retail panics.
SCENARIO = """
[run]
name = "small_stress"
seed = 4

[calendar]
start = 2024-01-01
days = 8
open = "09:15"
close = "10:15"

[[instruments]]
symbol = "AAA-2029"
issuer = "Issuer A"
sector = "PSU"
rating = "AAA"
coupon = 0.075
issue = 2022-06-01
maturity = 2029-06-01
frequency = 2
day_count = "ACT/365F"
reference_price = "100.00"

[[instruments]]
symbol = "A-2028"
issuer = "Issuer B"
sector = "NBFC"
rating = "A"
coupon = 0.09
issue = 2023-03-01
maturity = 2028-03-01
frequency = 2
day_count = "ACT/365F"
reference_price = "100.00"

[[venues]]
name = "NSE"
settlement_lag_days = 1

[fundamentals]
kind = "bond"
level_vol_bp_per_day = 0
slope_vol_bp_per_day = 0
spread_vol_bp_per_day = 0
downgrade_prob_per_year = 0

[recording]
book_interval_seconds = 300

[retail]
count = 60
arrivals_per_day = 4
cash_rupees = 200_000
units = 20

[market_maker]
count = 2
quote_size = 20
units = 500
cash_rupees = 5_000_000
requote_seconds = 60

[[shocks]]
kind = "fx"
day = 5
size_pct = 20

[[shocks]]
kind = "spread"
day = 5
size_bp = 150
ratings = ["A"]

[[shocks]]
kind = "liquidity_withdrawal"
day = 5
fraction = 0.5

[[shocks]]
kind = "panic"
day = 5
intensity = 0.5

[calibration]
seeds = 2
free = { "shocks.3.intensity" = [0.1, 0.9] }

[[calibration.targets]]
metric = "fx_move_pct_USDINR"
historical = 20
tolerance = 0.01
kind = "input"
source = "the shock itself"

[[calibration.targets]]
metric = "credit_spread_move_bp_A"
historical = 150
tolerance = 1
kind = "input"
source = "the shock itself"

[[calibration.targets]]
metric = "spread_multiple"
historical = 1.5
tolerance = 1000
kind = "emergent"
source = "anything this wide is met"

[[calibration.targets]]
metric = "volume_multiple"
historical = 1000
tolerance = 1
kind = "emergent"
source = "no run trades a thousand times its usual volume"

[[calibration.targets]]
metric = "turnover_multiple"
historical = 1
tolerance = 1000
kind = "emergent"
source = "the day after the shock alone, against the week before"
shock_day = 6
days = 1
"""


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("calibration") / "small_stress.toml"
    path.write_text(SCENARIO)
    return path


@pytest.fixture(scope="module")
def calibrated(scenario_file):
    return study.calibrate(load_scenario(scenario_file))


def test_each_target_is_measured_on_every_seed_from_the_runs_records(calibrated):
    assert calibrated.seeds == (4, 5)  # calibration.seeds seeds from the run's seed
    by_metric = {r.target.metric: r for r in calibrated.results}
    fx = by_metric["fx_move_pct_USDINR"]
    assert fx.values == pytest.approx((20.0, 20.0)) and fx.met
    # The fair spread of the A bond moves by the shock, less the rating table's roll-down as
    # the bond ages a few days: nothing else moves it here.
    spread = by_metric["credit_spread_move_bp_A"]
    assert spread.values == pytest.approx((150.0, 150.0), abs=0.05) and spread.met
    assert by_metric["spread_multiple"].met and not by_metric["volume_multiple"].met
    assert not calibrated.met and [r.target.metric for r in calibrated.missed()] == [
        "volume_multiple"
    ]


def test_a_target_is_measured_over_its_own_window(scenario_file, calibrated):
    by_metric = {r.target.metric: r for r in calibrated.results}
    run = sim.run(load_scenario(scenario_file), seed=4, out=None)
    day_6 = stress_outcomes(run, shock_day=6, days=1)["turnover_multiple"]
    whole = stress_outcomes(run)["turnover_multiple"]
    assert by_metric["turnover_multiple"].values[0] == pytest.approx(day_6)
    assert day_6 != pytest.approx(whole)  # a window of its own, not the default one


def test_the_mean_and_range_are_over_the_seeds_measured():
    target = study.Target(
        metric="drawdown_pct", historical=10, tolerance=2, kind="emergent", source="s"
    )
    result = study.TargetResult(target, (9.0, None, 13.0))
    assert result.mean == 11.0 and result.met
    assert result.to_dict()["low"] == 9.0 and result.to_dict()["high"] == 13.0
    assert not study.TargetResult(target, (None, None)).met


def test_the_command_prints_writes_and_fails_on_a_missed_target(scenario_file, tmp_path):
    out = tmp_path / "cal"
    done = CliRunner().invoke(app, ["calibrate", str(scenario_file), "--out", str(out)])
    assert done.exit_code == 1, done.output  # volume_multiple is missed
    assert "volume_multiple" in done.output and "NO" in done.output
    written = json.loads((out / "calibration.json").read_text())
    assert written["met"] is False and written["seeds"] == [4, 5]
    assert (out / "calibration.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    drop = ["--set", "calibration.targets.3.tolerance=2000", "--seeds", "1"]
    done = CliRunner().invoke(app, ["calibrate", str(scenario_file), "--out", str(out), *drop])
    assert done.exit_code == 0, done.output
    assert json.loads((out / "calibration.json").read_text())["met"] is True


def test_the_command_keeps_the_runs_when_asked(scenario_file, tmp_path):
    out = tmp_path / "cal"
    args = ["calibrate", str(scenario_file), "--out", str(out), "--seeds", "1", "--keep-runs"]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 1, done.output  # volume_multiple is missed, as ever
    (kept,) = json.loads((out / "calibration.json").read_text())["runs"]
    assert Path(kept).parent == out / "runs"
    assert sim.Result.load(kept).manifest["seed"] == 4
    both = CliRunner().invoke(app, [*args, "--fit"])
    assert both.exit_code == 2 and "--keep-runs keeps a calibration's runs" in both.output


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ['calibration.targets.2.metric="spread_multiplier"'],
            "calibration.targets[2].metric: unknown metric 'spread_multiplier' "
            "(did you mean spread_multiple?)",
        ),
        (
            ['calibration.targets.2.kind="input"', 'calibration.targets.4.kind="input"'],
            "needs at least two emergent targets",
        ),
        (
            ['calibration.free={ "shocks.1.size_bp" = [0, 300] }'],
            "shocks.1.size_bp: is a field of a 'spread' shock, an input: --fit never moves one",
        ),
        (['calibration.free={ "shocks.3.intensity" = [0.9, 0.1] }'], "needs low < high"),
        (
            ["calibration.targets.4.shock_day=8"],
            "calibration.targets[4].shock_day: must be < calendar.days (8) (got 8)",
        ),
    ],
)
def test_bad_calibration_tables_get_one_clear_line(scenario_file, tmp_path, overrides, message):
    sets = [x for o in overrides for x in ("--set", o)]
    done = CliRunner().invoke(app, ["calibrate", str(scenario_file), *sets])
    assert done.exit_code == 2
    assert message in done.output and "Traceback" not in done.output
    assert not (tmp_path / "results").exists()


def test_a_file_without_calibration_is_refused(tmp_path):
    path = tmp_path / "plain.toml"
    path.write_text(SCENARIO.split("[calibration]")[0])
    done = CliRunner().invoke(app, ["calibrate", str(path)])
    assert done.exit_code == 2 and "has no [calibration] table" in done.output


def test_fit_searches_only_the_free_parameters_and_reports_the_best(scenario_file, tmp_path):
    found = study.fit(scenario_file, seeds=(4,), trials=3, sampler_seed=1)
    (key,) = found.params
    assert key == "shocks.3.intensity" and 0.1 <= found.params[key] <= 0.9
    assert found.loss == study.loss(found.calibration)
    again = study.fit(scenario_file, seeds=(4,), trials=3, sampler_seed=1)
    assert again.params == found.params and again.loss == found.loss  # seeded
    # The inputs are measured as imposed whatever the panic: the fit never touches them.
    fx = next(r for r in found.calibration.results if r.target.kind == "input")
    assert fx.values == pytest.approx((20.0,))


def test_the_command_fits_and_writes_the_fit(scenario_file, tmp_path):
    out = tmp_path / "fit"
    args = ["calibrate", str(scenario_file), "--fit", "--trials", "2", "--seeds", "1"]
    done = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert done.exit_code == 1, done.output  # volume_multiple stays out of reach
    assert "fitted (2 trials" in done.output and "--set shocks.3.intensity=" in done.output
    fitted = json.loads((out / "fit.json").read_text())
    assert set(fitted["params"]) == {"shocks.3.intensity"} and fitted["trials"] == 2
    assert fitted["calibration"] == json.loads((out / "calibration.json").read_text())


def test_the_metrics_a_target_may_name_are_what_a_run_measures(scenario_file):
    measured = study.measure(sim.run(load_scenario(scenario_file), out=None))
    window = {"shock_day", "reference_days"}  # the window itself, not an outcome
    assert set(study.METRICS) == set(measured) - window - {"fx_move_pct_USDINR"}


def test_the_figure_draws_a_mean_that_rounds_outside_its_range(tmp_path):
    # Three equal seeds: their float mean, 0.1 + 0.1 + 0.1 over 3, lies just above 0.1.
    target = study.Target(
        metric="drawdown_pct", historical=0.1, tolerance=1, kind="emergent", source="s"
    )
    result = study.TargetResult(target, (0.1, 0.1, 0.1))
    assert result.mean > max(result.measured)
    calibration = study.Calibration("equal", "hash", (1, 2, 3), (result,))
    written = study.write_calibration(calibration, tmp_path)
    assert (written / "calibration.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("window", "label"),
    [
        ({}, "turnover_multiple"),
        ({"shock_day": 11, "days": 43}, "turnover_multiple, days 11-53"),
        ({"shock_day": 11}, "turnover_multiple, from day 11"),
        ({"days": 5}, "turnover_multiple, 5 days from the first shock's day"),
    ],
)
def test_a_target_is_labelled_with_its_window(window, label):
    target = study.Target(
        metric="turnover_multiple", historical=1, tolerance=1, kind="emergent", source="s",
        **window,
    )  # fmt: skip
    assert target.label == label
    assert study.TargetResult(target, (1.0,)).to_dict()["label"] == label
