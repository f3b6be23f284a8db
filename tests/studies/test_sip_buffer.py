"""The SIP buffer study: its computations against independent references (the crossing and its
bootstrap interval on synthetic seeds with a known answer, Sobol indices on the Ishigami
function against their closed form), the SIP metrics it added (hand-built cases), its two
conditions against covid_2020's file, the command's bad input, and a tiny study end to end."""

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from agents.sip import KIND, SipCohort, book_exit_shortfall_bp
from sim.cli import app
from sim.engine.kernel import Simulation
from sim.market.messages import Response, Trade
from sim.market.orders import Reason, Side, Status
from sim.scenario.model import load_scenario
from sim.scenario.registry import agent_kinds, register
from sim.studies.sip_buffer import conditions, crossing, sobol, study, table
from sim.studies.sweep import SweepError

if "sip" not in agent_kinds():
    register(KIND)

SHARES = np.round(np.arange(0, 0.501, 0.05), 2)
DEMO = Path(__file__).resolve().parents[2] / "scenarios" / "sip_demo.toml"


def ramp(shares, full_at=0.25):
    """Absorption rising linearly to 1 at `full_at`, flat after: it crosses t at t * full_at."""
    return np.minimum(1.0, np.asarray(shares) / full_at)


# --- the crossing --------------------------------------------------------------------------


def test_the_crossing_of_a_known_curve():
    curve = ramp(SHARES)
    assert crossing.smallest_share(SHARES, curve, 0.8) == pytest.approx(0.2)
    assert crossing.smallest_share(SHARES, curve, 1.0) == pytest.approx(0.25)
    assert crossing.smallest_share(SHARES, curve, 0.0) == 0.0  # reached at the first share
    assert crossing.smallest_share(SHARES, curve * 0.7, 0.8) == math.inf  # never on the grid


def test_the_first_crossing_counts_and_missing_points_never_reach():
    shares = np.array([0.0, 0.1, 0.2, 0.3])
    assert crossing.smallest_share(shares, np.array([0.0, 0.9, 0.7, 0.95]), 0.8) == (
        pytest.approx(0.1 * 0.8 / 0.9)
    )
    # A missing mean is not "reached"; after one, the share where it is reached stands.
    assert crossing.smallest_share(shares, np.array([0.0, np.nan, 0.9, 1.0]), 0.8) == 0.2


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.001, 1.0), min_size=2, max_size=12), st.floats(0.01, 0.99))
def test_on_increasing_curves_it_is_numpys_inverse_interpolation(steps, fraction):
    curve = np.cumsum(steps)
    curve = curve / curve[-1]  # strictly increasing, ending at 1
    shares = np.linspace(0, 0.5, curve.size)
    target = curve[0] + fraction * (curve[-1] - curve[0])
    expected = np.interp(target, curve, shares)
    assert crossing.smallest_share(shares, curve, target) == pytest.approx(expected, abs=1e-12)


def test_the_bootstrap_interval_matches_the_crossings_sampling_distribution():
    # Each seed's curve is the ramp shifted by its own offset e (the same at every share, as
    # a seed's market is): the mean curve crosses 0.8 at 0.25 (0.8 - mean e) exactly, whose
    # standard error is 0.25 sd(e) / sqrt(n).
    rng = np.random.default_rng(5)
    n = 400
    offsets = rng.normal(0, 0.1, n)
    values = ramp(SHARES)[None, :] + offsets[:, None]
    found = crossing.crossing(SHARES, values, 0.8, resamples=4000, seed=1)
    assert found.estimate == pytest.approx(0.25 * (0.8 - offsets.mean()), abs=1e-12)
    half = 1.96 * 0.25 * offsets.std(ddof=1) / math.sqrt(n)
    assert (found.high - found.low) / 2 == pytest.approx(half, rel=0.15)
    assert found.low < found.estimate < found.high and found.reached == 1.0


