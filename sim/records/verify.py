"""Is a run what it says it is? `verify` checks a results folder three ways:

1. its audit trail: the hash chain of ``audit.jsonl`` holds, line by line, and ends in the
   final hash the manifest recorded (`sim.records.audit.check_chain`);
2. its files: the manifest is unedited (its ``manifest_hash``, and its bytes as bondlab writes
   them), and every file it lists has the sha256 it lists, with nothing else in the folder;
3. its reproducibility: the scenario and seed in the manifest, run again (`rerun`, the
   engine's ``sim.run``: this layer does not run the engine itself), give the same files,
   byte for byte.

The verdict, and the exit status ``bondlab verify`` gives it:

- ``verified`` (0): all three hold (``intact`` (0) when it was not re-run);
- ``tampered`` (1): a record or a file is not what was written (the first broken record and
  each differing file are named); it is not re-run;
- ``not reproduced`` (1): the files are intact and the code is the same, but its re-run gives
  other files: the manifest's scenario or seed did not make them;
- ``another version`` (3): the files are intact, but the run was made with other code (git
  commit, package versions or the code's own hash differ from now) and its re-run here gives
  other files: that says nothing against the run;
- a folder that cannot be checked (`BadRunFolder`: not a run folder, a manifest that is not
  JSON or lacks its tables, a listed file missing, an audit log cut short) (2).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.errors import BondlabError
from sim.records.audit import AUDIT_FILE, check_chain
from sim.records.store import (
    MANIFEST_FILE,
    MANIFEST_HASH,
    METRICS_FILE,
    REQUIRED_FRAMES,
    json_bytes,
    manifest_hash,
    sha256_file,
)

VERIFIED, INTACT = "verified", "intact"
TAMPERED, NOT_REPRODUCED, ANOTHER_VERSION = "tampered", "not reproduced", "another version"
EXIT_CODES = {VERIFIED: 0, INTACT: 0, TAMPERED: 1, NOT_REPRODUCED: 1, ANOTHER_VERSION: 3}
BAD_FOLDER_EXIT = 2


class BadRunFolder(BondlabError, ValueError):
    """A folder `verify` cannot check: its message is one line naming the file and why."""


@dataclass(frozen=True)
class Verdict:
    """What `verify` found: the `status` (module doc), a line per finding, the versions that
    differ from the code running now and the files its re-run changed (empty when none)."""

    status: str
    findings: tuple[str, ...]
    versions_differ: tuple[str, ...] = ()
    rerun_differs: tuple[str, ...] = ()

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


def verify(run_dir, rerun: Callable[..., Any] | None = None) -> Verdict:
    """Verify the run in `run_dir` (module doc); `rerun(scenario, seed=..., out=...)` runs a
    scenario into a folder and returns its `Result` (``sim.run``), None to skip the re-run.
    Raises `BadRunFolder` for a folder that cannot be checked."""
    path = Path(run_dir)
    manifest, raw = _read_manifest(path)
    differ = _versions_differ(manifest)
    edited = _manifest_edits(path, manifest, raw)
    if edited:  # its listing cannot be trusted: what else it can tell is a bonus
        return Verdict(TAMPERED, tuple(edited + _damage_against(path, manifest)), differ)
    listed = _listed_files(path, manifest)
    findings = _required_listed(path, manifest)
    findings += _audit_findings(path, manifest)
    findings += _file_findings(path, listed)
    if findings:
        if differ:
            findings.append(f"note: it was also made with another version ({'; '.join(differ)})")
        return Verdict(TAMPERED, tuple(findings), differ)
    if rerun is None:
        return Verdict(INTACT, ("intact: the audit chain and every file match the manifest; "
                                "not re-run",), differ)  # fmt: skip
    changed, problem = _rerun_differs(path, manifest, rerun)
    if not changed:
        line = "verified: the audit chain and every file match the manifest, and its re-run " \
               "gives the same files"  # fmt: skip
        notes = (f"note: made with another version ({'; '.join(differ)}), same result",)
        return Verdict(VERIFIED, (line, *(notes if differ else ())), differ)
    what = problem or f"its re-run gives other {', '.join(changed)}"
    if differ:
        line = (f"another version: made with {'; '.join(differ)}; {what}. The files "
                "themselves are intact (the audit chain and every sha256 hold)")  # fmt: skip
        return Verdict(ANOTHER_VERSION, (line,), differ, tuple(changed))
    line = (f"not reproduced: made with this code, but {what}: the manifest's scenario and "
            "seed do not give these files (the files match their manifest)")  # fmt: skip
    return Verdict(NOT_REPRODUCED, (line,), differ, tuple(changed))


# --- the folder and its manifest ----------------------------------------------------------


def _read_manifest(path: Path) -> tuple[dict[str, Any], bytes]:
    if not path.exists():
        raise BadRunFolder(f"{path}: no such folder")
    if not path.is_dir():
        raise BadRunFolder(f"{path}: not a run folder (not a folder)")
    file = path / MANIFEST_FILE
    if not file.is_file():
        raise BadRunFolder(f"{path}: not a run folder (no {MANIFEST_FILE})")
    raw = file.read_bytes()
    try:
        manifest = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRunFolder(f"{file}: corrupt, not valid JSON ({_first_line(exc)})") from None
    if not isinstance(manifest, dict):
        raise BadRunFolder(f"{file}: corrupt, not a JSON object")
    if "audit" not in manifest and MANIFEST_HASH not in manifest:
        raise BadRunFolder(f"{file}: no audit trail recorded (a run written before bondlab "
                           "kept one, or not a run's manifest)")  # fmt: skip
    return manifest, raw


def _listed_files(path: Path, manifest: dict[str, Any]) -> dict[str, str]:
    file = path / MANIFEST_FILE
    listed = manifest.get("files")
    if not isinstance(listed, dict) or not all(isinstance(v, str) for v in listed.values()):
        raise BadRunFolder(f"{file}: corrupt, no 'files' table of sha256 hashes")
    audit = manifest.get("audit")
    if not isinstance(audit, dict) or AUDIT_FILE not in listed:
        raise BadRunFolder(f"{file}: no audit trail recorded (a run written before bondlab "
                           "kept one, or not a run's manifest)")  # fmt: skip
    for name in sorted(listed):
        if name in ("", ".", "..") or Path(name).name != name:
            raise BadRunFolder(f"{file}: corrupt, lists {name!r}, not a file in the run folder")
        if not (path / name).is_file():
            raise BadRunFolder(f"{path / name}: missing (the manifest lists it)")
    chain = check_chain(path / AUDIT_FILE)
    if chain.broken is not None and chain.broken.truncated:
        raise BadRunFolder(f"{path / AUDIT_FILE}: line {chain.broken.line}: {chain.broken.reason}")
    return listed


def _manifest_edits(path: Path, manifest: dict[str, Any], raw: bytes) -> list[str]:
    file = path / MANIFEST_FILE
    if manifest.get(MANIFEST_HASH) != manifest_hash(manifest):
        return [f"tampered: {file}: its contents do not match its {MANIFEST_HASH} (the "
                "manifest was edited)"]  # fmt: skip
    if raw != json_bytes(manifest):
        return [f"tampered: {file}: its bytes are not as bondlab wrote them"]
    return []


def _damage_against(path: Path, manifest: dict[str, Any]) -> list[str]:
    """The listed files that differ from an edited manifest's hashes, where it can tell."""
    listed = manifest.get("files")
    if not isinstance(listed, dict):
        return []
    findings = []
    for name, digest in sorted(listed.items()):
        file = path / str(name)
        if Path(str(name)).name == name and file.is_file() and sha256_file(file) != digest:
            findings.append(f"tampered: {file}: its sha256 differs from the manifest's")
    return findings


