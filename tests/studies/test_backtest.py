"""The backtesting harness: a strategy run in scenarios over seeds, scored from the runs' own
records against empyrical-reloaded, the same whatever the worker count, written out, and
its command line with one clear line for every mistake."""

from __future__ import annotations

import json

import empyrical
import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.studies.backtest import (
    BacktestError,
    backtest,
    read_params,
    seeds_from,
    write_backtest,
)
from tests.helpers.scenarios import small_scenario

HOLD = "strategies.buy_and_hold:BuyAndHold"


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory):
    return small_scenario(tmp_path_factory.mktemp("bt"), days=4)


@pytest.fixture(scope="module")
def tested(scenario_file, tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    return backtest(HOLD, {"invest": 0.5}, [str(scenario_file)], (1, 2), runs_out=runs)


def test_each_run_is_scored_from_its_own_records(tested):
    assert [(r.scenario, r.seed) for r in tested.runs] == [("small", 1), ("small", 2)]
    for run in tested.runs:
        result = sim.Result.load(run.path)
        (row,) = result.agents.filter(pl.col("population") == "strategy").rows(named=True)
        assert run.figures["pnl_rupees"] == row["pnl"] / 100
        assert run.figures["capital_rupees"] == row["capital"] / 100 == 1_000_000
        # Four closes, four daily returns compounding to the run's P&L over its capital.
        returns = run.daily["return"].to_numpy()
        assert len(returns) == 4
        assert np.prod(1 + returns) - 1 == pytest.approx(row["pnl"] / row["capital"], abs=1e-12)
        assert run.figures["total_return"] == pytest.approx(row["pnl"] / row["capital"])
        assert run.figures["sharpe_ratio"] == pytest.approx(empyrical.sharpe_ratio(returns))
        assert run.figures["max_drawdown"] == pytest.approx(empyrical.max_drawdown(returns))
        bought = result.trades.filter(pl.col("taker_agent") == row["agent"])
        assert run.figures["fills"] == bought.height > 0
        assert run.figures["final_inventory_units"] == bought["qty"].sum()
        assert run.manifest == result.manifest  # what reproduces the run, its file hashes too


def test_the_aggregate_is_the_pooled_daily_returns_by_empyricals_conventions(tested):
    pooled = np.concatenate([r.daily["return"].to_numpy() for r in tested.runs])
    assert np.array_equal(tested.pooled_returns(), pooled)
    aggregate = tested.aggregate()
    assert aggregate["runs"] == 2
    assert aggregate["sharpe_ratio"] == pytest.approx(empyrical.sharpe_ratio(pooled))
    assert aggregate["sortino_ratio"] == pytest.approx(empyrical.sortino_ratio(pooled))
    assert aggregate["annual_volatility"] == pytest.approx(empyrical.annual_volatility(pooled))
    mean_pnl = np.mean([r.figures["pnl_rupees"] for r in tested.runs])
    assert aggregate["mean_pnl_rupees"] == pytest.approx(mean_pnl)
    var = tested.var_table().filter(pl.col("method") == "historical")
    assert var["var"].to_list() == pytest.approx(
        [-empyrical.value_at_risk(pooled, cutoff=1 - c) for c in (0.95, 0.99)]
    )
    (scenario,) = tested.scenario_pnl().rows(named=True)
    assert scenario["runs"] == 2 and scenario["mean_pnl_rupees"] == pytest.approx(mean_pnl)
    assert scenario["stress"] is False


def test_two_workers_give_the_same_runs(scenario_file, tested):
    again = backtest(HOLD, {"invest": 0.5}, [str(scenario_file)], (1, 2), workers=2)
    assert again.per_run().drop("run_id").equals(tested.per_run().drop("run_id"))
    assert again.returns().equals(tested.returns())


def test_the_report_is_written(tested, tmp_path):
    out = write_backtest(tested, tmp_path / "report")
    report = json.loads((out / "backtest.json").read_text())
    assert report["strategy"] == HOLD and report["params"] == {"invest": 0.5, "delay_seconds": 300}
    assert [run["seed"] for run in report["runs"]] == [1, 2]
    assert pl.read_csv(out / "runs.csv").height == 2
    assert pl.read_parquet(out / "returns.parquet").height == 8
    assert pl.read_csv(out / "var.csv").height == 6
    assert (out / "tearsheet.png").read_bytes()[:4] == b"\x89PNG"
    titles = [ax.get_title() for ax in tested.tearsheet().axes]
    assert {"equity by run", "drawdown by run", "aggregate"} <= set(titles)


@pytest.mark.parametrize(
    ("text", "seeds"), [("0..3", (0, 1, 2, 3)), ("1,2,5", (1, 2, 5)), ("7", (7,))]
)
def test_seeds_are_ranges_lists_or_one(text, seeds):
    assert seeds_from(text) == seeds


def test_parameters_come_from_toml_or_json(tmp_path):
    (tmp_path / "p.toml").write_text("invest = 0.25\n")
    (tmp_path / "p.json").write_text('{"invest": 0.75}')
    assert read_params(tmp_path / "p.toml") == {"invest": 0.25}
    assert read_params(tmp_path / "p.json") == {"invest": 0.75}
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(BacktestError, match="expected a table of parameters, got list"):
        read_params(tmp_path / "list.json")


def test_the_command_backtests_and_reports(scenario_file, tmp_path):
    out = tmp_path / "cli"
    args = ["backtest", HOLD, "--scenarios", str(scenario_file), "--seeds", "3", "--out", str(out)]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    assert "sharpe_ratio" in done.output and str(out) in done.output
    assert json.loads((out / "backtest.json").read_text())["seeds"] == [3]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--seeds", "3..1"], "--seeds '3..1': expected distinct seeds >= 0"),
        (["--seeds", "a,b"], "--seeds 'a,b': expected 0..9, 1,2,5 or 7"),
        (["--params", "missing.toml"], "missing.toml: no such file"),
        (["--scenarios", "nosuch"], "nosuch: no such file or shipped scenario"),
        (["--set", "calendar.days=0"], "calendar.days"),
        (["--walk-forward", "5"], "--walk-forward '5': expected TRAIN,TEST days >= 1"),
        (["--walk-forward", "0,2"], "--walk-forward '0,2': expected TRAIN,TEST days >= 1"),
    ],
)
def test_a_bad_flag_is_one_line_and_status_2(scenario_file, tmp_path, extra, message):
    args = ["backtest", HOLD, "--scenarios", str(scenario_file), "--out", str(tmp_path / "o")]
    done = CliRunner().invoke(app, [*args, *extra])
    assert done.exit_code == 2 and message in done.output and "Traceback" not in done.output
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("strategy", "params", "message"),
    [
        ("nosuch.module:Thing", "", "strategy 'nosuch.module:Thing': no module named"),
        (f"{HOLD}x", "", "has no class 'BuyAndHoldx'"),
        (HOLD, "invest = 2\n", "BuyAndHold params: invest: Input should be less than or equal"),
        (HOLD, "budget = 2\n", "BuyAndHold params: budget: Extra inputs are not permitted"),
    ],
)
def test_a_bad_strategy_or_parameter_file_is_one_line(
    scenario_file, tmp_path, strategy, params, message
):
    file = tmp_path / "params.toml"
    file.write_text(params)
    args = ["backtest", strategy, "--params", str(file), "--scenarios", str(scenario_file)]
    done = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "o")])
    assert done.exit_code == 2 and message in done.output and "Traceback" not in done.output


