"""A finished run as a user holds it: :class:`Result`, read back from its results folder
(`Result.load`, every file checked against the manifest's sha256) or held in memory when the
run wrote nothing (`sim.run(..., out=None)`). Frames are polars DataFrames.

Its Liquidity Pulse (`Result.pulse`, `sim.pulse.frame`) is computed once the run's frames are
final: `Result.save` (which `sim.run` uses to write a run) writes it as ``pulse.parquet``
with the other files, listed in the manifest like them, unless the scenario's ``[pulse]``
says ``enabled = false``. A run without the file (that setting, a run held in memory, a folder
written before runs had one) computes it when asked, from its frames and the scenario's
``[pulse]`` settings, and keeps it in memory: the folder is never changed.
"""

from __future__ import annotations

import json
import os
import warnings
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from sim.errors import BondlabError
from sim.records.store import (
    MANIFEST_FILE,
    METRICS_FILE,
    PULSE_FILE,
    REQUIRED_FRAMES,
    sha256_file,
    write_run,
)

if TYPE_CHECKING:
    from sim.scenario.model import PulseSpec


class ResultError(BondlabError, ValueError):
    """A results folder is missing, incomplete, unreadable or does not match its manifest."""


class Result:
    """A finished run: its frames, metrics and manifest.

    `Result.load` opens a results folder (frames are read on first access and cached);
    `Result.in_memory` holds a run that wrote nothing, whose `path` is None until `save`.
    """

    def __init__(
        self,
        path: Path | None,
        manifest: dict[str, Any],
        frames: dict[str, pl.DataFrame] | None = None,
        metrics: dict[str, Any] | None = None,
    ) -> None:
        self.path = path
        self.manifest = manifest
        self._frames: dict[str, pl.DataFrame] = dict(frames or {})
        self._receipts: pl.DataFrame | None = None
        self._pulse: pl.DataFrame | None = None
        if metrics is not None:
            self.metrics = metrics  # fills the cached property

    @classmethod
    def in_memory(
        cls, frames: dict[str, pl.DataFrame], metrics: dict[str, Any], manifest: dict[str, Any]
    ) -> Result:
        """A run's tables held in memory (`frames` includes agents and instruments)."""
        missing = [name for name in REQUIRED_FRAMES if name not in frames]
        if missing:
            raise ValueError(f"frames missing for run {manifest.get('run_id')}: {missing}")
        return cls(None, manifest, frames, metrics)

    def save(self, out_dir: str | os.PathLike, *, overwrite: bool = False) -> Result:
        """Write an in-memory run to ``<out_dir>/<run_id>/`` (atomically) and load it back,
        with ``pulse.parquet`` when the scenario's ``[pulse]`` is enabled (the default). When
        the Pulse cannot be computed (`pulse` says when the records give none; a bug in it
        too), the run is written without the file and a warning says why: a derived file
        never costs a run its records."""
        if self.path is not None:
            raise ValueError(f"{self.path}: this run is already on disk")
        frames = {name: frame for name, frame in self._frames.items() if name != "pulse"}
        agents, instruments = frames.pop("agents"), frames.pop("instruments")
        if self.pulse_settings.enabled:
            try:
                frames["pulse"] = self.pulse
            except ResultError as exc:  # the records give none: the message names the run
                warnings.warn(f"{exc} (written without {PULSE_FILE})", stacklevel=2)
            except Exception as exc:  # a bug in the Pulse never costs a run its records
                first = next(iter(str(exc).strip().splitlines()), "")
                warnings.warn(
                    f"{self.run_id}: written without {PULSE_FILE} ({type(exc).__name__}: {first})",
                    stacklevel=2,
                )
        path = write_run(
            out_dir, self.run_id, frames, agents, instruments, self.metrics, self.manifest,
            overwrite=overwrite,
        )  # fmt: skip
        return Result.load(path)

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
            if name in ("", ".", "..") or Path(name).name != name:  # nothing outside is read
                raise ResultError(
                    f"{path / MANIFEST_FILE}: {name!r} is not a plain file name in the run folder"
                )
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
        return self.manifest["run_id"] if self.path is None else self.path.name

    @cached_property
    def metrics(self) -> dict[str, Any]:
        return _read_json(self.path / METRICS_FILE)

    def frame(self, name: str) -> pl.DataFrame:
        """The frame stored as ``<name>.parquet`` (read once, then cached)."""
        if name not in self._frames:
            if self.path is None:
                raise KeyError(f"{self.run_id} (in memory): no frame named {name!r}")
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
    accounts = property(
        lambda self: self.frame("accounts"), doc="Every account's cash and positions at each close."
    )

    @property
    def strategy_log(self) -> pl.DataFrame:
        """The lines strategies logged (time, agent, message, details: JSON or ""); without
        rows when none did."""
        return self._optional("strategy_log")

    @property
    def decisions(self) -> pl.DataFrame:
        """Why strategies sent their orders (time, agent, venue, instrument, order_id,
        details: JSON), joined to `orders` by venue, instrument and order_id; without rows
        when none explained one."""
        return self._optional("decisions")

    @property
    def fx(self) -> pl.DataFrame:
        """Exchange rates the scenario's FX shocks moved (time, pair, rate: an index, 1.0
        before the pair's first shock), at the start, each close and each shock; without
        rows when it has no FX shock."""
        return self._optional("fx")

    @property
    def halts(self) -> pl.DataFrame:
        """The halts in force during the run, the scenario's venue-halt shocks and the
        venues' circuit breakers (time, venue, instrument, until, cause); without rows when
        there were none."""
        return self._optional("halts")

    @property
    def pulse_settings(self) -> PulseSpec:
        """The scenario's ``[pulse]`` table (`sim.scenario.model.PulseSpec`), its defaults when
        the scenario has none."""
        from sim.pulse.params import PulseParamsError
        from sim.scenario.model import PulseSpec

        table = self.manifest.get("scenario", {}).get("pulse")
        try:
            return PulseSpec() if table is None else PulseSpec.from_dict(table)
        except PulseParamsError as exc:  # a manifest bondlab did not write, or a newer one's
            where = self.path / MANIFEST_FILE if self.path else self.run_id
            lines = " / ".join(str(exc).splitlines())
            raise ResultError(f"{where}: scenario.pulse: {lines}") from None

    @property
    def pulse(self) -> pl.DataFrame:
        """The run's Liquidity Pulse, a row per listing and interval (`sim.pulse.frame` lists
        the columns): ``pulse.parquet`` when the run wrote one, else computed from the frames
        with the scenario's ``[pulse]`` settings (a second or two for a 20-day baseline) and
        kept in memory. A `ResultError` when the records give none: the weights count only
        features the run never measured, or the frames are not a whole run's (a hand-built
        `Result`, say)."""
        if self._pulse is not None:
            return self._pulse
        if "pulse" in self._frames or PULSE_FILE in self.manifest.get("files", {}):
            self._pulse = self.frame("pulse")
            return self._pulse
        from sim.pulse import pulse

        where = self.path or self.run_id
        if "calendar" not in self.manifest.get("scenario", {}):
            raise ResultError(f"{where}: no Pulse: its manifest records no scenario calendar")
        try:
            self._pulse = pulse(self, self.pulse_settings.params)
        # weights only on features the run never measured; frames held that are not a run's
        except (ValueError, pl.exceptions.ColumnNotFoundError) as exc:
            raise ResultError(f"{where}: no Pulse: {exc}") from exc
        return self._pulse

    def receipts(self) -> pl.DataFrame:
        """One receipt per trade: prices, accrued interest, both sides' fees and what they
        paid and received, the valuation in force with its breakdown, and each venue's best
        bid and ask at the time (`sim.records.receipts` lists the columns)."""
        if self._receipts is None:
            from sim.records.receipts import receipts

            self._receipts = receipts(self.trades, self.fair_values, self.quotes, self.instruments)
        return self._receipts

    def receipt(self, trade_id: int) -> dict[str, Any]:
        """The receipt of trade `trade_id` (trades.parquet's ``trade_id``) as nested plain
        values; a `ResultError` when the run has no such trade."""
        from sim.records.receipts import receipt_of

        found = receipt_of(self.receipts(), trade_id)
        if found is None:
            trades = self.trades.height
            span = f"its trade ids run from 1 to {trades}" if trades else "it has no trades"
            raise ResultError(f"{self.path or self.run_id}: no trade {trade_id!r} ({span})")
        return found

    def audit(self) -> pl.DataFrame:
        """The audit trail, one row per record (`sim.records.audit`): read from audit.jsonl,
        or built from the frames for a run held in memory."""
        from sim.records import audit

        if self.path is not None:
            if audit.AUDIT_FILE not in self.manifest.get("files", {}):
                raise ResultError(f"{self.path}: no audit trail (written before runs had one)")
            return audit.read_audit(self.path / audit.AUDIT_FILE)
        tables = {name: self.frame(name) for name in ("orders", "trades", "transfers")}
        if "halts" in self._frames:
            tables["halts"] = self._frames["halts"]
        lines = audit.audit_lines(
            tables,
            run_id=self.run_id,
            scenario_hash=self.manifest.get("scenario_hash"),
            seed=self.manifest.get("seed"),
        )
        text = "".join(line for line, _ in lines)
        return pl.read_ndjson(text.encode(), infer_schema_length=None)

    def _optional(self, name: str) -> pl.DataFrame:
        """An optional frame (`sim.records.recorder.OPTIONAL_FRAMES`), empty when the run
        recorded none of it."""
        if name in self._frames or f"{name}.parquet" in self.manifest.get("files", {}):
            return self.frame(name)
        from sim.records.recorder import empty_frame  # it imports pyarrow; reading needs none

        return empty_frame(name)

    def __repr__(self) -> str:
        if self.path is None:
            return f"Result({self.run_id!r}, in memory)"
        return f"Result({str(self.path)!r})"


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
