"""The ``gate`` section: the gate decisions a run belongs to.

A gate decision (`sim.gate.decisions`, written by `sim.gate.registry.gate`) records among its
``artifacts`` the sha256 of each suite run's manifest, as ``manifests/<scenario>-seed<N>.json``,
the manifest written as JSON indented by 2 with sorted keys and a final newline. A run belongs
to a decision when one of those hashes is its manifest's: as its manifest.json holds it, or as
the run held it in memory before its folder was written (without the ``audit``, ``files`` and
``manifest_hash`` that writing adds), which is how a gate's suite runs hold theirs. Later
records of the decided version (its approval, a rollback from or to it) are shown with it.

This layer sits below the gate, so the command line reads and checks the decision log and
passes its records in (`Decisions`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sim.presentation.report.formats import number
from sim.presentation.report.model import FAIL, OK, Section, table

COLUMNS = ("seq", "time (UTC)", "kind", "model", "version", "passed", "alias",
           "production after", "who", "reason", "this run's manifest")  # fmt: skip
MANIFEST_ARTIFACTS = "manifests/"  # sim.gate.registry.MANIFEST_ARTIFACTS, as an artifact key
ADDED_WHEN_WRITTEN = ("audit", "files", "manifest_hash")  # sim.records.store.write_run's


@dataclass(frozen=True)
class Decisions:
    """A decision log's records (its chain checked by the caller) and where they came from."""

    source: str
    records: tuple[Mapping[str, Any], ...]


def manifest_digests(manifest: Mapping[str, Any]) -> frozenset[str]:
    """The sha256 a gate would record of this run's manifest, written and as held in memory."""
    held = {key: value for key, value in manifest.items() if key not in ADDED_WHEN_WRITTEN}
    return frozenset(_digest(m) for m in (manifest, held))


def _digest(manifest: Mapping[str, Any]) -> str:
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"  # as the gate writes it
    return hashlib.sha256(text.encode()).hexdigest()


def matching_decisions(
    manifest: Mapping[str, Any], records: Sequence[Mapping[str, Any]]
) -> list[tuple[Mapping[str, Any], str]]:
    """The decisions among `records` whose suite includes this run, each with the artifact
    that names it."""
    digests = manifest_digests(manifest)
    found = []
    for record in records:
        if record.get("kind") != "decision":
            continue
        for artifact, digest in sorted((record.get("artifacts") or {}).items()):
            if artifact.startswith(MANIFEST_ARTIFACTS) and digest in digests:
                found.append((record, artifact))
                break
    return found


def _later_records(
    decision: Mapping[str, Any], records: Sequence[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """The records after `decision` that concern its version: an approval of it, a rollback
    to it or from it."""
    name, version = decision.get("name"), decision.get("version")
    return [
        r
        for r in records
        if r.get("seq", -1) > decision.get("seq", -1)
        and r.get("name") == name
        and version in (r.get("version"), r.get("previous"))
    ]


def gate_section(manifest: Mapping[str, Any], decisions: Decisions | None) -> Section:
    """The decisions in `decisions` this run belongs to (None: no log was given)."""
    if decisions is None:
        return _none("The run belongs to no gate decision: no decision log was given "
                     "(bondlab report --decisions PATH).")  # fmt: skip
    found = matching_decisions(manifest, decisions.records)
    if not found:
        return _none(f"The run belongs to no gate decision in {decisions.source} "
                     f"({len(decisions.records)} records).")  # fmt: skip
    rows = []
    for decision, artifact in found:
        for r in (decision, *_later_records(decision, decisions.records)):
            rows.append((
                number(r.get("seq")), str(r.get("time")), str(r.get("kind")), str(r.get("name")),
                number(r.get("version")), _passed(r), str(r.get("alias") or "–"),
                number(r.get("production")), str(r.get("who")), str(r.get("reason") or "–"),
                artifact if r is decision else "",
            ))  # fmt: skip
    passed = all(d.get("passed") for d, _ in found)
    models = sorted({f"{d.get('name')} v{d.get('version')}" for d, _ in found})
    return Section(
        id="gate",
        status=OK if passed else FAIL,
        status_text="passed" if passed else "failed",
        lead=(
            f"The run is one of the suite runs of {len(found)} gate decision"
            f"{'s' * (len(found) != 1)} in {decisions.source}: {', '.join(models)}.",
        ),
        tables=(
            table(COLUMNS, rows, caption="Each decision, then the later records of its version"),
        ),
        notes=(
            "Matched by the sha256 of this run's manifest among each decision's artifacts; "
            "the decision log's hash chain was checked before it was read.",
        ),
    )


def _passed(record: Mapping[str, Any]) -> str:
    passed = record.get("passed")
    return "–" if passed is None else ("yes" if passed else "no")


def _none(line: str) -> Section:
    return Section(id="gate", lead=(line,))
