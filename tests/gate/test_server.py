"""The gate against a real MLflow tracking server: `mlflow server` started on a free loopback
port over a SQLite store in a temporary folder, reached over HTTP by the commands.

One test walks every path (a tiny suite: a two-day scenario, one seed), reading the aliases
back from the server after each step, then flips a byte of the decision log:

    register v1  passes                        -> production 1
    gate v2      misses min_sharpe 100          -> tagged, production stays 1
    gate v3      passes, approval required      -> candidate 3
    approve 3    by alice                       -> production 3
    rollback     by ops                         -> production 1
    gate v4      passes                         -> production 4
    monitor      degraded on a recorded stream  -> rolled back: production 1
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.gate import registry
from tests.helpers.scenarios import small_scenario

STARTUP_S = 120  # a first start migrates the store
NAME = "served"
HOLD = "strategies.buy_and_hold:BuyAndHold"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    command = [
        sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
        "--backend-store-uri", f"sqlite:///{folder}/server.db",
        "--artifacts-destination", str(folder / "artifacts"), "--workers", "1",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=folder, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_S
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"mlflow server did not start on {url}")
            time.sleep(0.5)
    yield url
    process.terminate()
    process.wait(timeout=30)


def policy_file(folder, label: str, scenario, tables: str) -> str:
    path = folder / f"{label}.toml"
    path.write_text(f'[suite]\nscenarios = ["{scenario}"]\nseeds = [1]\n{tables}')
    return str(path)


def test_every_gate_path_against_a_server(server, tmp_path, monkeypatch):
    # One test, not one per step: `pytest -n 2` spreads a module's tests over workers, and
    # each would start its own server and replay the story.
    from mlflow import MlflowClient  # here, not at collection: importing it costs seconds

    scenario = small_scenario(tmp_path, days=2)
    passing = policy_file(tmp_path, "passing", scenario,
                          "[thresholds]\nmin_sharpe = -100\nmax_drawdown = 0.5\n")  # fmt: skip
    failing = policy_file(tmp_path, "failing", scenario,
                          "[thresholds]\nmin_sharpe = 100\nmax_drawdown = 0.5\n")  # fmt: skip
    # Replayed through a recorded run, buy and hold pays the spread: any drawdown degrades.
    degrading = policy_file(tmp_path, "degrading", scenario, "[monitoring]\nmax_sharpe_drop = "
                            "1e9\nmax_drawdown = 1e-6\nauto_rollback = true\n")  # fmt: skip
    stream = sim.run(sim.load_scenario(scenario), seed=7, out=tmp_path / "runs").path
    # Both URIs: without registry_uri it takes the process's, which an earlier test may have set.
    client = MlflowClient(tracking_uri=server, registry_uri=server)
    monkeypatch.chdir(tmp_path)  # a server store keeps the decision log in results/mlflow/
    log = tmp_path / "results" / "mlflow" / "decisions.jsonl"

    def bondlab(*args):
        return CliRunner().invoke(app, [*args, "--tracking-uri", server])

    def aliases() -> dict[str, int]:
        found = client.get_registered_model(NAME).aliases
        return {alias: int(version) for alias, version in found.items()}

    # Pass: `register` runs the gate, and the version becomes production.
    done = bondlab("register", HOLD, "--name", NAME, "--policy", passing)
    assert done.exit_code == 0, done.output
    assert f"{NAME} version 1: every check passed (now production)" in done.output
    assert aliases() == {"production": 1} and log.is_file()
    assert client.get_model_version(NAME, "1").tags["gate.passed"] == "true"

    # Fail: the tags name the failed check, no alias moves.
    done = bondlab("gate", HOLD, "--name", NAME, "--policy", failing)
    assert done.exit_code == 1 and "no alias moved" in done.output
    tags = client.get_model_version(NAME, "2").tags
    assert tags["gate.passed"] == "false" and aliases() == {"production": 1}
    assert [key for key in tags if key.startswith("gate.failed.")] == ["gate.failed.sharpe"]

    # Approval: a passing version waits as candidate until approved.
    done = bondlab("gate", HOLD, "--name", NAME, "--policy", passing, "--require-approval")
    assert done.exit_code == 0 and "(now candidate)" in done.output
    assert aliases() == {"production": 1, "candidate": 3}
    assert bondlab("approve", NAME, "3", "--by", "alice").exit_code == 0
    assert aliases() == {"production": 3}
    assert client.get_model_version(NAME, "3").tags["gate.approved_by"] == "alice"

    # Rollback: production goes back to the version before.
    done = bondlab("rollback", NAME, "--by", "ops")
    assert done.exit_code == 0 and f"{NAME}: production is version 1 again" in done.output
    assert aliases() == {"production": 1}

    # Automatic rollback: a new production version degrades on the recorded stream.
    assert bondlab("gate", HOLD, "--name", NAME, "--policy", passing).exit_code == 0
    assert aliases() == {"production": 4}
    done = bondlab("monitor", NAME, "--stream", str(stream), "--policy", degrading)
    assert done.exit_code == 1 and "DEGRADED: max_drawdown" in done.output
    assert "rolled back: production is version 1" in done.output
    assert aliases() == {"production": 1}

    records = registry.history(NAME, tracking_uri=server)
    assert [(r["kind"], r["who"], r["production"]) for r in records] == [
        ("decision", "ci", 1), ("decision", "ci", 1), ("decision", "ci", 1),
        ("approval", "alice", 3), ("rollback", "ops", 1), ("decision", "ci", 4),
        ("monitor", "monitor", 4), ("rollback", "monitor", 1),
    ]  # fmt: skip

    # Tampering: a flipped byte on line 3 (ci -> bi), and the next commands refuse, naming it.
    raw = bytearray(log.read_bytes())
    third = raw.index(b"\n", raw.index(b"\n") + 1) + 1
    raw[raw.index(b'"who":"ci"', third) + len('"who":"')] ^= 0x01
    log.write_bytes(bytes(raw))
    for args in (["gate-history", NAME], ["rollback", NAME]):
        done = bondlab(*args)
        assert done.exit_code == 2, done.output
        assert "decisions.jsonl:3: its contents do not match its hash" in done.output
    assert registry.production_version(NAME, tracking_uri=server)[0] == 1