class ShowsItsWindows:
    def on_start(self, ctx):
        ctx.log("windows", train=ctx.walk_forward.train_days, test=ctx.walk_forward.test_days)
        ctx.set_timer(300 * 10**9)

    def on_timer(self, ctx):
        if ctx.walk_forward.in_test(ctx.day) and not ctx.positions():
            ctx.submit("EXCH", "ABM", "buy", 10, None, "IOC")


def test_a_walk_forward_backtest_scores_its_test_windows_alone(scenario_file, tmp_path):
    ref = "tests.studies.test_backtest:ShowsItsWindows"
    runs = tmp_path / "runs"
    tested = backtest(ref, {}, [str(scenario_file)], (1, 2), walk_forward=(2, 1), runs_out=runs)
    assert "out-of-sample days only" in tested.scoring and tested.aggregate()["scored_days"] == 4
    assert len(tested.pooled_returns()) == 4  # days 2 and 3 of each run
    for run in tested.runs:
        daily = run.daily
        assert daily["scored"].to_list() == [False, False, True, True]
        pnl = daily["pnl"].to_list()
        assert run.figures["pnl_rupees"] == (pnl[3] - pnl[1]) / 100
        assert run.figures["total_return"] == pytest.approx(
            daily["equity"][3] / daily["equity"][1] - 1
        )
        log = sim.Result.load(run.path).strategy_log
        assert json.loads(log["details"][0]) == {"train": 2, "test": 1}
    assert json.loads(json.dumps(tested.to_dict()["walk_forward"])) == {
        "train_days": 2,
        "test_days": 1,
    }
    with pytest.raises(BacktestError, match=r"walk_forward \(0, 1\): walk-forward train_days"):
        backtest(ref, {}, [str(scenario_file)], (1,), walk_forward=(0, 1))


