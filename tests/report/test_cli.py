"""`bondlab report` on what it cannot report: a run folder `verify` cannot check (missing,
a corrupt manifest, an audit log cut short, a listed file gone), a decision log that cannot be
trusted, a page asked for inside the run's folder, a PDF without chromium. One line on stderr
naming what and where, exit status 2, no traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.gate.decisions import DecisionLog
from sim.records.audit import AUDIT_FILE

runner = CliRunner()


@pytest.fixture
def copy(run_dir, tmp_path) -> Path:
    return Path(shutil.copytree(run_dir, tmp_path / run_dir.name))


def report(*args):
    return runner.invoke(app, ["report", *map(str, args)])


def one_line_exit_2(out, expected: str) -> None:
    assert out.exit_code == 2, out.output
    assert out.stderr.startswith(expected), out.stderr
    assert out.stderr.count("\n") == 1 and out.stdout == "" and "Traceback" not in out.output


def cut_log_short(folder: Path) -> str:
    data = (folder / AUDIT_FILE).read_bytes()
    (folder / AUDIT_FILE).write_bytes(data[: data.index(b"\n", len(data) // 2) + 1])
    return f"{folder / AUDIT_FILE}: line "


@pytest.mark.parametrize(
    "damage",
    [
        lambda f: (shutil.rmtree(f), f"{f}: no such folder")[1],
        lambda f: ((f / "manifest.json").write_text('{"files": '),
                   f"{f / 'manifest.json'}: corrupt, not valid JSON (")[1],
        cut_log_short,
        lambda f: ((f / "quotes.parquet").unlink(),
                   f"{f / 'quotes.parquet'}: missing (the manifest lists it)")[1],
    ],
    ids=["missing folder", "corrupt manifest", "truncated audit log", "missing file"],
)  # fmt: skip
def test_a_folder_that_cannot_be_checked_is_one_line_and_exit_2(copy, damage):
    expected = damage(copy)
    out = report(copy, "--no-rerun")
    one_line_exit_2(out, expected)
    assert not (copy.parent / f"{copy.name}-report.html").exists()


def test_the_page_is_never_written_into_the_run_folder(copy):
    out = report(copy, "--no-rerun", "--out", copy / "report.html")
    one_line_exit_2(out, f"{copy / 'report.html'}: inside the run folder")


def test_a_decision_log_whose_chain_is_broken_is_refused(copy, tmp_path):
    log = DecisionLog(tmp_path)
    for version in (1, 2):
        log.append("decision", "desk", version, who="ci", passed=True, reason="ok")
    lines = log.path.read_text().splitlines()
    log.path.write_text("\n".join([lines[0].replace('"ok"', '"edited"'), lines[1]]) + "\n")
    out = report(copy, "--no-rerun", "--decisions", log.path)
    one_line_exit_2(out, f"{log.path}:1: its contents do not match its hash")


def test_a_decision_log_that_is_not_one_is_refused(copy, tmp_path):
    out = report(copy, "--no-rerun", "--decisions", tmp_path / "notes.txt")
    one_line_exit_2(out, f"{tmp_path / 'notes.txt'}: not a decision log")
    out = report(copy, "--no-rerun", "--decisions", tmp_path)
    one_line_exit_2(out, f"{tmp_path / 'decisions.jsonl'}: no such decision log")


def test_a_pdf_without_chromium_names_what_to_install(copy, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no chromium on it
    out = report(copy, "--no-rerun", "--pdf", "--out", tmp_path / "r.html")
    assert out.exit_code == 2, out.output
    assert out.stderr == (
        "no chromium found on PATH: install Debian's chromium "
        "(apt-get install --no-install-recommends chromium)\n"
    )
    assert (tmp_path / "r.html").is_file() and not (tmp_path / "r.pdf").exists()