def test_an_interval_says_when_resamples_never_reach_the_target():
    values = np.vstack([ramp(SHARES, 0.45), ramp(SHARES, 0.45) * 0.85, ramp(SHARES, 0.45) * 0.7])
    found = crossing.crossing(SHARES, values, 0.8, resamples=500)
    assert math.isfinite(found.estimate) and found.high == math.inf and 0 < found.reached < 1
    assert found.to_dict()["ci_high"] is None
    same = crossing.crossing(SHARES, np.vstack([ramp(SHARES)] * 3), 0.8, resamples=50)
    assert same.low == same.estimate == same.high == pytest.approx(0.2)


def test_bad_inputs_to_the_crossing_raise():
    with pytest.raises(ValueError, match="increasing"):
        crossing.crossing(SHARES[::-1], np.ones((2, SHARES.size)), 0.8)
    with pytest.raises(ValueError, match="seeds x 11 shares"):
        crossing.crossing(SHARES, np.ones(SHARES.size), 0.8)


# --- Sobol indices ---------------------------------------------------------------------------

ISHIGAMI = [sobol.Factor(f"x{i}", -math.pi, math.pi, f"x{i}") for i in (1, 2, 3)]


def test_the_ishigami_closed_form_is_the_documented_one():
    # SALib's documentation and Saltelli et al. (2008): S1 0.3139, 0.4424, 0; ST 0.5576,
    # 0.4424, 0.2437 for a = 7, b = 0.1.
    first, total = sobol.ishigami_indices()
    assert first == pytest.approx([0.3139, 0.4424, 0.0], abs=1e-4)
    assert total == pytest.approx([0.5576, 0.4424, 0.2437], abs=1e-4)


def test_sobol_indices_of_the_ishigami_function_by_the_studys_code_path():
    rows = sobol.design(2048, ISHIGAMI, seed=3)
    assert rows.shape == (2048 * (3 + 2), 3)
    indices = sobol.analyze(sobol.ishigami(rows), ISHIGAMI, resamples=200).sort("factor")
    first, total = sobol.ishigami_indices()
    assert indices["S1"].to_numpy() == pytest.approx(first, abs=0.04)
    assert indices["ST"].to_numpy() == pytest.approx(total, abs=0.04)
    assert (indices["S1_conf"] > 0).all() and (indices["ST_conf"] < 0.1).all()
    ranked = sobol.analyze(sobol.ishigami(rows), ISHIGAMI, resamples=50)
    assert ranked["factor"].to_list() == ["x1", "x2", "x3"] and ranked["rank"].to_list() == [
        1,
        2,
        3,
    ]


def test_the_sobol_design_as_sweep_points():
    rows = sobol.design(4)
    points = sobol.points(rows)
    assert len(points) == 4 * (len(sobol.FACTORS) + 2)
    assert all(isinstance(p["sip.investors"], int) for p in points)
    assert all(0 <= p["sip.buffer_fraction"] <= 0.5 for p in points)
    with pytest.raises(ValueError, match="power of 2"):
        sobol.design(12)
    with pytest.raises(ValueError, match="finite"):
        sobol.analyze(np.full(len(points), np.nan))


def test_a_sobol_sweep_whose_every_run_failed_is_one_error_naming_the_first():
    # No run succeeded, so the rows have no metric columns at all.
    rows = pl.DataFrame({"point": [0, 1], "status": ["error", "error"],
                         "error": ["RuntimeError: boom", "RuntimeError: boom"]})  # fmt: skip
    plan = study.plan_study(quick=True)
    with pytest.raises(
        study.StudyError, match=r"^sobol: no run .* \(2 failed: RuntimeError: boom\)"
    ):
        study._sobol(plan, rows)


# --- the SIP metrics the study reads --------------------------------------------------------


@pytest.fixture
def one_bond_cohort():
    """A built (not run) cohort of 2 investors in one bond, who exit with 30 and 10 units."""
    symbol = load_scenario(DEMO).instruments[0].symbol
    sim = Simulation(load_scenario(DEMO, overrides=["sip.investors=2", f"sip.bonds=['{symbol}']"]))
    info = sim.information
    info.publish(0, sim.now, info.fair_value_rows(0, sim.now))  # valued as at the first open
    (cohort,) = sim.populations["sip"]
    cohort.units[:] = [30, 10]
    cohort.exit_day[:] = 0
    cohort.exit_requested[:] = [30, 10]
    return sim, cohort, symbol


