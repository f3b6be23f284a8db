"""The results folder of a run, written atomically, and :class:`Result` to read it back.

``results/<run_id>/`` holds one Parquet file per frame (orders, trades, quotes, book, agents,
fair_values, curve, instruments and any extra frames the kernel adds), ``metrics.json`` and
``manifest.json``. The manifest is the kernel's dict plus ``"files": {name: sha256}`` of every
other file in the folder, so a changed or truncated file is caught when the run is loaded.

Files are written deterministically: the same frames give byte-identical Parquet files, and JSON
is written with sorted keys and NaN/inf replaced by null.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from collections.abc import Mapping
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

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
MANIFEST_FILE = "manifest.json"

# Pinned so that the same frames always give the same bytes.
_PARQUET_OPTIONS = {
    "compression": "zstd",
    "compression_level": 3,
    "statistics": True,
    "row_group_size": 1 << 20,
}


class ResultError(ValueError):
    """A results folder is missing, incomplete, unreadable or does not match its manifest."""


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
    overwrite: bool = False,
) -> Path:
    """Write ``<out_dir>/<run_id>/`` atomically and return its path.

    Everything is written to a hidden sibling folder first and then renamed into place, so an
    interrupted write leaves no run folder behind. `frames` are the recorder's frames (extra
    names become extra Parquet files); `extra_files` are other files such as ``audit.jsonl``.
    An existing run folder is an error unless `overwrite` is true.
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
        if Path(name).name != name or name in (METRICS_FILE, MANIFEST_FILE):
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
        hashes = {path.name: sha256_file(path) for path in sorted(tmp.iterdir())}
        (tmp / MANIFEST_FILE).write_bytes(_json_bytes({**manifest, "files": hashes}))
        _move_into_place(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


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


class Result:
    """A finished run read back from its folder: frames, metrics, manifest and plots.

    Use :meth:`load`; frames are read on first access and cached.
    """

    def __init__(self, path: Path, manifest: dict[str, Any]) -> None:
        self.path = path
        self.manifest = manifest
        self._frames: dict[str, pl.DataFrame] = {}

    @classmethod
    def load(cls, run_dir: str | os.PathLike) -> Result:
        """Open a run folder, checking every file against the manifest's sha256."""
        path = Path(run_dir)
        if not path.is_dir():
            raise ResultError(f"{path}: no such results folder")
        manifest = _read_json(path / MANIFEST_FILE)
        listed = manifest.get("files")
        if not isinstance(listed, dict):
            raise ResultError(f"{path / MANIFEST_FILE}: no 'files' table of sha256 hashes")
        expected = [f"{name}.parquet" for name in REQUIRED_FRAMES] + [METRICS_FILE]
        for name in expected:
            if name not in listed:
                raise ResultError(f"{path / MANIFEST_FILE}: {name} is not listed")
        for name, digest in sorted(listed.items()):
            file = path / name
            if not file.is_file():
                raise ResultError(f"{file}: missing")
            if sha256_file(file) != digest:
                raise ResultError(
                    f"{file}: sha256 does not match manifest (file changed or corrupt)"
                )
        for file in sorted(path.iterdir()):
            if file.name not in listed and file.name != MANIFEST_FILE:
                raise ResultError(f"{file}: not listed in the manifest")
        result = cls(path, manifest)
        for name in listed:
            if name.endswith(".parquet"):
                result._check_parquet(path / name)
        result.metrics  # noqa: B018 -- parse it now so that a bad file fails here
        return result

    @staticmethod
    def _check_parquet(file: Path) -> None:
        try:
            pl.read_parquet_schema(file)
        except Exception as exc:
            raise ResultError(f"{file}: unreadable parquet ({exc})") from exc

    @property
    def run_id(self) -> str:
        return self.path.name

    @cached_property
    def metrics(self) -> dict[str, Any]:
        return _read_json(self.path / METRICS_FILE)

    def frame(self, name: str) -> pl.DataFrame:
        """The frame stored as ``<name>.parquet`` (read once, then cached)."""
        if name not in self._frames:
            file = self.path / f"{name}.parquet"
            if f"{name}.parquet" not in self.manifest["files"]:
                raise KeyError(f"{self.path}: no frame named {name!r}")
            try:
                self._frames[name] = pl.read_parquet(file)
            except Exception as exc:
                raise ResultError(f"{file}: unreadable parquet ({exc})") from exc
        return self._frames[name]

    def to_pandas(self, name: str):
        """The frame `name` as a pandas DataFrame."""
        return self.frame(name).to_pandas()

    orders = property(lambda self: self.frame("orders"), doc="Orders and their outcomes.")
    trades = property(lambda self: self.frame("trades"), doc="Executions.")
    quotes = property(lambda self: self.frame("quotes"), doc="L1 quotes on every change.")
    book = property(lambda self: self.frame("book"), doc="L2 snapshots, one row per level.")
    agents = property(lambda self: self.frame("agents"), doc="One row per agent: kind, pnl, ...")
    fair_values = property(lambda self: self.frame("fair_values"), doc="Fair values over time.")
    curve = property(lambda self: self.frame("curve"), doc="Zero curve over time.")
    instruments = property(lambda self: self.frame("instruments"), doc="Tick and unit sizes.")
    transfers = property(
        lambda self: self.frame("transfers"), doc="The ledger's movements off the books."
    )

    def __repr__(self) -> str:
        return f"Result({str(self.path)!r})"

    # -- plots ------------------------------------------------------------------------------
    def _instrument(self, instrument: str | None) -> tuple[str, float]:
        """The instrument to plot (the first listed when None) and its rupees per tick."""
        table = self.instruments
        if table.is_empty():
            raise ValueError(f"{self.path}: instruments.parquet is empty")
        if instrument is None:
            instrument = str(table["symbol"][0])
        row = table.filter(pl.col("symbol").cast(pl.String) == instrument)
        if row.is_empty():
            known = ", ".join(map(str, table["symbol"]))
            raise ValueError(f"unknown instrument {instrument!r}; the run has {known}")
        return instrument, float(Decimal(str(row["tick_size"][0])))

    def _select(self, frame: pl.DataFrame, instrument: str, venue: str | None) -> pl.DataFrame:
        frame = frame.filter(pl.col("instrument").cast(pl.String) == instrument)
        if venue is not None:
            frame = frame.filter(pl.col("venue").cast(pl.String) == venue)
        return frame.with_columns(pl.from_epoch("time", time_unit="ns").alias("clock"))

    def plot_price(self, instrument: str | None = None, venue: str | None = None, ax=None):
        """Mid price (per venue), trades and fair value, in rupees per 100 face, over time."""
        instrument, tick = self._instrument(instrument)
        fig, ax = _axes(ax)
        quotes = self._select(self.quotes, instrument, venue)
        for (name,), part in quotes.partition_by(
            "venue", as_dict=True, maintain_order=True
        ).items():
            mid = (part["bid"] + part["ask"]) * (tick / 2)
            ax.step(part["clock"], mid, where="post", lw=0.8, label=f"mid {name}")
        trades = self._select(self.trades, instrument, venue)
        if not trades.is_empty():
            ax.scatter(trades["clock"], trades["price"] * tick, s=4, c="k", label="trades")
        fair = self.fair_values.filter(pl.col("instrument").cast(pl.String) == instrument)
        if not fair.is_empty():
            clock = fair.select(pl.from_epoch("time", time_unit="ns"))["time"]
            ax.plot(clock, fair["fair_clean_price"], "--", lw=1, label="fair value")
        ax.set(title=instrument, xlabel="time", ylabel="price (₹ per 100 face)")
        ax.legend(loc="best", fontsize="small")
        return fig

    def plot_spread(self, instrument: str | None = None, venue: str | None = None, ax=None):
        """Quoted spread (ask − bid) in ticks over time, one line per venue."""
        instrument, _ = self._instrument(instrument)
        fig, ax = _axes(ax)
        quotes = self._select(self.quotes, instrument, venue)
        for (name,), part in quotes.partition_by(
            "venue", as_dict=True, maintain_order=True
        ).items():
            ax.step(part["clock"], part["ask"] - part["bid"], where="post", lw=0.8, label=name)
        ax.set(title=f"{instrument} quoted spread", xlabel="time", ylabel="spread (ticks)")
        ax.legend(loc="best", fontsize="small")
        return fig

    def plot_depth(
        self, instrument: str | None = None, venue: str | None = None, levels: int = 5, ax=None
    ):
        """Mean displayed quantity by level in the L2 snapshots: bids left, asks right."""
        instrument, _ = self._instrument(instrument)
        fig, ax = _axes(ax)
        book = self._select(self.book, instrument, venue).filter(pl.col("level") <= levels)
        snapshots = max(book.select(pl.struct("time", "venue").n_unique()).item(), 1)
        profile = (
            book.group_by("side", "level")
            .agg(pl.col("qty").sum() / snapshots)
            .sort("side", "level")
        )
        for side, colour, label in ((1, "tab:green", "bid"), (-1, "tab:red", "ask")):
            part = profile.filter(pl.col("side") == side)
            ax.bar(part["level"] * -side, part["qty"], color=colour, label=label)
        ax.set(
            title=f"{instrument} mean depth by level",
            xlabel="level (bids negative, asks positive)",
            ylabel="quantity (units)",
        )
        ax.legend(loc="best", fontsize="small")
        return fig

    def plot_pnl_by_kind(self, ax=None):
        """Distribution of agent PnL (paise in the file, shown in rupees) by agent kind."""
        fig, ax = _axes(ax)
        agents = self.agents.with_columns(pl.col("kind").cast(pl.String)).sort("kind")
        kinds = agents["kind"].unique(maintain_order=True).to_list()
        data = [agents.filter(pl.col("kind") == kind)["pnl"].to_numpy() / 100 for kind in kinds]
        ax.boxplot(data, tick_labels=kinds)
        ax.axhline(0, color="grey", lw=0.5)
        ax.set(title="PnL by agent kind", ylabel="PnL (₹)")
        ax.tick_params(axis="x", labelrotation=30)
        return fig


def _by_venue(frame: pl.DataFrame):
    return frame.partition_by("venue", as_dict=True, maintain_order=True).items()


def _axes(ax):
    import matplotlib.pyplot as plt  # lazy: matplotlib is slow to import

    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 4))
        return fig, ax
    return ax.figure, ax


def _read_json(file: Path) -> dict[str, Any]:
    try:
        value = json.loads(file.read_text())
    except FileNotFoundError as exc:
        raise ResultError(f"{file}: missing") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ResultError(f"{file}: not valid JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise ResultError(f"{file}: expected a JSON object, got {type(value).__name__}")
    return value
