"""The gate's commands against a real embedded MLflow store: gate (pass, fail, approval
required), approve, rollback and gate-history, and a mistake as one line with status 2."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from sim.cli import app
from tests.helpers.scenarios import small_scenario

HOLD = "strategies.buy_and_hold:BuyAndHold"


def policy(folder, scenario, min_sharpe: float):
    path = folder / f"gate-{min_sharpe}.toml"
    path.write_text(
        f'[suite]\nscenarios = ["{scenario}"]\nseeds = [1]\n'
        f"[thresholds]\nmin_sharpe = {min_sharpe}\nmax_drawdown = 0.5\n"
    )
    return str(path)


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    """Version 1 passes, 2 fails, 3 passes and waits for approval, which alice gives; then a
    rollback: the outputs of every command, in order."""
    folder = tmp_path_factory.mktemp("gate-cli")
    scenario = small_scenario(folder, days=2)
    store = ["--tracking-uri", f"sqlite:///{folder}/mlflow.db"]
    passing, failing = policy(folder, scenario, -100), policy(folder, scenario, 100)

    def bondlab(*args):
        return CliRunner().invoke(app, [*args, *store])

    return {
        "v1": bondlab("gate", HOLD, "--name", "alpha", "--policy", passing),
        "v2": bondlab("gate", HOLD, "--name", "alpha", "--policy", failing),
        "v3": bondlab("gate", HOLD, "--name", "alpha", "--policy", passing, "--require-approval"),
        "approve": bondlab("approve", "alpha", "3", "--by", "alice"),
        "rollback": bondlab("rollback", "alpha", "--by", "ops"),
        "history": bondlab("gate-history", "alpha"),
        "before": bondlab("gate-history", "alpha", "--at", "2000-01-01T00:00"),
        "bondlab": bondlab,
    }


def test_a_passing_version_becomes_production_and_a_failing_one_exits_1(story):
    assert story["v1"].exit_code == 0, story["v1"].output
    assert "alpha version 1: every check passed (now production)" in story["v1"].output
    assert story["v2"].exit_code == 1
    assert (
        "alpha version 2: sharpe" in story["v2"].output and "no alias moved" in story["v2"].output
    )


def test_approval_then_rollback(story):
    assert "(now candidate)" in story["v3"].output
    assert story["approve"].exit_code == 0
    assert "alpha version 3: production, approved by alice" in story["approve"].output
    assert story["rollback"].exit_code == 0
    assert "alpha: production is version 1 again" in story["rollback"].output


def test_the_history_shows_every_decision_and_answers_when(story):
    output = story["history"].output
    assert story["history"].exit_code == 0
    for kind in ("decision", "approval", "rollback"):
        assert kind in output
    assert "production was version None" in story["before"].output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["approve", "alpha", "99", "--by", "x"], "99"),
        (["approve", "alpha", "2", "--by", "x"], "candidate"),
        (["gate-history", "nosuch"], "'nosuch'"),
        (["gate-history", "alpha", "--at", "yesterday"], "--at 'yesterday': expected an ISO time"),
        (
            ["gate", HOLD, "--name", "alpha", "--policy", "missing.toml"],
            "missing.toml: no such file",
        ),
    ],
)
def test_a_mistake_is_one_line_and_status_2(story, args, message):
    done = story["bondlab"](*args)
    assert done.exit_code == 2, done.output
    assert message in done.output and "Traceback" not in done.output