def sell_fill(cohort, symbol, price, qty):
    """A fill of the cohort's sell: 10 paise a tick, 795 paise of accrued interest a unit
    (which is not price: the shortfall is measured on the clean price)."""
    notional = price * 10 * qty
    return Trade(0, "NSE", symbol, price, qty, 1, 2, 99, cohort.account, Side.SELL, notional,
                 0, 1, 0, accrued=795 * qty)  # fmt: skip


def test_book_exits_price_impact_is_their_volume_weighted_shortfall(one_bond_cohort):
    _, cohort, symbol = one_bond_cohort
    assert book_exit_shortfall_bp(cohort.report()) is None  # nothing sold on the book yet
    # The exit sell went out when the fair value was 10,000 ticks (10 paise each); it fills
    # 3 units at 9,900 and 1 at 9,850: (3 x 100 + 1 x 150) / (4 x 10,000) = 112.5 bp.
    cohort._exit_fair[symbol] = 10_000 * 10
    cohort._in_flight[symbol, -1] = (np.array([0, 1]), np.array([30, 10]))
    trades = (sell_fill(cohort, symbol, 9_900, 3), sell_fill(cohort, symbol, 9_850, 1))
    response = Response(symbol, 7, Status.FILLED, Reason.NONE, 4, trades)
    cohort.on_response(("new", "NSE", symbol, -1, 40, 9_800), response)
    report = cohort.report()
    assert report["exit_book_value_at_fair_paise"] == 4 * 100_000
    assert report["exit_book_notional_paise"] == 3 * 99_000 + 98_500
    assert book_exit_shortfall_bp(report) == pytest.approx(112.5)
    assert cohort.exit_sold.tolist() == [3, 1]
    # The population's figure pools its cohorts' sums (here one).
    pooled = SipCohort.population_metrics([cohort])["sip"]
    assert book_exit_shortfall_bp(pooled) == pytest.approx(112.5)


def test_idle_cash_is_summed_over_the_closes(one_bond_cohort):
    sim, cohort, _ = one_bond_cohort
    cohort.on_session_close(0)  # no capital yet: nothing idle
    sim.ledger.deposit(cohort.pool.account, 1_000_000)
    cohort.pool_capital = 1_000_000
    cohort.on_session_close(0)
    cohort.on_session_close(1)
    assert cohort.report()["pool_idle_cash_paise_days"] == 2_000_000


def test_the_table_turns_idle_cash_into_carry_forgone():
    rows = pl.DataFrame(
        {
            "point": [0, 0],
            "sip.buffer_fraction": [0.2, 0.2],
            "seed": [1, 2],
            "status": ["ok", "ok"],
            "error": [None, None],
            "wall_seconds": [1.0, 1.0],
            "summary.trading_days": [50.0, 50.0],
            "sip.pool_idle_cash_paise_days": [50 * 1_000_000.0, 50 * 3_000_000.0],
            "sip.exit_units_requested": [10.0, 0.0],
            "sip.exit_units_sold": [4.0, 0.0],
            "sip.absorption_rate_value": [0.6, None],
            "sip.absorption_rate_units": [0.6, None],
            "sip.exit_book_value_at_fair_paise": [1_000_000.0, 0.0],
            "sip.exit_book_notional_paise": [998_000.0, 0.0],
            "sip.contributions_paise": [1e8, 1e8],
            "sip.buffer_utilisation": [0.1, 0.0],
            "sip.exits": [2.0, 0.0],
        }
    )
    runs = table.outcomes(rows, carry_rate=0.0756)
    # 10,000 rupees idle for 50 days at 7.56% a year: 10,000 x 0.0756 x 50 / 252 = 150 rupees,
    # 1.5 bp of the 1,000,000 rupees of inflows.
    assert runs["idle_buffer_rupees"].to_list() == pytest.approx([10_000, 30_000])
    assert runs["carry_forgone_rupees"].to_list() == pytest.approx([150, 450])
    assert runs["carry_forgone_bp"].to_list() == pytest.approx([1.5, 4.5])
    assert runs["book_share"].to_list() == [0.4, None]
    assert runs["book_shortfall_bp"].to_list() == [pytest.approx(20.0), None]
    summary = table.table({"baseline": runs})
    assert summary.row(0, named=True)["carry_forgone_rupees_mean"] == pytest.approx(300)
    assert summary.row(0, named=True)["n"] == 1  # one run had no exits: no absorption rate


