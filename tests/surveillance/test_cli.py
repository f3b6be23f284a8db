"""`bondlab surveil RUN_DIR`: the alerts of a run as a table, one detector or all, written to
parquet on request; a user's mistake is one line and exit status 2."""

from __future__ import annotations

import shutil

import polars as pl
import pytest
from typer.testing import CliRunner

from sim.analytics.surveillance import ALERT_COLUMNS, surveil_result
from sim.cli import app

runner = CliRunner()


def test_it_prints_every_alert_of_the_run(planted_run):
    out = runner.invoke(app, ["surveil", str(planted_run.path)])
    assert out.exit_code == 0, out.output
    alerts = surveil_result(planted_run)
    assert f"{planted_run.run_id}: {alerts.height} alerts" in out.stdout
    for detector in ("spoofing", "layering", "wash_trade", "marking_the_close"):
        assert detector in out.stdout
    first = alerts.row(0, named=True)
    assert first["evidence"] in out.stdout
    assert "the first 50 of" in out.stdout  # --out writes them all


def test_one_detector_written_to_parquet(planted_run, tmp_path):
    file = tmp_path / "alerts.parquet"
    out = runner.invoke(
        app, ["surveil", str(planted_run.path), "--detector", "wash_trade", "--out", str(file)]
    )
    assert out.exit_code == 0, out.output
    written = pl.read_parquet(file)
    assert tuple(written.columns) == ALERT_COLUMNS
    assert set(written["detector"]) == {"wash_trade"}
    expected = surveil_result(planted_run).filter(pl.col("detector") == "wash_trade")
    assert written.equals(expected)
    assert out.stdout.rstrip().endswith(str(file))
    assert f"wash_trade {written.height}" in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--detector", "spoofin"], "--detector spoofin: no such detector (did you mean spoofing?"),
        (["--detector", "front_running"], "--detector front_running: no such detector"),
        (["--out", "/nonexistent/folder/alerts.parquet"],
         "/nonexistent/folder/alerts.parquet: cannot be written (No such file or directory)"),
    ],
    ids=["near-miss", "unknown", "unwritable"],
)  # fmt: skip
def test_a_mistake_is_one_line_and_status_2(planted_run, args, message):
    out = runner.invoke(app, ["surveil", str(planted_run.path), *args])
    assert out.exit_code == 2
    assert out.output.startswith(message)
    assert len(out.output.strip().splitlines()) == 1


def test_a_folder_that_is_not_a_run(tmp_path):
    out = runner.invoke(app, ["surveil", str(tmp_path / "nothing")])
    assert out.exit_code == 2
    assert out.output.strip() == f"{tmp_path / 'nothing'}: no such results folder"


def test_a_damaged_run_is_one_line(planted_run, tmp_path):
    copy = tmp_path / planted_run.path.name
    shutil.copytree(planted_run.path, copy)
    (copy / "trades.parquet").write_bytes(b"not parquet")
    out = runner.invoke(app, ["surveil", str(copy)])
    assert out.exit_code == 2
    assert "trades.parquet: sha256 does not match manifest" in out.output
    assert len(out.output.strip().splitlines()) == 1
