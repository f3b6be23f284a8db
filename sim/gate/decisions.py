"""The gate's decision log: every decision, approval and rollback, append-only and
hash-chained, and the alias history MLflow does not keep (mlflow/mlflow#2169).

One JSON object a line (``decisions.jsonl``). Each record carries ``seq`` (0 first), ``time``
(UTC, ISO 8601), ``kind`` ("decision", "approval", "rollback", ...), the registered model's
``name`` and ``version``, ``who``, the ``production`` version after it (None: no alias) and
whatever the event says (metrics, thresholds, checks, artifact hashes, the reason), then
``prev`` (the previous record's ``hash``; 64 zeros for the first) and ``hash``, the SHA-256 of
the record's canonical JSON without ``hash`` (sorted keys, no spaces). Editing, removing or
reordering a record breaks the chain at that record: `verify` names the first one broken.

The file is only ever opened for appending, and each record is flushed and synced before
`append` returns.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sim.errors import BondlabError

LOG_FILE = "decisions.jsonl"
GENESIS = "0" * 64


class DecisionLogError(BondlabError, ValueError):
    """The decision log cannot be read, or its chain is broken."""


def record_hash(record: Mapping[str, Any]) -> str:
    """The SHA-256 of `record`'s canonical JSON, its ``hash`` left out."""
    body = {key: value for key, value in record.items() if key != "hash"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Broken:
    """Where the chain breaks: the line (1 first) and why."""

    line: int
    reason: str


class DecisionLog:
    """The decision log in folder `folder` (created on the first append)."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.path = Path(folder) / LOG_FILE

    def records(self) -> list[dict[str, Any]]:
        """Every record, oldest first (the chain is not checked: `verify` does)."""
        if not self.path.exists():
            return []
        out = []
        for number, line in enumerate(self.path.read_text().splitlines(), start=1):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise DecisionLogError(f"{self.path}:{number}: not a JSON record ({exc})") from None
        return out

    def verify(self) -> Broken | None:
        """The first record that breaks the chain, or None when it holds."""
        if not self.path.exists():
            return None
        prev = GENESIS
        for number, line in enumerate(self.path.read_bytes().split(b"\n"), start=1):
            if not line and number > 1:
                continue  # the final newline
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                return Broken(number, "not a JSON record")
            if not isinstance(record, dict):
                return Broken(number, "not a JSON object")
            if record.get("seq") != number - 1:
                return Broken(number, f"seq {record.get('seq')!r}, expected {number - 1}")
            if record.get("prev") != prev:
                return Broken(number, "does not follow the record before it (prev hash differs)")
            if record.get("hash") != record_hash(record):
                return Broken(number, "its contents do not match its hash")
            prev = record["hash"]
        return None

    def append(self, kind: str, name: str, version: int | None, **fields) -> dict[str, Any]:
        """Append a record of `kind` for registered model `name` (and `version`), after
        checking the chain so far; returns it."""
        broken = self.verify()
        if broken is not None:
            raise DecisionLogError(f"{self.path}:{broken.line}: {broken.reason}")
        records = self.records()
        record = {
            "seq": len(records),
            "time": fields.pop("time", None) or datetime.now(UTC).isoformat(),
            "kind": kind,
            "name": name,
            "version": version,
            **fields,
            "prev": records[-1]["hash"] if records else GENESIS,
        }
        record["hash"] = record_hash(record)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str) + "\n"
        with open(self.path, "a", encoding="utf-8") as log:  # append only, never rewritten
            log.write(line)
            log.flush()
            os.fsync(log.fileno())
        return record

    def history(self, name: str) -> list[dict[str, Any]]:
        """The records of registered model `name`, oldest first."""
        return [r for r in self.records() if r["name"] == name]

    def production_at(self, name: str, when: datetime) -> int | None:
        """The version of `name` that was production at `when` (None before any)."""
        version = None
        for record in self.history(name):
            if datetime.fromisoformat(record["time"]) > when:
                break
            if "production" in record:
                version = record["production"]
        return version
