"""`bondlab pulse`: each role's table, the files it writes and one-line errors (exit 2)."""

import json

import polars as pl
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.records.result import Result
from sim.scenario.model import load_scenario
from tests.helpers.scenarios import small_scenario

runner = CliRunner()


def pulse(*args):
    return runner.invoke(app, ["pulse", *map(str, args)])


@pytest.fixture(scope="module")
def bond(rated_run):
    return Result.load(rated_run).pulse["instrument"].sort()[0]


def test_retail_reads_each_bonds_last_score_in_a_sentence(rated_run):
    out = pulse(rated_run, "--role", "retail")
    assert out.exit_code == 0, out.output
    frame = Result.load(rated_run).pulse.filter(
        (pl.col("interval") == "1d") & (pl.col("venue") == "all") & (pl.col("day") == 1)
    )
    assert "as retail, 6 bonds, the last interval" in out.stdout
    for name, score in frame.select("instrument", "score").iter_rows():
        assert f"{name} scores {score:.0f} out of 100 (" in out.stdout
    assert "drivers" not in out.stdout and "spread bp" not in out.stdout  # no features
    assert "run_id:" not in out.stdout


def test_professionals_read_drivers_and_features_per_venue(rated_run, bond):
    out = pulse(rated_run, "--bond", bond, "--role", "professional")
    assert out.exit_code == 0, out.output
    for header in ("venue", "drivers", "spread bp", "depth ₹", "makers"):
        assert header in out.stdout
    assert "± sd" not in out.stdout and "run_id:" not in out.stdout


def test_the_regulator_reads_the_runs_provenance_and_the_uncertainties(rated_run, bond):
    out = pulse(rated_run, "--bond", bond, "--role", "regulator", "--interval", "1h")
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert lines[0] == f"run_id: {rated_run.name}"
    assert "source: pulse.parquet" in lines
    params = next(line for line in lines if line.startswith("params: "))
    assert json.loads(params.removeprefix("params: "))["intervals"] == ["1h", "1d"]
    assert "score ± sd" in out.stdout and "(1h) as regulator" in out.stdout


def test_out_writes_every_row_of_the_view_and_the_heatmap(rated_run, bond, tmp_path):
    table, figure = tmp_path / "view.parquet", tmp_path / "heatmap.png"
    out = pulse(rated_run, "--role", "regulator", "--out", table, "--heatmap", figure)
    assert out.exit_code == 0, out.output
    assert out.stdout.splitlines()[-2:] == [str(table), str(figure)]
    rows = pl.read_parquet(table)
    daily = Result.load(rated_run).pulse.filter(pl.col("interval") == "1d")
    assert rows.drop("band", "explanation").equals(daily)
    stored = pq.read_metadata(table).metadata
    assert json.loads(stored[b"bondlab.pulse.metadata"])["run_id"] == rated_run.name
    assert figure.read_bytes().startswith(b"\x89PNG")
    as_json = tmp_path / "retail.json"
    assert pulse(rated_run, "--bond", bond, "--role", "retail", "--out", as_json).exit_code == 0
    written = json.loads(as_json.read_text())
    assert written["role"] == "retail" and written["metadata"] == {}
    assert {row["instrument"] for row in written["rows"]} == {bond} and len(written["rows"]) == 2


def test_a_run_without_the_file_has_its_pulse_computed(tmp_path):
    path = small_scenario(tmp_path)
    scenario = load_scenario(path, ["pulse.enabled=false"])
    run_dir = sim.run(scenario, out=tmp_path).path
    out = pulse(run_dir, "--role", "regulator")
    assert out.exit_code == 0, out.output
    assert "source: computed from the run's records" in out.stdout.splitlines()


def test_a_heatmap_needs_daily_rows(tmp_path):
    scenario = load_scenario(small_scenario(tmp_path), ['pulse.intervals=["1h"]'])
    run_dir = sim.run(scenario, out=tmp_path).path
    out = pulse(run_dir, "--interval", "1h", "--heatmap", tmp_path / "map.png")
    assert out.exit_code == 2
    assert out.stderr == (
        f'--heatmap {tmp_path / "map.png"}: the Pulse has no daily ("1d") rows on the '
        "consolidated book\n"
    )


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--role", "retial"], "--role retial: unknown role 'retial' (did you mean retail?) "
                               "(roles: retail, professional, regulator)"),
        (["--bond", "{bond}X"], "--bond {bond}X: no bond '{bond}X' in the Pulse (did you mean "
                             "{bond}?)"),
        (["--interval", "2h"], "--interval 2h: the Pulse of {run} has 1d, 1h"),
        (["--out", "view.csv"], "--out view.csv: write .parquet or .json"),
        (["--heatmap", "map.jpg"], "--heatmap map.jpg: write .png, .svg, .pdf"),
        (["--out", "{run_dir}/view.json"], "--out {run_dir}/view.json: not inside the run "
                                           "folder, whose files its manifest lists"),
    ],
)  # fmt: skip
def test_a_bad_option_is_one_line_and_exit_2(rated_run, bond, args, line):
    names = {"bond": bond, "run": rated_run.name, "run_dir": rated_run}
    out = pulse(rated_run, *(a.format(**names) for a in args))
    assert out.exit_code == 2
    assert out.stderr == line.format(**names) + "\n" and out.stdout == ""


def test_a_missing_folder_is_one_line_and_exit_2(tmp_path):
    out = pulse(tmp_path / "nothing")
    assert out.exit_code == 2
    assert out.stderr == f"{tmp_path / 'nothing'}: no such results folder\n"
