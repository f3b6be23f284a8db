"""Results folders on disk, written atomically.

``results/<run_id>/`` holds one Parquet file per frame (orders, trades, quotes, book, agents,
fair_values, curve, instruments, transfers and any extra frames the kernel adds, such as fx when
the scenario has an FX shock, and pulse: the Liquidity Pulse, `sim.records.result.Result.save`),
``metrics.json``, ``audit.jsonl`` (the run's audit trail, a hash chain: `sim.records.audit`)
and ``manifest.json``. The manifest is the kernel's dict plus ``"audit": {"file", "records",
"final_hash"}``, ``"files": {name: sha256}`` of every other file in the folder, so a changed or
truncated file is caught when the run is loaded (`sim.records.result.Result.load`), and
``"manifest_hash"``: the SHA-256 of the manifest's own canonical JSON without that key
(`manifest_hash`), so that an edit to the manifest is caught too (`sim.records.verify`).

Files are written deterministically: the same frames give byte-identical Parquet files, and JSON
is written with sorted keys and NaN/inf replaced by null.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from sim.records.audit import AUDIT_FILE, write_audit

REQUIRED_FRAMES = (
    "orders",
    "trades",
    "quotes",
    "book",
    "agents",
    "fair_values",
    "curve",
    "instruments",
    "transfers",
)
METRICS_FILE = "metrics.json"
PULSE_FILE = "pulse.parquet"  # the Liquidity Pulse, `sim.records.result.Result.pulse`
MANIFEST_FILE = "manifest.json"

# Pinned so that the same frames always give the same bytes.
_PARQUET_OPTIONS = {
    "compression": "zstd",
    "compression_level": 3,
    "statistics": True,
    "row_group_size": 1 << 20,
}


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def to_json_ready(value: Any) -> Any:
    """`value` with NaN/inf as None, numpy scalars and arrays as Python values, tuples as lists."""
    if isinstance(value, Mapping):
        return {str(key): to_json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [to_json_ready(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json_bytes(value: Any) -> bytes:
    text = json.dumps(to_json_ready(value), sort_keys=True, allow_nan=False, indent=2)
    return (text + "\n").encode()


def json_bytes(value: Any) -> bytes:
    """The bytes a run's JSON file holds `value` as: sorted keys, indented, NaN/inf as null."""
    return _json_bytes(value)


MANIFEST_HASH = "manifest_hash"


def manifest_hash(manifest: Mapping[str, Any]) -> str:
    """The SHA-256 of a manifest's canonical JSON (sorted keys, no spaces), its own
    ``manifest_hash`` left out."""
    body = {key: value for key, value in manifest.items() if key != MANIFEST_HASH}
    text = json.dumps(to_json_ready(body), sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def write_run(
    out_dir: str | os.PathLike,
    run_id: str,
    frames: Mapping[str, pl.DataFrame],
    agents: pl.DataFrame,
    instruments: pl.DataFrame,
    metrics: Mapping[str, Any],
    manifest: Mapping[str, Any],
    *,
    extra_files: Mapping[str, bytes] | None = None,
    audit_events: Iterable[Mapping[str, Any]] = (),
    overwrite: bool = False,
) -> Path:
    """Write ``<out_dir>/<run_id>/`` atomically and return its path.

    Everything is written to a hidden sibling folder first and then renamed into place, so an
    interrupted write leaves no run folder behind. `frames` are the recorder's frames (extra
    names become extra Parquet files); `extra_files` are other files; ``audit.jsonl`` is built
    from the frames, with `audit_events` (events known at write time, each with a ``time`` and
    an ``event``: `sim.records.audit`). An existing run folder is an error unless `overwrite`
    is true.
    """
    out_dir = Path(out_dir)
    final = out_dir / run_id
    if not run_id or run_id.startswith(".") or Path(run_id).name != run_id:
        raise ValueError(f"run_id must be a plain folder name, got {run_id!r}")
    if final.exists() and not overwrite:
        raise FileExistsError(f"{final}: a run with this id exists; pass overwrite=True")
    tables = {**frames, "agents": agents, "instruments": instruments}
    missing = [name for name in REQUIRED_FRAMES if name not in tables]
    if missing:
        raise ValueError(f"frames missing for run {run_id}: {', '.join(missing)}")
    files = [f"{name}.parquet" for name in tables] + list(extra_files or ())
    for name in files:
        if Path(name).name != name or name in (METRICS_FILE, MANIFEST_FILE, AUDIT_FILE):
            raise ValueError(f"bad result file name {name!r}")

    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / f".{run_id}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)  # a leftover of an earlier crash of this pid
    tmp.mkdir()
    try:
        for name, frame in tables.items():
            frame.write_parquet(tmp / f"{name}.parquet", **_PARQUET_OPTIONS)
        for name, content in (extra_files or {}).items():
            (tmp / name).write_bytes(content)
        (tmp / METRICS_FILE).write_bytes(_json_bytes(metrics))
        audit = write_audit(
            tmp / AUDIT_FILE,
            tables,
            run_id=run_id,
            scenario_hash=manifest.get("scenario_hash"),
            seed=manifest.get("seed"),
            extra=audit_events,
        )
        hashes = {path.name: sha256_file(path) for path in sorted(tmp.iterdir())}
        full = {**manifest, "audit": audit.to_dict(), "files": hashes}
        full[MANIFEST_HASH] = manifest_hash(full)
        (tmp / MANIFEST_FILE).write_bytes(_json_bytes(full))
        _move_into_place(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def write_bytes_atomically(path: str | os.PathLike, data: bytes) -> None:
    """Write one file so that a reader sees the old bytes or the new, never a part: into a
    temporary file beside it, then renamed over it."""
    final = Path(path)
    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}"
    try:
        tmp.write_bytes(data)
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _move_into_place(tmp: Path, final: Path) -> None:
    if not final.exists():
        os.rename(tmp, final)
        return
    # Replacing: park the old run aside first, so that one complete run is always in place.
    old = final.parent / f".{final.name}.old-{os.getpid()}"
    shutil.rmtree(old, ignore_errors=True)
    os.rename(final, old)
    try:
        os.rename(tmp, final)
    except BaseException:
        os.rename(old, final)
        raise
    shutil.rmtree(old)
