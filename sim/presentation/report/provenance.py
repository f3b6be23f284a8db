"""The report's first two sections: what was run (``scenario``: the scenario and where the
run came from, from its manifest) and whether it is what it says it is (``reproducibility``:
`sim.records.verify`'s verdict, shown whatever it is)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sim.presentation.report.formats import label, number
from sim.presentation.report.model import FAIL, OK, WARN, Section, table
from sim.records.verify import (
    ANOTHER_VERSION,
    INTACT,
    NOT_REPRODUCED,
    TAMPERED,
    VERIFIED,
    Verdict,
)

# The verdict's badge, and what it tells a reader in a sentence.
_VERDICTS = {
    VERIFIED: (OK, "The audit chain and every file match the manifest, and running the "
                   "manifest's scenario and seed again gave the same files, byte for byte."),
    INTACT: (OK, "The audit chain and every file match the manifest. The run was not "
                 "re-run for this report, so its reproducibility was not checked."),
    ANOTHER_VERSION: (WARN, "The files are intact, but the run was made with other code than "
                            "the code that checked it, and its re-run here differs: that says "
                            "nothing against the run, only that this code no longer makes it."),
    NOT_REPRODUCED: (FAIL, "The files match their manifest and the code is the same, but "
                           "running the manifest's scenario and seed again gives other files."),
    TAMPERED: (FAIL, "A record or a file is not what was written: the figures below are "
                     "withheld, since they would be read from altered files."),
}  # fmt: skip


def scenario_section(manifest: Mapping[str, Any]) -> Section:
    """The scenario and its provenance: the run's identity, the code that made it and the
    sha256 of every file, from `manifest` (a run's manifest.json)."""
    scenario = manifest.get("scenario") or {}
    audit = manifest.get("audit") or {}
    identity = table(
        ("", ""),
        [
            ("run", str(manifest.get("run_id"))),
            ("scenario", str((scenario.get("run") or {}).get("name"))),
            ("scenario hash", str(manifest.get("scenario_hash"))),
            ("seed", number(manifest.get("seed"))),
            ("git commit", str(manifest.get("git_commit") or "none (an installed bondlab)")),
            ("code hash", str(manifest.get("code_hash"))),
            ("wall time", f"{manifest.get('wall_time_s')} s"),
            ("audit trail", f"{audit.get('records')} records, ending {audit.get('final_hash')}"),
            ("manifest hash", str(manifest.get("manifest_hash"))),
        ],
        caption="Identity and provenance",
    )
    packages = table(
        ("package", "version"),
        sorted((name, str(version)) for name, version in (manifest.get("packages") or {}).items()),
        caption="Package versions",
    )
    files = table(
        ("file", "sha256"),
        sorted((name, str(digest)) for name, digest in (manifest.get("files") or {}).items()),
        caption="Files and their sha256 (manifest.json holds them, and a hash of itself)",
    )
    return Section(
        id="scenario",
        lead=_describe(scenario, manifest),
        tables=(identity, _population_table(scenario, manifest), packages, files),
        detail=json.dumps(scenario, indent=2, sort_keys=True),
        detail_title="The resolved scenario, as the manifest holds it",
    )


def _describe(scenario: Mapping[str, Any], manifest: Mapping[str, Any]) -> tuple[str, ...]:
    calendar = scenario.get("calendar") or {}
    venues = [str(v.get("name")) for v in scenario.get("venues") or ()]
    universe = scenario.get("universe") or {}
    bonds = universe.get("count") or len(scenario.get("instruments") or ())
    shocks = scenario.get("shocks") or ()
    lines = [
        f"{calendar.get('days')} trading days from {calendar.get('start')}, "
        f"{calendar.get('open')} to {calendar.get('close')}; {bonds} bonds on "
        f"{len(venues)} venue{'s' * (len(venues) != 1)} ({', '.join(venues)})."
    ]
    if shocks:
        listed = "; ".join(f"{label(str(s.get('kind')))} on day {s.get('day')}" for s in shocks)
        lines.append(f"Shocks: {listed}.")
    else:
        lines.append("No shocks: a calm market.")
    ledger = manifest.get("ledger") or {}
    if "conserved" in ledger:
        held = "held" if ledger["conserved"] else "did NOT hold"
        lines.append(f"Conservation of cash and units across the ledger {held}.")
    return tuple(lines)


def _population_table(scenario: Mapping[str, Any], manifest: Mapping[str, Any]):
    rows = []
    for name in manifest.get("population_order") or ():
        params = scenario.get(name) or {}
        size = params.get("count", params.get("investors"))
        rows.append((name, str(params.get("kind", name)), number(size)))
    return table(("population", "kind", "agents or investors"), rows, caption="Populations")


def reproducibility_section(verdict: Verdict) -> Section:
    """`verify`'s verdict on the run: its status, each finding, the versions that differ
    from the code running now and the files its re-run changed."""
    status, meaning = _VERDICTS[verdict.status]
    tables = []
    if verdict.versions_differ:
        tables.append(
            table(("what differs from the code now",), [(d,) for d in verdict.versions_differ])
        )
    if verdict.rerun_differs:
        tables.append(table(("files its re-run changed",), [(f,) for f in verdict.rerun_differs]))
    return Section(
        id="reproducibility",
        status=status,
        status_text=verdict.status,
        lead=(meaning,),
        tables=(table(("finding",), [(line,) for line in verdict.findings]), *tables),
        notes=(
            "Checked as bondlab verify checks: the hash chain of audit.jsonl and its final "
            "hash in the manifest, the manifest's own hash, the sha256 of every file, and "
            "(unless --no-rerun) a re-run of the manifest's scenario and seed compared byte "
            "for byte.",
        ),
    )
