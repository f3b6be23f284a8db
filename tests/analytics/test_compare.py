"""Runs side by side: `sim.presentation.compare` on hand-built runs whose market quality and
spreads are worked out by hand, and `bondlab compare` on results folders, good and bad, and on
a real small run with a shock."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import sim
from sim.analytics.stress import stress_outcomes
from sim.cli import app
from sim.presentation import compare
from sim.records.recorder import Recorder
from sim.records.result import Result
from tests.helpers.scenarios import small_scenario

OPEN0 = 1_704_100_500 * 10**9  # Monday 2024-01-01 09:15, in ns
DAY = 86_400 * 10**9
CALENDAR = {"start": "2024-01-01", "days": 4, "open": "09:15", "close": "15:30", "holidays": []}
INSTRUMENTS = pl.DataFrame(
    {
        "symbol": ["SAFE"],
        "tick_size": ["0.01"],
        "unit_face_value": [1000],
        "rating": ["AAA"],
        "maturity": [None],
    },
    schema_overrides={"maturity": pl.Date},
)
AGENTS = pl.DataFrame({"agent": [1], "kind": ["retail"]})
BOOK = {"spread_bps_median": None, "depth_top5_mean": None, "volatility_1min": None,
        "turnover_notional_rupees": None}  # fmt: skip
runner = CliRunner()
BONDLAB = Path(sys.executable).parent / "bondlab"


def hand_run(name: str, shock_day: int | None, market_quality: dict) -> Result:
    """Four days of one SAFE book quoting spreads of 20, 30, 50 and 100 bp of a 100.00 mid."""
    rec = Recorder()
    for day, half_spread in enumerate((10, 15, 25, 50)):
        rec.book(OPEN0 + day * DAY + 60 * 10**9, "NSE", "SAFE", [(10_000 - half_spread, 10)],
                 [(10_000 + half_spread, 10)])  # fmt: skip
        rec.fair_value(OPEN0 + day * DAY, "SAFE", 100.0, 0.07 + day / 1000, 50.0)
    shocks = [] if shock_day is None else [{"kind": "panic", "day": shock_day, "intensity": 1}]
    manifest = {
        "run_id": f"{name}-seed3-abc",
        "seed": 3,
        # hand-made books are not a whole run: no Pulse to compute
        "scenario": {
            "run": {"name": name},
            "calendar": CALENDAR,
            "shocks": shocks,
            "pulse": {"enabled": False},
        },
    }
    metrics = {"market_quality": market_quality, "summary": {"trading_days": 4}}
    tables = {**rec.frames(), "agents": AGENTS, "instruments": INSTRUMENTS}
    return Result.in_memory(tables, metrics, manifest)


@pytest.fixture
def runs(tmp_path) -> list[Path]:
    """Two runs on disk: `stressed` (a shock on day 2) and `calm` (none)."""
    books = {
        "SAFE": {
            "NSE": {**BOOK, "spread_bps_median": 10.0, "depth_top5_mean": 100.0,
                    "volatility_1min": 0.001, "turnover_notional_rupees": 1e6},
            "BSE": {**BOOK, "spread_bps_median": 30.0, "depth_top5_mean": 200.0,
                    "volatility_1min": 0.003, "turnover_notional_rupees": 3e6},
        },
        "RISKY": {"NSE": {**BOOK, "spread_bps_median": 40.0, "turnover_notional_rupees": 0.0}},
    }  # fmt: skip
    stressed = hand_run("stressed", 2, books).save(tmp_path / "results")
    calm = hand_run("calm", None, {"SAFE": {"NSE": dict(BOOK)}}).save(tmp_path / "results")
    return [stressed.path, calm.path]


def test_market_quality_is_pooled_over_the_books():
    books = {
        "A": {
            "X": {**BOOK, "spread_bps_median": 10.0, "depth_top5_mean": 100.0,
                  "volatility_1min": 0.001, "turnover_notional_rupees": 1e6},
            "Y": {**BOOK, "spread_bps_median": 30.0, "depth_top5_mean": 200.0,
                  "volatility_1min": 0.003, "turnover_notional_rupees": 3e6},
        },
        "B": {"X": {**BOOK, "spread_bps_median": 40.0, "turnover_notional_rupees": 0.0}},
    }  # fmt: skip
    metrics = {"market_quality": books, "summary": {"trading_days": 4}}
    pooled = compare.pooled_market_quality(metrics)
    # Median of 10, 30, 40; mean of 100 and 200; mean of 0.001 and 0.003; 4 million over 4 days.
    expected = {"spread_bp": 30.0, "depth_top5": 150.0, "volatility_1min": 0.002,
                "turnover_rupees_per_day": 1e6}  # fmt: skip
    assert pooled == pytest.approx(expected)
    empty = {"market_quality": {"A": {"X": BOOK}}, "summary": {"trading_days": 4}}
    assert set(compare.pooled_market_quality(empty).values()) == {None}


def test_one_row_per_run_with_market_quality_and_stress_outcomes(runs):
    table = compare.compare([runs[0], str(runs[1])])  # paths, as Path or str
    assert table["run_id"].to_list() == ["stressed-seed3-abc", "calm-seed3-abc"]
    assert table.columns[:8] == [
        "run_id", "scenario", "seed", "trading_days",
        "spread_bp", "depth_top5", "volatility_1min", "turnover_rupees_per_day",
    ]  # fmt: skip
    stressed, calm = table.rows(named=True)
    assert (stressed["scenario"], stressed["seed"], stressed["trading_days"]) == ("stressed", 3, 4)
    assert stressed["spread_bp"] == 30.0 and stressed["turnover_rupees_per_day"] == 1e6
    # Daily spreads 20, 30 | 50, 100: the widest day over the reference mean of 25.
    assert stressed["spread_multiple"] == pytest.approx(4.0)
    assert stressed["yield_move_bp"] == pytest.approx(20.0)  # 7.3% on day 3 against 7.1%
    outcomes = stress_outcomes(Result.load(runs[0]))
    assert {k: stressed[k] for k in outcomes} == outcomes
    assert calm["shock_day"] is None and calm["spread_multiple"] is None
    assert calm["spread_bp"] is None


def test_results_in_memory_compare_like_folders(runs):
    loaded = [Result.load(path) for path in runs]
    assert compare.compare(loaded).equals(compare.compare(runs))
    assert compare.compare(runs, pre_days=1)["spread_multiple"][0] == pytest.approx(100 / 30)


def test_nothing_to_compare_is_refused():
    with pytest.raises(ValueError, match=r"^no runs to compare$"):
        compare.compare([])


def test_the_figure_draws_each_runs_daily_paths_and_marks_its_shock(runs):
    fig = compare.figure(runs)
    spread_ax, depth_ax, yield_ax = fig.axes
    assert [ax.get_title() for ax in fig.axes] == [
        "Median quoted spread", "Mean top-5 depth", "Mean fair yield",
    ]  # fmt: skip
    stressed, shock, calm = spread_ax.lines  # the calm run has no shock to mark
    assert list(stressed.get_xdata()) == [0, 1, 2, 3]
    assert list(stressed.get_ydata()) == pytest.approx([20.0, 30.0, 50.0, 100.0])
    assert list(shock.get_xdata()) == [2, 2]
    assert stressed.get_label() == "stressed-seed3-abc" and calm.get_label() == "calm-seed3-abc"
    assert list(depth_ax.lines[0].get_ydata()) == [20.0] * 4
    assert list(yield_ax.lines[0].get_ydata()) == pytest.approx([7.0, 7.1, 7.2, 7.3])


def test_write_replaces_both_files_and_leaves_no_temporary(runs, tmp_path):
    out = tmp_path / "compare"
    table = compare.compare(runs)
    compare.write(table.head(1), compare.figure(runs[:1]), out)
    csv, png = compare.write(table, compare.figure(runs), out)
    assert sorted(p.name for p in out.iterdir()) == ["compare.csv", "compare.png"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (
        pl.read_csv(csv, infer_schema_length=None).rows()
        == pl.read_csv(table.write_csv().encode(), infer_schema_length=None).rows()
    )
    assert pl.read_csv(csv)["run_id"].to_list() == ["stressed-seed3-abc", "calm-seed3-abc"]


def test_a_failed_write_leaves_no_temporary_file(runs, tmp_path):
    out = tmp_path / "compare"
    (out / "compare.png").mkdir(parents=True)  # a folder the image cannot replace
    with pytest.raises(OSError):
        compare.write(compare.compare(runs), compare.figure(runs), out)
    assert sorted(p.name for p in out.iterdir()) == ["compare.csv", "compare.png"]


# --- bondlab compare ------------------------------------------------------------------------


def invoke(*args):
    return runner.invoke(app, ["compare", *map(str, args)])


def test_compare_prints_a_row_per_run_and_writes_both_files(runs, tmp_path):
    out = tmp_path / "cmp"
    result = invoke(*runs, "--out", out)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[-2:] == [str(out / "compare.csv"), str(out / "compare.png")]
    stressed = next(line for line in lines if "stressed-seed3-abc" in line)
    cells = [cell.strip() for cell in stressed.split("│")[1:-1]]
    # Run, scenario, spread bp, depth, volatility, turnover a day, then the spread multiple.
    assert cells[:7] == ["stressed-seed3-abc", "stressed", "30", "150", "0.002", "1,000,000", "4"]
    assert any("calm-seed3-abc" in line for line in lines)
    assert pl.read_csv(out / "compare.csv").height == 2


def test_compare_writes_to_results_compare_by_default(runs, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert invoke(runs[0]).exit_code == 0
    assert (tmp_path / "results" / "compare" / "compare.png").is_file()


def test_a_missing_run_is_one_line_and_nothing_is_written(runs, tmp_path):
    out, missing = tmp_path / "cmp", tmp_path / "nope"
    result = invoke(runs[0], missing, "--out", out)
    assert (result.exit_code, result.stderr, result.stdout) == (
        2,
        f"{missing}: no such results folder\n",
        "",
    )
    assert not out.exists()


def test_a_damaged_run_is_one_line_and_nothing_is_written(runs, tmp_path):
    trades = runs[1] / "trades.parquet"
    trades.write_bytes(trades.read_bytes() + b"x")
    out = tmp_path / "cmp"
    result = invoke(*runs, "--out", out)
    assert result.exit_code == 2
    assert result.stderr == f"{trades}: sha256 does not match manifest (file changed or corrupt)\n"
    assert not out.exists()


def test_a_manifest_without_its_calendar_is_one_line(runs, tmp_path):
    file = runs[0] / "manifest.json"
    manifest = json.loads(file.read_text())
    del manifest["scenario"]["calendar"]["open"]
    file.write_text(json.dumps(manifest))
    result = invoke(runs[0], "--out", tmp_path / "cmp")
    assert (result.exit_code, result.stderr) == (
        2,
        f"{runs[0]}: manifest.json has no scenario calendar (open missing)\n",
    )


def test_no_runs_is_a_usage_error():
    result = runner.invoke(app, ["compare"])
    assert result.exit_code == 2
    assert "Missing argument 'RUN_DIR'" in result.stderr


def test_an_unwritable_output_folder_is_one_line(runs, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = invoke(runs[0], "--out", blocker / "cmp")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and str(blocker / "cmp") in result.stderr


def test_console_script_missing_run(tmp_path):
    missing = tmp_path / "nope"
    out = subprocess.run([BONDLAB, "compare", missing], capture_output=True, text=True, timeout=60)
    assert (out.returncode, out.stderr) == (2, f"{missing}: no such results folder\n")


def test_a_real_run_with_a_shock_compares(tmp_path):
    """A small run (one bond, one-hour sessions) with a panic on day 1 of 3, end to end."""
    shock = ['shocks=[{kind = "panic", day = 1, intensity = 0.8}]']
    scenario = sim.load_scenario(small_scenario(tmp_path, days=3), shock)
    run = sim.run(scenario, seed=1, out=tmp_path / "results")
    result = invoke(run.path, "--out", tmp_path / "cmp")
    assert result.exit_code == 0, result.output
    (row,) = pl.read_csv(tmp_path / "cmp" / "compare.csv").rows(named=True)
    assert (row["scenario"], row["shock_day"], row["reference_days"]) == ("small", 1, 1)
    assert row["spread_multiple"] > 0 and row["depth_multiple"] > 0
    assert 0 <= row["maker_presence"] <= 1
    assert row["yield_move_bp"] is None  # its fundamental is not a bond's: no yields
