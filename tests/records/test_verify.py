"""`bondlab verify`: the audit chain, every file against the manifest, and a re-run from the
manifest; any byte flipped in any file is caught and named; a run made with other code is told
apart from tampering; a folder that cannot be checked is one line and exit status 2."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.records import summary
from sim.records.audit import AUDIT_FILE
from sim.records.store import json_bytes, manifest_hash
from sim.records.verify import (
    ANOTHER_VERSION,
    INTACT,
    NOT_REPRODUCED,
    TAMPERED,
    VERIFIED,
    BadRunFolder,
    verify,
)
from tests.helpers.scenarios import small_scenario

runner = CliRunner()


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    return sim.load_scenario(small_scenario(tmp_path_factory.mktemp("scenario"), days=1))


@pytest.fixture(scope="module")
def pristine(scenario, tmp_path_factory) -> Path:
    """A run folder no test changes (each works on a copy)."""
    return sim.run(scenario, seed=5, out=tmp_path_factory.mktemp("pristine")).path


@pytest.fixture
def copy(pristine, tmp_path) -> Path:
    return Path(shutil.copytree(pristine, tmp_path / pristine.name))


def edit_manifest(folder: Path, change) -> None:
    """Change the manifest as a careful forger would: its own hash made to match."""
    manifest = json.loads((folder / "manifest.json").read_text())
    change(manifest)
    manifest["manifest_hash"] = manifest_hash(manifest)
    (folder / "manifest.json").write_bytes(json_bytes(manifest))


def cli(*args):
    return runner.invoke(app, ["verify", *map(str, args)])


def test_a_clean_run_verifies_with_its_rerun(pristine):
    verdict = verify(pristine, rerun=sim.run)
    assert verdict.status == VERIFIED and verdict.exit_code == 0 and not verdict.versions_differ
    out = cli(pristine)
    assert out.exit_code == 0, out.output
    assert out.stdout.startswith("verified: the audit chain and every file match the manifest")
    assert verify(pristine).status == INTACT  # without the re-run
    assert cli(pristine, "--no-rerun").exit_code == 0


def test_a_run_of_another_version_whose_rerun_differs_is_not_called_tampering(
    scenario, tmp_path, monkeypatch
):
    """Made by "other code": it writes another metrics.json and says so in its manifest."""
    other = {"git_commit": "1" * 40, "packages": {"numba": "0.1"}, "code_hash": "f" * 64}
    with monkeypatch.context() as patch:
        patch.setattr(summary, "code_version", lambda: dict(other))
        metrics = summary.metrics
        patch.setattr(summary, "metrics", lambda *a: {**metrics(*a), "old_metric": 1})
        old = sim.run(scenario, seed=5, out=tmp_path).path
    verdict = verify(old, rerun=sim.run)
    assert verdict.status == ANOTHER_VERSION and verdict.exit_code == 3
    assert verdict.rerun_differs == ("metrics.json",)
    (line,) = verdict.findings
    assert line.startswith("another version: made with git commit 111111111111, now ")
    assert "numba 0.1, now " in line and "code hash ffffffffffff, now " in line
    assert "other metrics.json" in line and "The files themselves are intact" in line
    assert "tamper" not in line
    out = cli(old)
    assert out.exit_code == 3 and out.stdout == line + "\n"


def test_another_version_that_gives_the_same_files_verifies(copy):
    edit_manifest(copy, lambda m: m.update(git_commit="2" * 40))
    verdict = verify(copy, rerun=sim.run)
    assert verdict.status == VERIFIED and verdict.versions_differ
    assert verdict.findings[1].startswith("note: made with another version (git commit 2222")


def test_a_manifest_whose_seed_was_changed_is_not_reproduced(copy):
    """A forger who changed the seed and made the manifest's own hash match: the files match
    the manifest, but the same code does not make them from it."""
    edit_manifest(copy, lambda m: m.update(seed=6))
    verdict = verify(copy, rerun=sim.run)
    assert verdict.status == NOT_REPRODUCED and verdict.exit_code == 1
    assert "trades.parquet" in verdict.rerun_differs
    assert verdict.findings[0].startswith("not reproduced: made with this code, but its re-run")


def test_an_edited_manifest_is_tampering(copy):
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["wall_time_s"] = manifest["wall_time_s"] + 1  # without fixing its own hash
    (copy / "manifest.json").write_bytes(json_bytes(manifest))
    verdict = verify(copy)
    assert verdict.status == TAMPERED
    assert verdict.findings == (
        f"tampered: {copy / 'manifest.json'}: its contents do not match its manifest_hash "
        "(the manifest was edited)",
    )


def test_a_replaced_audit_log_is_caught_by_the_manifests_final_hash(copy, tmp_path):
    other = sim.run(sim.load_scenario(small_scenario(tmp_path, days=1)), seed=6, out=tmp_path)
    shutil.copy(other.path / AUDIT_FILE, copy / AUDIT_FILE)  # a chain that holds by itself
    edit_manifest(
        copy, lambda m: m["files"].update({AUDIT_FILE: other.manifest["files"][AUDIT_FILE]})
    )
    verdict = verify(copy)
    assert verdict.status == TAMPERED
    assert verdict.findings[0].startswith(f"tampered: {copy / AUDIT_FILE}: its chain holds, but")


def test_an_added_file_is_named(copy):
    (copy / "notes.txt").write_text("later\n")
    verdict = verify(copy)
    assert verdict.findings == (
        f"tampered: {copy / 'notes.txt'}: not listed in the manifest (added)",
    )
    assert cli(copy, "--no-rerun").exit_code == 1


# --- any byte of any file -------------------------------------------------------------------

FILES = sorted(
    ["accounts.parquet", "agents.parquet", AUDIT_FILE, "book.parquet", "curve.parquet",
     "fair_values.parquet", "instruments.parquet", "manifest.json", "metrics.json",
     "orders.parquet", "pulse.parquet", "quotes.parquet", "trades.parquet",
     "transfers.parquet"]
)  # fmt: skip


def test_the_flip_test_covers_every_file(pristine):
    assert sorted(p.name for p in pristine.iterdir()) == FILES


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.sampled_from(FILES), where=st.floats(0, 1, exclude_max=True),
       mask=st.integers(1, 255))  # fmt: skip
def test_a_byte_flipped_anywhere_is_caught_and_named(pristine, name, where, mask):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(shutil.copytree(pristine, Path(tmp) / pristine.name))
        file = folder / name
        data = bytearray(file.read_bytes())
        position = int(where * len(data))
        data[position] ^= mask
        file.write_bytes(bytes(data))
        try:
            verdict = verify(folder)
        except BadRunFolder as exc:  # a manifest no longer JSON, a log cut short
            report, code = str(exc), 2
        else:
            report, code = "\n".join(verdict.findings), verdict.exit_code
            assert verdict.status == TAMPERED
        assert code in (1, 2)
        assert report.startswith(f"tampered: {file}:") or report.startswith(f"{file}:")
        if name == AUDIT_FILE:  # the record that holds the byte
            line = data.count(b"\n", 0, position) + 1
            assert f"{file}: line {line}: " in report


# --- folders that cannot be checked ----------------------------------------------------------


def cut_log_mid_line(folder: Path) -> str:
    data = (folder / AUDIT_FILE).read_bytes()
    (folder / AUDIT_FILE).write_bytes(data[:-30])
    lines = data.count(b"\n")
    return f"{folder / AUDIT_FILE}: line {lines}: cut short: the last line is incomplete"


def cut_log_at_a_line(folder: Path) -> str:
    data = (folder / AUDIT_FILE).read_bytes()
    kept = data[: data.index(b"\n", len(data) // 2) + 1]
    (folder / AUDIT_FILE).write_bytes(kept)
    lines = kept.count(b"\n")
    return f"{folder / AUDIT_FILE}: line {lines}: cut short: the log ends without"


def old_run(folder: Path) -> str:
    manifest = json.loads((folder / "manifest.json").read_text())
    for key in ("audit", "manifest_hash"):
        manifest.pop(key)
    manifest["files"].pop(AUDIT_FILE)
    (folder / AUDIT_FILE).unlink()
    (folder / "manifest.json").write_bytes(json_bytes(manifest))
    return f"{folder / 'manifest.json'}: no audit trail recorded"


@pytest.mark.parametrize(
    "damage",
    [
        lambda f: (shutil.rmtree(f), f"{f}: no such folder")[1],
        lambda f: ((f / "manifest.json").unlink(), f"{f}: not a run folder (no manifest.json)")[1],
        lambda f: ((f / "manifest.json").write_text('{"files": '),
                   f"{f / 'manifest.json'}: corrupt, not valid JSON (")[1],
        lambda f: ((f / "manifest.json").write_text("[1, 2]"),
                   f"{f / 'manifest.json'}: corrupt, not a JSON object")[1],
        lambda f: (edit_manifest(f, lambda m: m.pop("files")),
                   f"{f / 'manifest.json'}: corrupt, no 'files' table of sha256 hashes")[1],
        lambda f: ((f / "trades.parquet").unlink(),
                   f"{f / 'trades.parquet'}: missing (the manifest lists it)")[1],
        lambda f: ((f / AUDIT_FILE).unlink(),
                   f"{f / AUDIT_FILE}: missing (the manifest lists it)")[1],
        cut_log_mid_line,
        cut_log_at_a_line,
        old_run,
    ],
    ids=["no folder", "no manifest", "manifest not JSON", "manifest not an object",
         "no files table", "missing file", "missing audit log", "log cut mid-line",
         "log cut at a line", "written before audit logs"],
)  # fmt: skip
def test_a_folder_that_cannot_be_checked_is_one_line_and_exit_2(copy, damage):
    expected = damage(copy)
    out = cli(copy)
    assert out.exit_code == 2, out.output
    assert out.stderr.startswith(expected) and out.stderr.count("\n") == 1
    assert out.stdout == "" and "Traceback" not in out.output


def test_a_file_is_not_a_run_folder(tmp_path):
    file = tmp_path / "run.txt"
    file.write_text("x")
    out = cli(file)
    assert out.exit_code == 2 and out.stderr == f"{file}: not a run folder (not a folder)\n"
