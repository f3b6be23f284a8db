"""The exchange service's write-ahead journal: every accepted request, and every step of its
clock, appended before it takes effect.

    journal.jsonl     one JSON object a line:
      {"header": {"scenario": ..., "scenario_hash": ..., "seed": ..., "accounts": ...}}
      {"seq": 1, "t": <ns>, "kind": "advance"}                      the clock moves to t
      {"seq": 2, "t": <ns>, "kind": "order", "account": "asha", ...}  a request at t

A run is deterministic given its scenario, seed and the requests it was sent with their times,
so replaying the journal into a fresh simulation rebuilds the same books and ledger: the way
exchange engines recover. Requests are flushed and fsync'd before they are answered (the
client's acknowledgement is a promise); clock steps are flushed, which is enough to survive
the process being killed, and lose at most the last steps on a power cut: time the service
re-runs the same way.

A line cut short by a kill mid-write was never acknowledged: it is dropped on reading, and
the file is truncated to the last whole line before appending again. Any other unreadable
line is corruption, reported with its line number.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

from sim.errors import ConfigurationError

FILE_NAME = "journal.jsonl"


class JournalError(ConfigurationError):
    """A journal that cannot be replayed: corrupt, or written for another scenario."""


class Journal:
    """An append-only journal in `folder` (created if missing)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / FILE_NAME
        self._file = None
        self.seq = 0

    def open(self, header: dict) -> list[dict]:
        """The records already written, after checking they were written for `header`; the
        journal is then ready to append. A new journal starts with `header`."""
        self.folder.mkdir(parents=True, exist_ok=True)
        records, whole_bytes = self._read()
        if records:
            written = records[0].get("header")
            if written != header:
                raise JournalError(
                    f"{self.path}: written for {_describe(written)}, not {_describe(header)}; "
                    "use another --journal folder"
                )
        self._file = open(self.path, "ab")  # noqa: SIM115 - kept open for the service's life
        if whole_bytes < self._file.tell():
            self._file.truncate(whole_bytes)  # a line cut short by a kill, never acknowledged
        if not records:
            self._write({"header": header}, sync=True)
            return []
        body = records[1:]
        self.seq = body[-1]["seq"] if body else 0
        return body

    def append(self, record: dict, *, sync: bool) -> dict:
        """Write `record` with the next sequence number; `sync` forces it to the disk too."""
        self.seq += 1
        record = {"seq": self.seq, **record}
        self._write(record, sync=sync)
        return record

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _write(self, record: dict, *, sync: bool) -> None:
        self._file.write(json.dumps(record, separators=(",", ":")).encode() + b"\n")
        self._file.flush()
        if sync:
            os.fsync(self._file.fileno())

    def _read(self) -> tuple[list[dict], int]:
        """The whole records and the length in bytes of the whole lines."""
        if not self.path.exists():
            return [], 0
        records, whole = [], 0
        for number, line in _lines(self.path):
            if not line.endswith(b"\n"):
                break  # the last line, cut short
            try:
                record = json.loads(line)
            except ValueError:
                raise JournalError(f"{self.path}:{number}: not a JSON record") from None
            if number == 1:
                if not (isinstance(record, dict) and "header" in record):
                    raise JournalError(f"{self.path}:1: not a journal header")
            elif not (isinstance(record, dict) and record.get("seq") == number - 1):
                raise JournalError(f"{self.path}:{number}: out of sequence")
            records.append(record)
            whole += len(line)
        return records, whole


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with open(path, "rb") as file:
        yield from enumerate(file, start=1)


def _describe(header: dict | None) -> str:
    if not header:
        return "nothing recognisable"
    return f"scenario {header.get('scenario')!r} seed {header.get('seed')}"