def test_a_strategy_may_be_given_as_its_class(scenario_file):
    from strategies.buy_and_hold import BuyAndHold

    tested = backtest(BuyAndHold, {"invest": 0.2}, [str(scenario_file)], (1,))
    assert tested.strategy == HOLD and tested.runs[0].figures["fills"] > 0
    BuyAndHold.__module__ = "__main__"  # as a notebook's class is
    try:
        with pytest.raises(BacktestError, match="defined in __main__, which worker processes"):
            backtest(BuyAndHold, {}, [str(scenario_file)], (1, 2), workers=2)
    finally:
        BuyAndHold.__module__ = "strategies.buy_and_hold"


class Explains:
    """Buys once with its reasons: two features' contributions."""

    def on_start(self, ctx):
        ctx.set_timer(300 * 10**9)
        self.done = False

    def on_timer(self, ctx):
        if not self.done:
            why = {"prediction": 0.5, "contributions": {"spread": -0.25, "gap": 0.75, "bias": 9}}
            ctx.submit("EXCH", "ABM", "buy", 5, None, "IOC", decision=why)
            ctx.submit("EXCH", "ABM", "buy", 5, None, "IOC", decision={"prediction": 0.1})
            self.done = True


def test_the_drivers_are_the_mean_absolute_contributions_of_its_decisions(scenario_file):
    ref = "tests.studies.test_backtest:Explains"
    tested = backtest(ref, {}, [str(scenario_file)], (1, 2))
    assert tested.drivers().rows() == [("gap", 0.75, 2), ("spread", 0.25, 2)]
    assert tested.to_dict()["drivers"][0] == {
        "feature": "gap", "mean_abs_contribution": 0.75, "decisions": 2
    }  # fmt: skip
    assert backtest(HOLD, {}, [str(scenario_file)], (1,)).drivers().is_empty()


def test_a_strategy_trades_a_recorded_lobster_day_without_the_background_agents(tmp_path):
    quiet = [f"{p}.count=0" for p in ("retail", "value", "momentum", "market_maker")]
    runs = tmp_path / "runs"
    tested = backtest(
        "strategies.mean_reversion:MeanReversion", {"interval_seconds": 60}, ["replay_rmsc04"],
        (1,), overrides=[*quiet, 'calendar.close="10:30"'], runs_out=runs,
    )  # fmt: skip
    result = sim.Result.load(tested.runs[0].path)
    kinds = dict(result.agents.select("agent", "kind").rows())
    assert set(kinds.values()) == {"strategy", "replay"}
    strategy = next(a for a, k in kinds.items() if k == "strategy")
    trades = result.trades.filter(pl.col("taker_agent") == strategy)
    assert trades.height == tested.runs[0].figures["fills"] > 0
    assert {kinds[a] for a in trades["maker_agent"]} == {"replay"}  # against recorded orders
