"""The gate against a real embedded MLflow store: pass, fail, champion/challenger, approval,
rollback, the pyfunc round trip by ``models:/NAME@production`` and the decision log.

One story runs once for the module (each gate is a real backtest of a small scenario over
seeds 1 and 2, and a real MLflow run and registration), and the tests read it:

    v1  passes                             -> production
    v2  misses min_sharpe 100              -> tagged, production stays v1
    v3  passes but must beat v1 by 0.01    -> same strategy, same seeds: margin 0, fails
    v4  passes, approval required          -> candidate; alice approves -> production
    rollback                               -> production back to v1
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from sim.gate.decisions import DecisionLog, DecisionLogError
from sim.gate.policy import GatePolicy, Suite, Thresholds
from sim.gate.registry import (
    GateError,
    approve,
    gate,
    history,
    production_version,
    rollback,
    tracking_uri,
)
from tests.helpers.scenarios import small_scenario

NAME = "bond-bh"
BUY_AND_HOLD = "strategies.buy_and_hold:BuyAndHold"


def policy(scenario, **limits) -> GatePolicy:
    lenient = {"min_sharpe": -100.0, "max_drawdown": 1.0, "stress_max_drawdown": 1.0,
               "beat_champion_by": -100.0}  # fmt: skip
    suite = Suite(scenarios=(str(scenario),), seeds=(1, 2))
    return GatePolicy(suite=suite, thresholds=Thresholds(**{**lenient, **limits}))


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gate")
    scenario = small_scenario(folder, days=3)
    uri = f"sqlite:///{folder}/mlflow.db"
    learned = folder / "weights.bin"
    learned.write_bytes(b"\x00learned\xff")
    store = {"tracking_uri": uri}
    outcomes = [
        gate(BUY_AND_HOLD, {"invest": 0.8}, NAME, policy(scenario), **store),
        gate(BUY_AND_HOLD, {"invest": 0.8}, NAME,
             policy(scenario, min_sharpe=100.0, beat_champion_by=0.0), **store),
        gate(BUY_AND_HOLD, {"invest": 0.8}, NAME, policy(scenario, beat_champion_by=0.01),
             **store),
        gate(BUY_AND_HOLD, {"invest": 0.3}, NAME, policy(scenario), require_approval=True,
             learned_model=learned, **store),
    ]  # fmt: skip
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    candidate_before_approval = int(client.get_model_version_by_alias(NAME, "candidate").version)
    approval = approve(NAME, 4, "alice", **store)
    back = rollback(NAME, who="ops", **store)
    return {"folder": folder, "uri": uri, "client": client, "outcomes": outcomes,
            "scenario": scenario, "candidate": candidate_before_approval, "approval": approval,
            "rollback": back, "learned": learned}  # fmt: skip


def tags(story, version) -> dict[str, str]:
    return story["client"].get_model_version(NAME, str(version)).tags


def test_a_passing_version_becomes_production_with_its_figures_as_tags(story):
    first = story["outcomes"][0]
    assert (first.version, first.alias, first.production) == (1, "production", 1)
    assert first.verdict.passed and first.record["production"] == 1
    assert tags(story, 1)["gate.passed"] == "true"
    sharpe = first.backtest.aggregate()["sharpe_ratio"]
    assert float(tags(story, 1)["gate.sharpe"]) == pytest.approx(sharpe)
    assert tags(story, 1)["strategy"] == BUY_AND_HOLD
    assert json.loads(tags(story, 1)["params"])["invest"] == 0.8


def test_the_run_logs_metrics_and_each_artifact_with_its_sha256(story):
    import mlflow

    first = story["outcomes"][0]
    run = story["client"].get_run(first.run_id)
    assert run.data.metrics["sharpe_ratio"] == pytest.approx(
        first.backtest.aggregate()["sharpe_ratio"]
    )
    assert run.data.params["invest"] == "0.8"
    folder = mlflow.artifacts.download_artifacts(
        run_id=first.run_id, artifact_path="backtest", tracking_uri=story["uri"],
        dst_path=str(story["folder"] / "downloaded"),
    )  # fmt: skip
    names = {"backtest.json", "runs.csv", "returns.parquet", "var.csv", "tearsheet.png"}
    for file in names:
        digest = hashlib.sha256((story["folder"] / "downloaded" / "backtest" / file).read_bytes())
        assert run.data.tags[f"sha256.{file}"] == digest.hexdigest(), file
        assert first.record["artifacts"][file] == digest.hexdigest()
    assert folder.endswith("backtest")
    # The artifacts live beside the SQLite store, not under the working folder.
    assert run.info.artifact_uri.startswith((story["folder"] / "artifacts").as_uri())


def test_each_suite_runs_manifest_is_logged_with_its_sha256(story, tmp_path):
    first = story["outcomes"][0]
    run = story["client"].get_run(first.run_id)
    folder = Path(story["client"].download_artifacts(first.run_id, "manifests", str(tmp_path)))
    files = sorted(path.name for path in folder.iterdir())
    assert files == ["small-seed1.json", "small-seed2.json"]
    for kept, file in zip(first.backtest.runs, files, strict=True):
        raw = (folder / file).read_bytes()
        digest = hashlib.sha256(raw).hexdigest()
        assert first.record["artifacts"][f"manifests/{file}"] == digest, file
        assert run.data.tags[f"sha256.manifests/{file}"] == digest
        manifest = json.loads(raw)
        assert manifest == kept.manifest and manifest["seed"] == kept.seed
        assert {"scenario", "scenario_hash", "git_commit", "packages"} <= manifest.keys()


def test_a_champion_that_cannot_be_re_run_leaves_no_version_and_no_decision(story):
    # A production version whose strategy no longer imports: the challenger cannot be judged.
    client, name = story["client"], "orphaned"
    if name not in {m.name for m in client.search_registered_models()}:
        client.copy_model_version(f"models:/{NAME}/1", name)
        client.set_model_version_tag(name, "1", "strategy", "strategies.gone:Vanished")
        client.set_registered_model_alias(name, "production", "1")
    log = DecisionLog(story["folder"])
    before = log.records()
    with pytest.raises(GateError, match="production version 1 cannot be re-run") as raised:
        gate(BUY_AND_HOLD, {}, name, policy(story["scenario"]), tracking_uri=story["uri"])
    assert "no module named 'strategies.gone'" in str(raised.value)
    assert "\n" not in str(raised.value)
    assert [int(v.version) for v in client.search_model_versions(f"name='{name}'")] == [1]
    assert log.records() == before


def test_a_failing_version_is_tagged_with_each_failed_check_and_no_alias_moves(story):
    failed = story["outcomes"][1]
    assert (failed.version, failed.alias, failed.production) == (2, None, 1)
    version_tags = tags(story, 2)
    assert version_tags["gate.passed"] == "false"
    assert [k for k in version_tags if k.startswith("gate.failed.")] == ["gate.failed.sharpe"]
    assert "misses >= 100" in version_tags["gate.failed.sharpe"]
    assert failed.record["passed"] is False and failed.record["production"] == 1


def test_a_challenger_is_scored_against_production_on_the_same_seeds(story):
    # The same strategy and parameters on the same scenario and seeds: identical runs, so the
    # challenger's margin over the champion is exactly zero.
    same, must_beat = story["outcomes"][1], story["outcomes"][2]
    margin = {c.name: c for c in same.verdict.checks}["beats_champion"]
    assert margin.value == 0.0 and margin.passed and same.record["champion"] == 1
    assert not must_beat.verdict.passed
    assert [c.name for c in must_beat.verdict.failed()] == ["beats_champion"]
    assert "gate.failed.beats_champion" in tags(story, 3)
    assert must_beat.production == 1


def test_approval_turns_the_candidate_into_production(story):
    waiting = story["outcomes"][3]
    assert (waiting.alias, waiting.production, story["candidate"]) == ("candidate", 1, 4)
    assert story["approval"]["kind"] == "approval" and story["approval"]["who"] == "alice"
    assert story["approval"]["production"] == 4 and story["approval"]["previous"] == 1
    assert tags(story, 4)["gate.approved_by"] == "alice"
    assert "candidate" not in story["client"].get_registered_model(NAME).aliases


def test_rollback_returns_production_to_the_version_before(story):
    assert story["rollback"]["production"] == 1 and story["rollback"]["previous"] == 4
    assert int(story["client"].get_model_version_by_alias(NAME, "production").version) == 1
    assert production_version(NAME, tracking_uri=story["uri"]) == (1, tags(story, 1))
    with pytest.raises(GateError, match="no earlier production version"):
        rollback(NAME, tracking_uri=story["uri"])


def test_the_production_pyfunc_gives_back_what_the_gate_approved(story):
    import mlflow

    mlflow.set_tracking_uri(story["uri"])
    (row,) = mlflow.pyfunc.load_model(f"models:/{NAME}@production").predict({}).to_dict("records")
    assert row["strategy"] == BUY_AND_HOLD
    assert json.loads(row["params"]) == story["outcomes"][0].backtest.params
    assert row["learned_model"] is None
    (fourth,) = mlflow.pyfunc.load_model(f"models:/{NAME}/4").predict({}).to_dict("records")
    assert json.loads(fourth["params"])["invest"] == 0.3
    with open(fourth["learned_model"], "rb") as learned:
        assert learned.read() == story["learned"].read_bytes()


def test_the_decision_log_verifies_and_says_which_version_was_production_when(story):
    records = history(NAME, tracking_uri=story["uri"])
    assert [r["kind"] for r in records] == ["decision"] * 4 + ["approval", "rollback"]
    assert [r["version"] for r in records] == [1, 2, 3, 4, 4, 1]
    assert [r["production"] for r in records] == [1, 1, 1, 1, 4, 1]
    log = DecisionLog(story["folder"])
    assert log.verify() is None
    at = [datetime.fromisoformat(r["time"]) for r in records]
    assert log.production_at(NAME, at[0].replace(year=2000)) is None
    assert log.production_at(NAME, at[3]) == 1
    assert log.production_at(NAME, at[4]) == 4
    assert log.production_at(NAME, at[5]) == 1
    assert records[0]["thresholds"]["min_sharpe"] == -100.0
    assert {c["name"] for c in records[1]["checks"]} >= {"sharpe", "beats_champion"}


def test_a_tampered_decision_log_is_refused(story, tmp_path):
    shutil.copy(story["folder"] / "decisions.jsonl", tmp_path / "decisions.jsonl")
    text = (tmp_path / "decisions.jsonl").read_text()
    (tmp_path / "decisions.jsonl").write_text(text.replace('"who":"alice"', '"who":"mallory"'))
    with pytest.raises(DecisionLogError, match=r"decisions.jsonl:5: its contents"):
        history(NAME, tracking_uri=story["uri"], log_folder=tmp_path)


@pytest.mark.parametrize(
    ("act", "message"),
    [
        (lambda uri: approve("nobody", 1, "alice", tracking_uri=uri), "'nobody': no such model"),
        (lambda uri: approve(NAME, 99, "alice", tracking_uri=uri), "no version 99"),
        (lambda uri: approve(NAME, 2, "alice", tracking_uri=uri), "version 2 is not the candidate"),
        (lambda uri: rollback("nobody", tracking_uri=uri), "'nobody': no such model"),
        (lambda uri: history("nobody", tracking_uri=uri), "'nobody': no decisions"),
        (lambda uri: production_version("nobody", tracking_uri=uri), "'nobody': no such model"),
        (lambda uri: production_version("unreleased", tracking_uri=uri), "no version holds"),
    ],
)
def test_user_mistakes_raise_one_clear_gate_error(story, act, message):
    if "unreleased" not in {m.name for m in story["client"].search_registered_models()}:
        story["client"].create_registered_model("unreleased")  # a model no version made it into
    with pytest.raises(GateError, match=message) as raised:
        act(story["uri"])
    assert "\n" not in str(raised.value)


def test_the_tracking_uri_is_explicit_then_the_environment_then_the_embedded_store(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    assert tracking_uri("sqlite:///elsewhere.db") == "sqlite:///elsewhere.db"
    assert tracking_uri() == "http://127.0.0.1:5999"
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    monkeypatch.chdir(tmp_path)
    assert tracking_uri() == f"sqlite:///{tmp_path}/results/mlflow/mlflow.db"
    assert (tmp_path / "results" / "mlflow" / "artifacts").is_dir()


def test_importing_the_registry_does_not_import_mlflow():
    code = "import sys, sim.gate.registry\nprint(any(m.startswith('mlflow') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
