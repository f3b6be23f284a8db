"""Parameter sweeps: grids and seeds, the same rows on every engine (in process, a process pool,
a real Dask LocalCluster), failing and crashing points recorded, resuming after a kill, the
confidence intervals, and one clear line for each user mistake."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import polars as pl
import psutil
import pytest
from scipy import stats
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.scenario.model import ScenarioError
from sim.studies import sweep as study
from sim.studies.executors import WORKER_DIED
from tests.helpers.scenarios import small_scenario

BONDLAB = Path(sys.executable).parent / "bondlab"
SHORT = ['calendar.close="09:40"', "retail.count=20"]  # runs of about a tenth of a second

TROUBLE = '''
"""Makes trouble at its start, as its params say."""
import os
import time
from pathlib import Path

from pydantic import BaseModel


class Trouble:
    class Params(BaseModel):
        mode: str = "ok"  # ok, raise, exit (kills its process), wait (until `gate` exists)
        gate: str = ""

    def __init__(self, params=None):
        self.params = params or self.Params()

    def on_start(self, ctx):
        if self.params.mode == "raise":
            raise RuntimeError("trouble at this point")
        if self.params.mode == "exit":
            os._exit(3)
        while self.params.mode == "wait" and not Path(self.params.gate).exists():
            time.sleep(0.02)
'''


@pytest.fixture
def scenario(tmp_path) -> Path:
    """The small scenario with a strategy that makes trouble on demand (``strategy.params``)."""
    (tmp_path / "trouble.py").write_text(TROUBLE)
    path = small_scenario(tmp_path)
    table = f'\n[strategy]\nref = "{tmp_path / "trouble.py"}:Trouble"\nparams = {{ mode = "ok" }}\n'
    path.write_text(path.read_text() + table)
    return path


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None,
    ) as local:  # fmt: skip
        yield local


def invoke(*args):
    return CliRunner().invoke(app, ["sweep", *map(str, args)])


def without_wall(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.drop("wall_seconds")


# --- grids and seeds -----------------------------------------------------------------------------


def test_a_range_is_reckoned_in_decimal_and_includes_a_stop_it_lands_on():
    assert study.parse_axis("sip.buffer_fraction=0:0.3:0.1") == (
        "sip.buffer_fraction", ["0.0", "0.1", "0.2", "0.3"],
    )  # fmt: skip
    assert study.parse_axis("x=0:1:0.3")[1] == ["0.0", "0.3", "0.6", "0.9"]  # 1.0 not landed on
    assert study.parse_axis("retail.count=10:50:20")[1] == ["10", "30", "50"]
    assert study.parse_axis("x=5:1:-2")[1] == ["5", "3", "1"]
    assert study.parse_axis("x=2:2:1")[1] == ["2"]


def test_a_list_keeps_each_value_as_typed():
    assert study.parse_axis("recording.marks=mid, fair_value") == (
        "recording.marks", ["mid", "fair_value"],
    )  # fmt: skip
    assert study.parse_axis('calendar.close="09:45","10:00"')[1] == ['"09:45"', '"10:00"']
    assert study.parse_axis("calendar.close=09:45")[1] == ["09:45"]  # two parts: not a range


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("x=1:5:0", "--grid x=1:5:0: the step is 0"),
        ("x=5:1:1", "--grid x=5:1:1: a step of 1 never goes from 5 to 1"),
        ("x", "--grid x: expected key=start:stop:step or key=v1,v2,..."),
        ("=1,2", "--grid =1,2: expected key=start:stop:step or key=v1,v2,..."),
        ("x=1,,2", "--grid x=1,,2: an empty value in the list"),
        ("x=0:1:1e-7", "--grid x=0:1:1e-7: 10,000,001 values (at most 1,000,000)"),
    ],
)
def test_a_bad_axis_says_what_is_wrong(spec, message):
    with pytest.raises(study.SweepError) as caught:
        study.parse_axis(spec)
    assert str(caught.value) == message


def test_seeds():
    assert study.parse_seeds("3") == (1, 2, 3)
    assert study.parse_seeds("3..5") == (3, 4, 5)
    assert study.parse_seeds("7,2") == (7, 2)
    for text in ("x", "0", "2,2", "-1..2"):
        with pytest.raises(study.SweepError, match=f"--seeds {text}: "):
            study.parse_seeds(text)


def test_a_grid_is_the_product_of_its_axes_last_fastest(scenario):
    planned = study.plan(scenario, ["retail.count=10,20", "value.count=2:6:2"], [4, 9])
    assert [p.values for p in planned.points] == [
        (10, 2), (10, 4), (10, 6), (20, 2), (20, 4), (20, 6)
    ]  # fmt: skip
    assert planned.points[4].overrides == ("retail.count=20", "value.count=4")
    assert [(t.point, t.seed) for t in planned.tasks[:3]] == [(0, 4), (0, 9), (1, 4)]
    again = study.plan(scenario, {"retail.count": [10, 20], "value.count": "2:6:2"}, [4, 9])
    assert again.identity() == planned.identity() and again.id == planned.id
    assert study.plan(scenario, {"retail.count": [10, 20]}, 2).id != planned.id


def test_a_key_of_mixed_numbers_is_a_float_column(scenario):
    planned = study.plan(scenario, ["value.count=2"], 1)
    assert planned.dtypes == (pl.Int64(),)
    planned = study.plan(scenario, ["value.observation_noise=20,25.5"], 1)
    assert planned.dtypes == (pl.Float64(),)
    assert [p.values for p in planned.points] == [(20.0,), (25.5,)]


def test_explicit_points(scenario):
    planned = study.plan(scenario, points=[{"retail.count": 5, "value.count": 2},
                                           {"retail.count": 7, "value.count": 3}])  # fmt: skip
    assert [p.overrides for p in planned.points] == [
        ("retail.count=5", "value.count=2"), ("retail.count=7", "value.count=3"),
    ]  # fmt: skip
    with pytest.raises(study.SweepError, match="each with the same keys"):
        study.plan(scenario, points=[{"retail.count": 5}, {"value.count": 3}])


def test_every_bad_value_is_named_before_anything_runs(scenario):
    with pytest.raises(ScenarioError) as caught:
        study.plan(scenario, ["retail.count=10,abc", "value.count=-1,3"], 1)
    assert caught.value.problems == (
        "--grid retail.count=abc: retail.count: must be a valid integer, unable to parse "
        "string as an integer (got 'abc')",
        "--grid value.count=-1: value.count: must be >= 0 (got -1)",
    )
    with pytest.raises(ScenarioError) as caught:  # an unknown key: said once, not per value
        study.plan(scenario, ["retail.cuont=10:30:10"], 1)
    assert caught.value.problems == (
        "--grid retail.cuont=10: retail.cuont: unknown field (did you mean count?)",
    )
    with pytest.raises(study.SweepError) as caught:
        study.plan(scenario, ["retail.count=1,2"], 1, overrides=["retail.count=3"])
    assert str(caught.value) == "retail.count: given both by --grid and by --set"


# --- running: the same rows everywhere; failures recorded ----------------------------------------


def test_the_same_rows_in_process_on_a_pool_and_on_dask(scenario, tmp_path, cluster):
    grid = {"strategy.params.mode": ["ok", "raise"], "value.count": "4:8:4"}
    serial = sim.sweep(scenario, grid, seeds=2, overrides=SHORT)
    assert serial.columns[:7] == [
        "point", "strategy.params.mode", "value.count", "seed", "status", "error", "wall_seconds"
    ]  # fmt: skip
    assert serial.select("point", "seed").rows() == [(p, s) for p in range(4) for s in (1, 2)]
    assert serial["status"].to_list() == ["ok"] * 4 + ["error"] * 4
    assert set(serial["error"].drop_nulls()) == {"RuntimeError: trouble at this point"}
    ok = serial.filter(status="ok")
    assert ok["summary.trades"].min() > 0 and ok["ledger.conserved"].to_list() == [1.0] * 4
    assert serial.filter(status="error")["summary.trades"].null_count() == 4
    assert ok["summary.trades"].n_unique() == 4  # seeds and points differ

    pooled = sim.sweep(scenario, grid, seeds=2, overrides=SHORT, workers=2, out=tmp_path / "pool")
    on_dask = sim.sweep(scenario, grid, seeds=2, overrides=SHORT,
                        scheduler=cluster.scheduler_address, out=tmp_path / "dask")  # fmt: skip
    assert without_wall(pooled).equals(without_wall(serial))
    assert without_wall(on_dask).equals(without_wall(serial))

    folder = tmp_path / "dask"
    assert pl.read_parquet(folder / "rows.parquet").equals(on_dask)
    assert len(list((folder / "rows").glob("point-*.parquet"))) == 8
    summary = pl.read_parquet(folder / "summary.parquet")
    assert summary.equals(study.summarize(serial))
    assert pl.read_csv(folder / "summary.csv").height == summary.height
    record = json.loads((folder / "sweep.json").read_text())
    assert record["status"] == "complete" and record["counts"] == {"ok": 4, "error": 4}
    assert record["sweep"]["keys"] == ["strategy.params.mode", "value.count"]
    (session,) = record["sessions"]
    assert session["engine"] == {"kind": "dask", "scheduler": cluster.scheduler_address,
                                 "workers": 2}  # fmt: skip
    assert (session["ran"], session["errors"], session["skipped"]) == (8, 4, 0)


def test_a_worker_that_dies_is_recorded_and_the_sweep_goes_on(scenario, tmp_path):
    grid = {"strategy.params.mode": ["ok", "exit"], "value.count": [4, 5]}
    rows = sim.sweep(scenario, grid, seeds=1, overrides=SHORT, workers=2, out=tmp_path / "s")
    assert rows.select("point", "status", "error").rows() == [
        (0, "ok", None), (1, "ok", None), (2, "error", WORKER_DIED), (3, "error", WORKER_DIED)
    ]  # fmt: skip
    alone = sim.sweep(scenario, {"value.count": [4, 5]}, seeds=1, overrides=SHORT)
    assert without_wall(rows.head(2).drop("strategy.params.mode")).equals(without_wall(alone))


def test_rows_in_memory_and_on_disk_are_the_same_and_running_again_reruns_nothing(
    scenario, tmp_path
):
    grid = ["value.count=4,6"]
    in_memory = sim.sweep(scenario, grid, seeds=2, overrides=SHORT)
    folder = tmp_path / "sweep"
    first = sim.sweep(scenario, grid, seeds=2, overrides=SHORT, out=folder)
    assert without_wall(first).equals(without_wall(in_memory))
    again = sim.sweep(scenario, grid, seeds=2, overrides=SHORT, out=folder, resume=True)
    assert again.equals(first)  # wall times too: nothing ran again
    sessions = json.loads((folder / "sweep.json").read_text())["sessions"]
    assert [(s["ran"], s["skipped"]) for s in sessions] == [(4, 0), (0, 4)]


def _workers_of(pid: int) -> list[psutil.Process]:
    children = psutil.Process(pid).children(recursive=True)
    return [c for c in children if "resource_tracker" not in " ".join(c.cmdline())]


def _wait_for(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_sweep_killed_midway_resumes_where_it_stopped(scenario, tmp_path):
    gate = tmp_path / "gate"
    folder = tmp_path / "sweep"
    args = [BONDLAB, "sweep", scenario, "--grid", "retail.count=10,20", "--grid",
            "strategy.params.mode=ok,wait", "--seeds", "2", "--workers", "2", "--out", folder,
            "--set", 'calendar.close="09:40"', "--set", f'strategy.params.gate="{gate}"',
            "--quiet"]  # fmt: skip
    args = [str(a) for a in args]
    rows = folder / "rows"
    proc = subprocess.Popen(args, start_new_session=True, stderr=subprocess.PIPE)
    try:
        # Point 0 runs; then both workers wait at point 1: kill one of them.
        _wait_for(lambda: len(list(rows.glob("point-*"))) == 2 and len(_workers_of(proc.pid)) == 2)
        time.sleep(0.5)
        _workers_of(proc.pid)[0].kill()
        time.sleep(1.0)
        assert proc.poll() is None  # the sweep goes on after its worker's death
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # and then the whole sweep is killed
        proc.wait()
    parts = sorted(p.name for p in rows.glob("point-*"))
    assert parts == ["point-000000-seed-1.parquet", "point-000000-seed-2.parquet"]
    assert json.loads((folder / "sweep.json").read_text())["status"] == "running"

    gate.touch()
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == str(folder)
    resumed = pl.read_parquet(folder / "rows.parquet")
    record = json.loads((folder / "sweep.json").read_text())
    assert [(s["ran"], s["skipped"]) for s in record["sessions"]] == [(0, 0), (6, 2)]
    assert record["counts"] == {"ok": 8}
    grid = ["retail.count=10,20", "strategy.params.mode=ok,wait"]
    overrides = ['calendar.close="09:40"', f'strategy.params.gate="{gate}"']
    reference = sim.sweep(scenario, grid, seeds=2, overrides=overrides)
    assert without_wall(resumed).equals(without_wall(reference))


# --- the summary ---------------------------------------------------------------------------------


def _synthetic(values: np.ndarray) -> pl.DataFrame:
    """Rows of a sweep whose one metric `m` takes `values` (points x seeds)."""
    points, seeds = values.shape
    return pl.DataFrame({
        "point": np.repeat(np.arange(points), seeds),
        "x": np.repeat(np.arange(points) * 0.5, seeds),
        "seed": np.tile(np.arange(1, seeds + 1), points),
        "status": ["ok"] * values.size,
        "error": pl.Series([None] * values.size, dtype=pl.String),
        "wall_seconds": np.ones(values.size),
        "m": values.ravel(),
    })  # fmt: skip


def test_the_interval_is_students_t_and_covers_the_mean_95_times_in_100():
    rng = np.random.default_rng(20261205)
    values = rng.normal(5.0, 2.0, size=(4000, 6))
    summary = study.summarize(_synthetic(values))
    assert summary.columns == ["point", "x", "metric", "n", "mean", "sd", "ci_low", "ci_high"]
    assert summary.height == 4000 and set(summary["metric"]) == {"m"}
    low, high = stats.t.interval(0.95, 5, loc=values.mean(axis=1),
                                 scale=stats.sem(values, axis=1))  # fmt: skip
    np.testing.assert_allclose(summary["ci_low"], low, rtol=1e-12)
    np.testing.assert_allclose(summary["ci_high"], high, rtol=1e-12)
    np.testing.assert_allclose(summary["sd"], values.std(axis=1, ddof=1), rtol=1e-12)
    covered = ((summary["ci_low"] <= 5.0) & (summary["ci_high"] >= 5.0)).mean()
    assert 0.94 < covered < 0.96  # binomial sd 0.0034 around 0.95
    wider = study.summarize(_synthetic(values), confidence=0.99)
    assert (wider["ci_high"] - wider["ci_low"] > summary["ci_high"] - summary["ci_low"]).all()


def test_the_summary_counts_ok_rows_alone_and_gives_no_interval_below_two():
    rows = _synthetic(np.array([[1.0, 2.0, 3.0], [4.0, 1e9, 1e9]]))
    rows = rows.with_columns(
        status=pl.when(pl.col("m") > 100).then(pl.lit("error")).otherwise(pl.col("status"))
    )
    summary = study.summarize(rows)
    assert summary.select("n", "mean").rows() == [(3, 2.0), (1, 4.0)]
    assert summary["sd"][1] is None and summary["ci_low"][1] is None


def test_metrics_are_flattened_to_floats():
    from sim.studies.executors import flatten_metrics

    flat = flatten_metrics({"a": {"b": 1, "c": {"d": 2.5}}, "ok": True, "nan": float("nan"),
                            "name": "x", "list": [1, 2]})  # fmt: skip
    assert flat == {"a.b": 1.0, "a.c.d": 2.5, "ok": 1.0, "nan": None}


# --- the command line: one clear line for each mistake -------------------------------------------


def test_the_command_writes_the_folder_and_prints_it(scenario, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke(scenario, "--grid", "value.count=4,6", "--seeds", "2", *_set(SHORT))
    assert result.exit_code == 0, result.output
    planned = study.plan(scenario, ["value.count=4,6"], 2, overrides=SHORT)
    folder = Path("results/sweeps") / f"small-{planned.id}"
    assert result.stdout.splitlines() == ["small: 2 points x 2 seeds, 4 runs ok, 0 failed",
                                          str(folder)]  # fmt: skip
    assert "4/4" in result.stderr  # the progress bar
    assert sorted(p.name for p in folder.iterdir()) == [
        "rows", "rows.parquet", "summary.csv", "summary.parquet", "sweep.json"
    ]  # fmt: skip


def test_a_failed_run_makes_exit_status_1(scenario, tmp_path):
    out = tmp_path / "s"
    result = invoke(scenario, "--grid", "strategy.params.mode=ok,raise", "--out", out, "--quiet",
                    *_set(SHORT))  # fmt: skip
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "small: 2 points x 1 seeds, 1 runs ok, 1 failed",
        "first failure: point 1 seed 1: RuntimeError: trouble at this point",
        str(out),
    ]


def _set(overrides):
    return [part for text in overrides for part in ("--set", text)]


@pytest.mark.parametrize(
    ("grid", "line"),
    [
        ("retail.cuont=10,20", "--grid retail.cuont=10: retail.cuont: unknown field (did you "
                               "mean count?)"),
        ("retail.count=1:9:0", "--grid retail.count=1:9:0: the step is 0"),
        ("retail.count=ten,20", "--grid retail.count=ten: retail.count: must be a valid "
                                "integer, unable to parse string as an integer (got 'ten')"),
    ],
)  # fmt: skip
def test_a_bad_grid_is_one_line_and_exit_2_before_anything_runs(scenario, tmp_path, grid, line):
    result = invoke(scenario, "--grid", grid, "--out", tmp_path / "s")
    assert (result.exit_code, result.stderr, result.stdout) == (2, line + "\n", "")
    assert not (tmp_path / "s").exists()


def test_an_unreachable_scheduler_is_one_line(scenario, tmp_path):
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        result = invoke(scenario, "--scheduler", "tcp://127.0.0.1:9", "--out", tmp_path / "s")
    assert result.exit_code == 2
    assert result.stderr == (
        "--scheduler tcp://127.0.0.1:9: cannot reach it (Timed out trying to connect to "
        "tcp://127.0.0.1:9 after 1 s)\n"
    )
    result = invoke(scenario, "--scheduler", "http://host:1", "--out", tmp_path / "s")
    assert result.stderr == "--scheduler http://host:1: expected an address like tcp://HOST:PORT\n"
    result = invoke(scenario, "--scheduler", "tcp://h:1", "--workers", "2")
    assert result.stderr == (
        "--workers and --scheduler exclude each other: the cluster has its own\n"
    )


def test_a_folder_of_another_sweep_or_a_damaged_part_is_refused(scenario, tmp_path):
    out = tmp_path / "s"
    assert invoke(scenario, "--grid", "value.count=4,6", "--out", out, "--quiet",
                  *_set(SHORT)).exit_code == 0  # fmt: skip
    result = invoke(scenario, "--grid", "value.count=4,8", "--out", out, *_set(SHORT))
    assert (result.exit_code, result.stderr) == (2, (
        f"{out}: holds another sweep (its points differ); choose another --out, or delete "
        "that folder\n"
    ))  # fmt: skip
    part = out / "rows" / "point-000001-seed-1.parquet"
    part.write_bytes(part.read_bytes()[:100])
    result = invoke(scenario, "--grid", "value.count=4,6", "--out", out, *_set(SHORT))
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"{part}: a damaged part (")
    assert result.stderr.endswith("); delete it to run its task again\n")
    part.unlink()
    (out / "rows" / "stray.parquet").write_bytes(b"")
    result = invoke(scenario, "--grid", "value.count=4,6", "--out", out, *_set(SHORT))
    assert (
        result.stderr == f"{out / 'rows' / 'stray.parquet'}: not a part of this sweep; remove it\n"
    )
    result = invoke(scenario, "--out", tmp_path / "nothing", "--resume")
    assert result.stderr == f"{tmp_path / 'nothing'}: no sweep to resume (no sweep.json)\n"


def test_sweeping_imports_dask_only_for_a_cluster():
    code = textwrap.dedent("""
        import sys, sim
        assert callable(sim.sweep)
        heavy = {"dask", "distributed", "rich"} & {m.split(".")[0] for m in sys.modules}
        assert not heavy, heavy
    """)
    subprocess.run([sys.executable, "-c", code], check=True)
