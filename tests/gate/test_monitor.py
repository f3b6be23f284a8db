"""Monitoring the production version against a real embedded store: re-scored on a recorded
run's stream (replayed) or on a scenario, within the rule it is left alone, degraded it is
rolled back, and every check is a record of the decision log."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.gate import registry
from sim.gate.decisions import DecisionLog
from sim.gate.monitor import monitor
from sim.gate.policy import GatePolicy, Monitoring, Suite, Thresholds
from tests.helpers.scenarios import small_scenario

HOLD = "strategies.buy_and_hold:BuyAndHold"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Two passing versions of "alpha" (production: version 2), a recorded run to replay."""
    folder = tmp_path_factory.mktemp("monitor")
    scenario = small_scenario(folder, days=2)
    uri = f"sqlite:///{folder}/mlflow.db"
    policy = GatePolicy(suite=Suite(scenarios=(str(scenario),), seeds=(1,)),
                        thresholds=Thresholds(min_sharpe=-100, max_drawdown=0.5))  # fmt: skip
    for _ in range(2):
        registry.gate(HOLD, {}, "alpha", policy, tracking_uri=uri)
    recorded = sim.run(sim.load_scenario(scenario), seed=7, out=folder / "runs")
    return uri, policy, recorded.path, scenario, folder


def rule(policy, **monitoring) -> GatePolicy:
    return policy.model_copy(update={"monitoring": Monitoring(**monitoring)})


def test_within_the_rule_nothing_moves_and_the_check_is_logged(store):
    uri, policy, _, scenario, folder = store
    outcome = monitor(
        "alpha", scenario, rule(policy, max_sharpe_drop=1e9, max_drawdown=0.5), tracking_uri=uri
    )  # a scenario: a backtest on the policy's seeds
    assert outcome.sharpe == pytest.approx(outcome.gate_sharpe)  # the gate's own runs
    assert (outcome.version, outcome.degraded, outcome.rolled_back_to) == (2, False, None)
    last = DecisionLog(folder).records()[-1]
    assert (last["kind"], last["degraded"], last["production"]) == ("monitor", False, 2)
    assert DecisionLog(folder).verify() is None


def test_a_degraded_version_is_rolled_back_and_both_are_logged(store):
    uri, policy, recorded, _, folder = store
    # Replayed through the recorded run, buy and hold pays the spread: a small drawdown.
    strict = rule(policy, max_sharpe_drop=1e9, max_drawdown=1e-6, auto_rollback=True)
    outcome = monitor("alpha", recorded, strict, tracking_uri=uri)
    assert outcome.degraded and outcome.rolled_back_to == 1
    assert "max_drawdown" in outcome.reasons[0]
    monitored, rolled = DecisionLog(folder).records()[-2:]
    assert (monitored["kind"], monitored["degraded"]) == ("monitor", True)
    assert (rolled["kind"], rolled["who"], rolled["production"]) == ("rollback", "monitor", 1)
    # Without automatic rollback it only raises the alert.
    quiet = rule(policy, max_sharpe_drop=1e9, max_drawdown=1e-6, auto_rollback=False)
    again = monitor("alpha", recorded, quiet, tracking_uri=uri)
    assert again.degraded and again.rolled_back_to is None and again.version == 1


def test_the_command_reports_and_exits_1_on_degradation(store, tmp_path):
    uri, _, recorded, scenario, _ = store
    strict = tmp_path / "strict.toml"
    strict.write_text(
        f'[suite]\nscenarios = ["{scenario}"]\nseeds = [1]\n'
        "[monitoring]\nmax_sharpe_drop = 1e9\nmax_drawdown = 1e-6\nauto_rollback = false\n"
    )
    args = ["monitor", "alpha", "--stream", str(recorded), "--policy", str(strict)]
    done = CliRunner().invoke(app, [*args, "--tracking-uri", uri])
    assert done.exit_code == 1 and "DEGRADED: max_drawdown" in done.output
    missing = CliRunner().invoke(app, ["monitor", "nosuch", "--stream", str(recorded),
                                       "--tracking-uri", uri])  # fmt: skip
    assert missing.exit_code == 2 and "'nosuch'" in missing.output