# --- the two conditions ---------------------------------------------------------------------


def test_the_stress_condition_is_covid_2020s_shocks():
    calm, stress = conditions.conditions()
    assert calm.overrides == ()
    stressed = load_scenario(conditions.STUDY_SCENARIO, stress.overrides)
    reference = load_scenario(conditions.REFERENCE_SCENARIO)
    theirs = [s.model_dump() for s in reference.shocks if s.kind != "repo_haircut"]
    assert [s.model_dump() for s in stressed.shocks] == theirs
    # ... and the calm one is the same shocks at sizes that do nothing.
    assert load_scenario(conditions.STUDY_SCENARIO).shocks != stressed.shocks
    assert "shocks.5.hazard_multiplier=20.0" in stress.overrides


def test_a_study_shock_out_of_step_with_the_reference_is_refused():
    study = load_scenario(conditions.STUDY_SCENARIO, ["shocks.5.day=15"])
    with pytest.raises(SweepError, match=r"shocks\[5\] \(redemption_wave on day 15\) has no"):
        conditions.stress_overrides(study, load_scenario(conditions.REFERENCE_SCENARIO))
    study = load_scenario(conditions.STUDY_SCENARIO, ["shocks.7.path.half_life_days=3"])
    with pytest.raises(SweepError, match=r"shocks\[7\]\.path differs from covid_2020's"):
        conditions.stress_overrides(study, load_scenario(conditions.REFERENCE_SCENARIO))


# --- the command ----------------------------------------------------------------------------

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "1.5"], "--target 1.5: expected a share of exits in (0, 1], e.g. 0.8\n"),
        (["--seeds", "1"], "--seeds 1: expected at least 2 seeds (the CI is over seeds)\n"),
        (["--sobol", "12"], "--sobol 12: expected a power of 2 (>= 2), or 0 to skip\n"),
        (["--shares", "0:0.5:0"], "--shares 0:0.5:0: the step is 0\n"),
        (["--shares", "0,1.5"], "--shares 1.5: sip.buffer_fraction: must be <= 1 (got 1.5)\n"),
        (
            ["--carry-rate", "-0.1"],
            "--carry-rate -0.1: expected a yearly rate in [0, 1), e.g. 0.08\n",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path):
    # --quick: were the input taken, a tiny study would run (and the test fail), not the full one
    result = runner.invoke(
        app, ["study", "sip-buffer", "--quick", *args, "--out", str(tmp_path / "s")]
    )
    assert result.exit_code == 2, result.output
    assert result.stderr == message or result.stderr.endswith(message)
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "s").exists()  # refused before anything ran


def test_a_tiny_study_end_to_end(tmp_path):
    out = tmp_path / "study"
    result = runner.invoke(app, ["study", "sip-buffer", "--quick", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    for name in (
        "table.csv",
        "table.md",
        "crossing.csv",
        "sip_buffer.png",
        "sobol.csv",
        "sobol.png",
        "study.json",
    ):
        assert (out / name).stat().st_size > 0, name
    summary = pl.read_csv(out / "table.csv")
    assert summary.select("condition", "buffer_share").rows() == [
        ("baseline", 0.0),
        ("baseline", 0.5),
        ("covid_2020", 0.0),
        ("covid_2020", 0.5),
    ]
    assert summary["n"].to_list() == [2, 2, 2, 2]
    assert summary["absorption_value_mean"].to_list()[0] == 0.0  # no buffer, nothing absorbed
    assert (summary["absorption_value_mean"] <= 1).all()
    assert pl.read_csv(out / "crossing.csv").height == 4
    assert pl.read_csv(out / "sobol.csv").height == len(sobol.FACTORS)
    assert (out / "table.md").read_text().startswith("| condition | buffer share |")
    assert str(out) in result.stdout
