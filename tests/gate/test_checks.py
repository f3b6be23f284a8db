"""A version's backtest against the gate's thresholds, on backtests made by hand from daily
returns (the figures checked against empyrical-reloaded)."""

from __future__ import annotations

import math

import empyrical
import numpy as np
import polars as pl
import pytest

from sim.analytics import performance
from sim.gate.checks import evaluate
from sim.gate.policy import GatePolicy, Thresholds
from sim.studies.backtest import Backtest, BacktestRun


def backtest(returns_by_run: dict[tuple[str, int], list[float]], stress=()) -> Backtest:
    runs = []
    for (scenario, seed), returns in returns_by_run.items():
        figures = {**performance.summary(returns), "pnl_rupees": 0.0, "scored_days": len(returns)}
        daily = pl.DataFrame({"day": range(len(returns)), "return": returns,
                              "scored": [True] * len(returns)})  # fmt: skip
        runs.append(BacktestRun(scenario, seed, "id", None, scenario in stress, figures, daily))
    scenarios = tuple(dict.fromkeys(s for s, _ in returns_by_run))
    seeds = tuple(dict.fromkeys(seed for _, seed in returns_by_run))
    return Backtest("m:S", {}, scenarios, seeds, tuple(runs))


STEADY = [0.001, 0.002, 0.0015, 0.001, 0.0012]  # Sharpe about 37, no drawdown
CRASH = [0.001, -0.08, 0.001, 0.002, 0.001]  # an 8% fall


def policy(**limits) -> GatePolicy:
    return GatePolicy(thresholds=Thresholds(**limits))


def test_a_steady_strategy_passes_every_check():
    verdict = evaluate(
        backtest({("baseline", 1): STEADY, ("covid", 1): STEADY}, {"covid"}), policy()
    )
    assert verdict.passed and verdict.reason() == "every check passed"
    names = [check.name for check in verdict.checks]
    assert names == ["sharpe", "max_drawdown", "stress_drawdown:covid"]
    pooled = np.array(STEADY * 2)
    assert verdict.checks[0].value == pytest.approx(empyrical.sharpe_ratio(pooled))


def test_each_failed_check_is_named_with_its_figure_and_bound():
    tested = backtest({("baseline", 1): STEADY, ("covid", 1): CRASH}, {"covid"})
    verdict = evaluate(tested, policy(stress_max_drawdown=0.05))
    assert not verdict.passed
    failed = {check.name: check for check in verdict.failed()}
    assert set(failed) == {"sharpe", "max_drawdown", "stress_drawdown:covid"}
    assert failed["stress_drawdown:covid"].value == pytest.approx(0.08)
    pooled = np.array(STEADY + CRASH)
    assert failed["max_drawdown"].value == pytest.approx(-empyrical.max_drawdown(pooled))
    assert "stress_drawdown:covid 0.08 misses <= 0.05" in verdict.reason()


def test_a_challenger_must_beat_the_champion_on_the_same_seeds():
    champion = backtest({("baseline", 1): STEADY})
    weaker = backtest({("baseline", 1): [r * 0.5 + 0.0001 * (i % 2) for i, r in enumerate(STEADY)]})
    verdict = evaluate(weaker, policy(), champion)
    margin = empyrical.sharpe_ratio(np.array(weaker.pooled_returns())) - empyrical.sharpe_ratio(
        np.array(STEADY)
    )
    assert verdict.checks[-1].name == "beats_champion"
    assert verdict.checks[-1].value == pytest.approx(margin) and (margin < 0) == (
        not verdict.passed
    )
    assert evaluate(champion, policy(), champion).checks[-1].passed  # a tie at margin 0
    with pytest.raises(ValueError, match="same scenarios and seeds"):
        evaluate(backtest({("baseline", 2): STEADY}), policy(), champion)


def test_a_figure_that_cannot_be_measured_fails_its_check():
    verdict = evaluate(backtest({("baseline", 1): [0.0, 0.0, 0.0]}), policy())
    sharpe = verdict.checks[0]
    assert sharpe.value is None and not sharpe.passed
    assert math.isnan(performance.sharpe_ratio([0.0, 0.0, 0.0]))
