"""The gate against a real MLflow tracking server: `mlflow server` started on a free loopback
port over a SQLite store in a temporary folder, reached over HTTP; `register` runs the gate's
suite and the alias moves on the server."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.gate import registry
from tests.helpers.scenarios import small_scenario

STARTUP_S = 120  # a first start migrates the store


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
    yield url, folder
    process.terminate()
    process.wait(timeout=30)


def test_register_runs_the_gate_against_a_server(server, tmp_path, monkeypatch):
    url, _ = server
    monkeypatch.chdir(tmp_path)  # a server store keeps the decision log in results/mlflow/
    scenario = small_scenario(tmp_path, days=2)
    policy = tmp_path / "gate.toml"
    policy.write_text(
        f'[suite]\nscenarios = ["{scenario}"]\nseeds = [1]\n'
        "[thresholds]\nmin_sharpe = -100\nmax_drawdown = 0.5\n"
    )
    args = ["register", "strategies.buy_and_hold:BuyAndHold", "--name", "served",
            "--policy", str(policy), "--tracking-uri", url]  # fmt: skip
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    assert "served version 1: every check passed (now production)" in done.output
    client = registry._client(url)
    assert client.get_model_version_by_alias("served", "production").version in ("1", 1)
    assert client.get_model_version("served", "1").tags["gate.passed"] == "true"
    (record,) = registry.history("served", tracking_uri=url)
    assert (record["kind"], record["production"]) == ("decision", 1)
    assert (tmp_path / "results" / "mlflow" / "decisions.jsonl").is_file()
