"""The bondlab command line: exit codes, one-line user errors, and `run` with a stand-in kernel."""

import subprocess
import sys
import types
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.engine.build import trading_calendar
from sim.scenario.model import ScenarioError

SCENARIO = """\
[run]
name = "cli"
seed = 4

[calendar]
start = 2024-01-02
days = 3

[[instruments]]
symbol = "NHAI-2030"
reference_price = 101.25

[[venues]]
name = "NSE"
"""

runner = CliRunner()
BONDLAB = Path(sys.executable).parent / "bondlab"


@pytest.fixture
def scenario(tmp_path):
    path = tmp_path / "cli.toml"
    path.write_text(SCENARIO)
    return path


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_validate_ok(scenario):
    result = invoke("scenarios", "validate", scenario)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: cli (")
    assert result.stdout.rstrip().endswith("1 instruments, 1 venues, populations: none")


def test_validate_with_overrides(scenario):
    result = invoke("scenarios", "validate", scenario, "--set", "run.name=other")
    assert result.exit_code == 0 and result.stdout.startswith("ok: other (")


def test_validate_bad_file_is_one_line_and_exit_2(scenario):
    scenario.write_text(SCENARIO.replace("days = 3", "days = 0"))
    result = invoke("scenarios", "validate", scenario)
    assert result.exit_code == 2
    assert result.stderr == f"{scenario}: calendar.days: must be >= 1 (got 0)\n"
    assert result.stdout == ""


def test_validate_bad_override(scenario):
    result = invoke("scenarios", "validate", scenario, "--set", "calendar.dayz=4")
    assert result.exit_code == 2
    assert result.stderr == (
        "--set calendar.dayz=4: calendar.dayz: unknown field (did you mean days?)\n"
    )
    result = invoke("scenarios", "validate", scenario, "--set", "calendar.days")
    assert result.exit_code == 2
    assert result.stderr.startswith("--set calendar.days: expected key.path=value")


def test_usage_errors_exit_2(scenario):
    assert invoke("run", scenario, "--sed", "1").exit_code == 2
    assert invoke("run", scenario, "--seed", "-1").exit_code == 2
    assert invoke("scenarios", "validate").exit_code == 2


@pytest.mark.parametrize("args", [["scenarios", "validate"], ["run"]])
def test_console_script_missing_file(tmp_path, args):
    missing = tmp_path / "missing.toml"
    out = subprocess.run([BONDLAB, *args, missing], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr == f"{missing}: no such file\n"
    assert "Traceback" not in out.stdout + out.stderr


def test_console_script_success_flushes_its_output(scenario):
    # main() ends with os._exit, which skips the interpreter's own flushing of stdout.
    out = subprocess.run(
        [BONDLAB, "scenarios", "validate", scenario], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0
    assert out.stdout.startswith("ok: ") and out.stdout.endswith("\n")
    assert out.stderr == ""


def test_console_script_bad_toml(scenario):
    scenario.write_text(SCENARIO.replace("days = 3", "days = ="))
    out = subprocess.run([BONDLAB, "run", scenario], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.startswith(f"{scenario}: line 7, column 8: invalid TOML (")
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr


# --- run, with a stand-in for sim.engine.kernel.run ----------------------------------------------


class FakeKernel:
    """Records the call and reports progress through every session, as the kernel does."""

    def __init__(self, error=None):
        self.calls = []
        self.error = error
        self.module = types.ModuleType("sim.engine.kernel")
        self.module.run = self.run

    def run(self, scenario, seed=None, out="results", progress=None):
        self.calls.append((scenario, seed, out, progress))
        if self.error is not None:
            raise self.error
        cal = scenario.calendar
        calendar = trading_calendar(cal)
        if progress is not None:
            for day in range(cal.days):
                open_ns, close_ns = calendar.session(day)
                for t in (open_ns, close_ns):
                    progress(t, calendar.start_ns, calendar.end_ns)
        metrics = {
            "market_quality": {"spread_bps": 12.3456, "turnover": 1234567.8, "trades": 4321},
            "stylized_facts": {"kurtosis": 3.5, "autocorrelation": {"1": 0.01}},
            "events": 99,
        }
        return types.SimpleNamespace(metrics=metrics, path=Path(out) / "cli-seed7-abcdef12")


@pytest.fixture
def kernel(monkeypatch):
    fake = FakeKernel()
    monkeypatch.setitem(sys.modules, "sim.engine.kernel", fake.module)
    return fake


def test_run_passes_scenario_seed_and_out(scenario, tmp_path, kernel):
    out = tmp_path / "results"
    result = invoke("run", scenario, "--seed", 7, "--out", out, "--set", "calendar.days=2")
    assert result.exit_code == 0, result.output
    ((loaded, seed, passed_out, progress),) = kernel.calls
    assert (loaded.name, loaded.calendar.days, seed, passed_out) == ("cli", 2, 7, out)
    assert callable(progress)
    assert "day 2/2 15:30" in result.stderr  # the progress bar, in simulated time
    for text in ("market_quality", "spread_bps", "12.35", "1,234,568", "4,321", "kurtosis", "99"):
        assert text in result.stdout
    assert "autocorrelation" not in result.stdout  # nested groups are not scalars
    assert result.stdout.rstrip().endswith(str(out / "cli-seed7-abcdef12"))


def test_run_defaults_and_quiet(scenario, kernel):
    result = invoke("run", scenario, "--quiet")
    assert result.exit_code == 0, result.output
    ((_, seed, out, progress),) = kernel.calls
    assert (seed, out, progress) == (None, Path("results"), None)
    assert result.stdout == f"{Path('results') / 'cli-seed7-abcdef12'}\n"


def test_run_bad_scenario_never_reaches_the_kernel(scenario, kernel):
    result = invoke("run", scenario, "--set", "venues.0.fees.taker_bps=-1")
    assert result.exit_code == 2
    assert result.stderr == (
        "--set venues.0.fees.taker_bps=-1: venues[0].fees.taker_bps: must be >= 0 (got -1)\n"
    )
    assert kernel.calls == []


@pytest.mark.parametrize(
    "error",
    [ScenarioError(["cli.toml: the kernel says no"]), PermissionError(13, "Permission denied")],
)
def test_run_user_errors_from_the_kernel_are_one_line(scenario, monkeypatch, error):
    fake = FakeKernel(error)
    monkeypatch.setitem(sys.modules, "sim.engine.kernel", fake.module)
    result = invoke("run", scenario, "--quiet")
    assert result.exit_code == 2
    assert result.stderr == f"{error}\n"


def test_run_result_errors_are_one_line(scenario, monkeypatch):
    from sim.records.result import ResultError

    fake = FakeKernel(ResultError("results/x: sha256 does not match manifest"))
    monkeypatch.setitem(sys.modules, "sim.engine.kernel", fake.module)
    result = invoke("run", scenario, "--quiet")
    assert (result.exit_code, result.stderr) == (2, "results/x: sha256 does not match manifest\n")


def test_run_programmer_errors_still_raise(scenario, monkeypatch):
    fake = FakeKernel(KeyError("bug"))
    monkeypatch.setitem(sys.modules, "sim.engine.kernel", fake.module)
    result = invoke("run", scenario, "--quiet")
    assert result.exit_code == 1 and isinstance(result.exception, KeyError)