def _required_listed(path: Path, manifest: dict[str, Any]) -> list[str]:
    required = [f"{name}.parquet" for name in REQUIRED_FRAMES] + [METRICS_FILE]
    return [f"tampered: {path / MANIFEST_FILE}: {name} is not listed"
            for name in required if name not in manifest["files"]]  # fmt: skip


def _audit_findings(path: Path, manifest: dict[str, Any]) -> list[str]:
    file = path / AUDIT_FILE
    chain = check_chain(file)
    if chain.broken is not None:
        return [f"tampered: {file}: line {chain.broken.line}: {chain.broken.reason}"]
    recorded = manifest["audit"]
    if chain.final_hash != recorded.get("final_hash") or chain.records != recorded.get("records"):
        return [f"tampered: {file}: its chain holds, but it ends in another hash than the "
                f"manifest's final_hash (line {chain.records}): the log was replaced"]  # fmt: skip
    return []


def _file_findings(path: Path, listed: dict[str, str]) -> list[str]:
    findings = []
    for name, digest in sorted(listed.items()):
        if sha256_file(path / name) != digest:
            findings.append(f"tampered: {path / name}: its sha256 differs from the manifest's "
                            "(the file was changed)")  # fmt: skip
    for file in sorted(path.iterdir()):
        if file.name not in listed and file.name != MANIFEST_FILE:
            findings.append(f"tampered: {file}: not listed in the manifest (added)")
    return findings


