"""`bondlab live` against real components: a gated strategy from a real MLflow store in a
temporary folder, trading through the adapter at a real `bondlab serve` (uvicorn, on a free
loopback port) for a few seconds, reconciled with the service; refusal of an ungated version,
of a moved alias and of a tampered artifact.

The store's story, once for the module: version 1 of ``bh`` (buy and hold) passes a lenient
gate and becomes production; version 2 fails (its Sharpe bound is out of reach)."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.gate.deployment import deployable_version, parse_model_uri
from sim.gate.policy import GatePolicy, Suite, Thresholds
from sim.gate.registry import GateError, gate
from sim.live.runner import run_live
from tests.helpers.scenarios import small_scenario
from tests.service.conftest import KEYS, start_live

NAME = "bh"
BUY_AND_HOLD = "strategies.buy_and_hold:BuyAndHold"
PARAMS = {"invest": 0.3, "delay_seconds": 20.0}  # buys 20 s in: under a second at the server's pace


def policy(scenario, **limits) -> GatePolicy:
    lenient = {"min_sharpe": -100.0, "max_drawdown": 1.0, "stress_max_drawdown": 1.0,
               "beat_champion_by": -100.0}  # fmt: skip
    suite = Suite(scenarios=(str(scenario),), seeds=(1,))
    return GatePolicy(suite=suite, thresholds=Thresholds(**{**lenient, **limits}))


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("store")
    scenario = small_scenario(folder, days=2)
    uri = f"sqlite:///{folder}/mlflow.db"
    passed = gate(BUY_AND_HOLD, PARAMS, NAME, policy(scenario), tracking_uri=uri)
    failed = gate(BUY_AND_HOLD, PARAMS, NAME, policy(scenario, min_sharpe=100.0), tracking_uri=uri)
    assert (passed.version, passed.alias, failed.version, failed.alias) == (
        1,
        "production",
        2,
        None,
    )
    return uri


@pytest.fixture(scope="module")
def server(tmp_path_factory, accounts):
    live = None
    try:
        live = start_live(tmp_path_factory.mktemp("server"), accounts)
        yield live
    finally:
        if live is not None:
            live.stop()


def test_a_gated_strategy_trades_live_and_reconciles(store, server):
    summary = run_live(f"models:/{NAME}@production", server.url, KEYS["asha"], duration_s=4,
                       tracking_uri=store)  # fmt: skip
    assert (summary.name, summary.version, summary.strategy) == (NAME, 1, BUY_AND_HOLD)
    assert summary.reconciled, summary.mismatches
    assert summary.requests >= 1 and summary.fills >= 1 and summary.messages > 0
    bought = {b: q for b, q in summary.positions_at_end.items() if q}
    assert bought and summary.positions_at_start == {}
    assert summary.ended_at > summary.started_at
    assert summary.stopped_by == "duration"


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        (f"models:/{NAME}/2", "version 2 does not hold production"),
        (f"models:/{NAME}@candidate", "only the production alias trades live"),
        ("models:/nobody@production", "nobody"),
        ("runs:/abc/model", "is not models:/NAME@ALIAS"),
    ],
)
def test_a_version_the_gate_did_not_promote_is_refused(store, uri, says):
    with pytest.raises(GateError, match=says):
        deployable_version(uri, tracking_uri=store)


def test_the_command_refuses_in_one_line_with_status_2(store, server):
    command = ["live", "--model", f"models:/{NAME}/2", "--url", server.url,
               "--api-key", KEYS["asha"], "--tracking-uri", store]  # fmt: skip
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"models:/{NAME}/2: version 2 does not hold production (version 1 does)"
    ]


def test_an_alias_moved_outside_the_gate_is_refused(store):
    client = mlflow.MlflowClient(tracking_uri=store)
    client.set_registered_model_alias(NAME, "production", "2")
    try:
        with pytest.raises(GateError, match="moved outside the gate"):
            deployable_version(f"models:/{NAME}@production", tracking_uri=store)
    finally:
        client.set_registered_model_alias(NAME, "production", "1")


def test_a_tampered_artifact_is_refused(store):
    deployable = deployable_version(f"models:/{NAME}@production", tracking_uri=store)
    run = mlflow.MlflowClient(tracking_uri=store).get_run(deployable.decision["run_id"])
    folder = Path(run.info.artifact_uri.removeprefix("file://"))
    victim = next(p for p in sorted(folder.rglob("*.json")) if p.is_file())
    original = victim.read_bytes()
    victim.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    try:
        with pytest.raises(GateError, match=f"{victim.name} does not match its logged sha256"):
            deployable_version(f"models:/{NAME}@production", tracking_uri=store)
    finally:
        victim.write_bytes(original)
    assert deployable_version(f"models:/{NAME}@production", tracking_uri=store).version == 1


def test_model_uris_are_parsed():
    assert parse_model_uri("models:/a-b@production") == ("a-b", "production", None)
    assert parse_model_uri("models:/a/12") == ("a", None, 12)