# --- versions and the re-run -------------------------------------------------------------


def _versions_differ(manifest: dict[str, Any]) -> tuple[str, ...]:
    """What differs between the code that made the run and the code running now."""
    from sim.records.summary import code_version

    now = code_version()
    differ = []
    then_commit, now_commit = manifest.get("git_commit"), now["git_commit"]
    if then_commit != now_commit:
        differ.append(f"git commit {_short(then_commit)}, now {_short(now_commit)}")
    then_packages = manifest.get("packages") or {}
    for name, version in now["packages"].items():
        if then_packages.get(name) != version:
            differ.append(f"{name} {then_packages.get(name)}, now {version}")
    then_code = manifest.get("code_hash")
    if then_code != now["code_hash"]:
        known = "unrecorded" if then_code is None else _short(then_code)
        differ.append(f"code hash {known}, now {_short(now['code_hash'])}")
    return tuple(differ)


def _rerun_differs(path: Path, manifest: dict[str, Any], rerun) -> tuple[list[str], str | None]:
    """The files whose re-run differs (with a reason when it could not be re-run at all)."""
    from sim.scenario import ScenarioError, scenario_from_dict

    try:
        document = dict(manifest["scenario"])
        order = [name for name in manifest.get("population_order", ()) if name in document]
        # populations in the order they ran (the file's keys are sorted): it sets their seeds
        document = {**{k: v for k, v in document.items() if k not in order},
                    **{name: document[name] for name in order}}  # fmt: skip
        scenario = scenario_from_dict(document, source=str(path / MANIFEST_FILE))
    except (ScenarioError, KeyError, TypeError, ValueError) as exc:
        return ["scenario"], f"its scenario no longer loads ({_first_line(exc)})"
    if scenario.hash != manifest.get("scenario_hash"):
        return ["scenario"], "its scenario resolves to another scenario hash"
    with tempfile.TemporaryDirectory(prefix="bondlab-verify-") as tmp:
        result = rerun(scenario, seed=manifest.get("seed"), out=Path(tmp))
        again = dict(result.manifest["files"])
        final = result.manifest.get("audit", {}).get("final_hash")
    recorded = manifest["files"]
    changed = sorted(name for name in {*recorded, *again} if recorded.get(name) != again.get(name))
    if not changed and final != manifest["audit"].get("final_hash"):
        changed = [AUDIT_FILE]
    return changed, None


def _short(value: Any) -> str:
    return "none" if value is None else str(value)[:12]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
