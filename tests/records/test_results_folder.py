"""The results folder: atomic, deterministic writes and loads that catch any damage."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from decimal import Decimal
from pathlib import Path
from unittest import mock

import matplotlib
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.presentation import plots
from sim.records import recorder as recorder_module
from sim.records import result as result_module
from sim.records import store as store_module
from sim.records.recorder import Recorder
from sim.records.result import Result, ResultError
from sim.records.store import sha256_file, write_bytes_atomically, write_run

matplotlib.use("Agg")


def frames():
    rec = Recorder()
    t0 = 1_704_187_800_000_000_000
    for k in range(30):
        rec.quote(t0 + k * 10**10, "EXCH", "ABM", 9_998 - k % 3, 10, 10_002 + k % 2, 12)
    rec.quote(t0 + 31 * 10**10, "EXCH", "ABM", None, 0, 10_003, 5)
    rec.trade(t0 + 5 * 10**9, "EXCH", "ABM", 10_002, 4, 1, 2, 10, 11, 1)
    rec.trade(t0 + 65 * 10**9, "EXCH", "ABM", 9_998, 3, 3, 4, 12, 10, -1)
    rec.order(t0, 1, 10, "EXCH", "ABM", 1, "limit", "GTC", 9_998, 5, "accepted", "none")
    rec.order(t0 + 1, 0, 11, "EXCH", "ABM", -1, "limit", "GTC", None, None, "rejected", "bad_price")
    rec.book(t0 + 60 * 10**9, "EXCH", "ABM", [(9_998, 10), (9_997, 4)], [(10_002, 12)])
    rec.fair_value(t0, "ABM", 100.0, None, None)
    rec.curve(t0, 1.0, 0.065)
    return rec.frames()


AGENTS = pl.DataFrame({"agent": [10, 11], "kind": ["retail", "market_maker"], "pnl": [5, -5]})
INSTRUMENTS = pl.DataFrame(
    {
        "symbol": ["ABM"],
        "tick_size": ["0.01"],
        "lot_size": [1],
        "unit_face_value": [100],
        "reference_price": [10_000],
    }
)


def write(tmp_path, run_id="run-1", **kwargs):
    return write_run(
        tmp_path,
        run_id,
        frames(),
        AGENTS,
        INSTRUMENTS,
        {"a": 1.5, "nan": float("nan")},
        {"seed": 1},
        **kwargs,
    )


def test_round_trip_and_manifest_hashes(tmp_path):
    path = write(tmp_path)
    res = Result.load(path)
    assert res.trades.height == 2 and res.quotes.height == 31 and res.orders.height == 2
    assert res.metrics == {"a": 1.5, "nan": None}
    assert res.manifest["seed"] == 1
    files = res.manifest["files"]
    assert set(files) == {p.name for p in path.iterdir()} - {"manifest.json"}
    assert all(files[name] == sha256_file(path / name) for name in files)
    assert res.orders["price"].to_list() == [9_998, None]
    assert res.to_pandas("trades").shape == (2, res.trades.width)


def test_writes_are_byte_identical(tmp_path):
    first = Result.load(write(tmp_path / "a")).manifest["files"]
    second = Result.load(write(tmp_path / "b")).manifest["files"]
    assert first == second


def test_an_interrupted_write_leaves_nothing(tmp_path, monkeypatch):
    def fail(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(store_module, "_json_bytes", fail)
    with pytest.raises(OSError, match="disk full"):
        write(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_run_is_kept_unless_overwritten(tmp_path):
    path = write(tmp_path)
    with pytest.raises(FileExistsError, match="a run with this id exists"):
        write(tmp_path)
    assert write(tmp_path, overwrite=True) == path
    assert [p.name for p in tmp_path.iterdir()] == ["run-1"]


@pytest.mark.parametrize("run_id", ["", ".hidden", "a/b", "z/a", "../up"])
def test_run_ids_must_be_plain_names(tmp_path, run_id):
    with pytest.raises(ValueError, match="run_id must be a plain folder name"):
        write(tmp_path, run_id=run_id)


def changed_hash(file) -> str:
    """The exact error `Result.load` gives for a file whose bytes no longer match."""
    return f"^{re.escape(f'{file}: sha256 does not match manifest (file changed or corrupt)')}$"


def test_a_changed_file_is_caught(tmp_path):
    path = write(tmp_path)
    data = bytearray((path / "trades.parquet").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (path / "trades.parquet").write_bytes(bytes(data))
    with pytest.raises(ResultError, match=changed_hash(path / "trades.parquet")):
        Result.load(path)


def test_an_edited_metrics_file_that_is_still_valid_json_is_caught(tmp_path):
    """Only the hash can tell: the edited file parses, and Result would happily serve it."""
    path = write(tmp_path)
    file = path / "metrics.json"
    edited = file.read_text().replace('"a": 1.5', '"a": 2.5')
    assert json.loads(edited) == {"a": 2.5, "nan": None}
    file.write_text(edited)
    with pytest.raises(ResultError, match=changed_hash(file)):
        Result.load(path)


def test_a_parquet_file_rewritten_with_one_changed_row_is_caught(tmp_path):
    """The rewritten file is valid Parquet with the right schema: only the hash can tell."""
    path = write(tmp_path)
    file = path / "trades.parquet"
    trades = pl.read_parquet(file)
    changed = trades.with_columns(
        pl.when(pl.int_range(pl.len()) == 1).then(pl.col("qty") + 1).otherwise(pl.col("qty"))
    )
    assert changed["qty"].to_list() == [4, 4] and changed.schema == trades.schema
    changed.write_parquet(file)
    assert pl.read_parquet(file).equals(changed)  # readable, one row different
    with pytest.raises(ResultError, match=changed_hash(file)):
        Result.load(path)


def test_a_missing_file_and_bad_json_are_caught(tmp_path):
    path = write(tmp_path)
    (path / "quotes.parquet").unlink()
    with pytest.raises(ResultError, match=r"quotes\.parquet"):
        Result.load(path)
    other = write(tmp_path, run_id="run-2")
    (other / "manifest.json").write_text("{not json")
    with pytest.raises(ResultError, match=r"manifest\.json"):
        Result.load(other)
    with pytest.raises(ResultError):
        Result.load(tmp_path / "no-such-run")


def test_a_missing_or_non_object_manifest_is_caught(tmp_path):
    path = write(tmp_path)
    manifest = path / "manifest.json"
    manifest.write_text("[1, 2]")
    with pytest.raises(ResultError, match=f"^{re.escape(str(manifest))}: expected a JSON object"):
        Result.load(path)
    manifest.unlink()
    with pytest.raises(ResultError, match=f"^{re.escape(str(manifest))}: missing$"):
        Result.load(path)


def edit_manifest(path, edit):
    """Rewrite a run's manifest.json with `edit` applied to its dict."""
    file = path / "manifest.json"
    manifest = json.loads(file.read_text())
    edit(manifest)
    file.write_text(json.dumps(manifest))
    return file


@pytest.mark.parametrize("files", [None, ["trades.parquet"]])
def test_a_manifest_without_a_files_table_is_refused(tmp_path, files):
    path = write(tmp_path)
    file = edit_manifest(path, lambda manifest: manifest.update(files=files))
    message = f"{file}: no 'files' table of sha256 hashes"
    with pytest.raises(ResultError, match=f"^{re.escape(message)}$"):
        Result.load(path)


@pytest.mark.parametrize("name", ["book.parquet", "metrics.json"])
def test_a_required_file_dropped_from_the_run_and_its_manifest_is_caught(tmp_path, name):
    path = write(tmp_path)
    (path / name).unlink()
    file = edit_manifest(path, lambda manifest: manifest["files"].pop(name))
    with pytest.raises(ResultError, match=f"^{re.escape(f'{file}: {name} is not listed')}$"):
        Result.load(path)


@pytest.mark.parametrize("digest", ["0" * 64, "f" * 64])
def test_a_manifest_digest_that_does_not_match_the_file_is_caught(tmp_path, digest):
    # Below and above the file's true digest: any difference counts.
    path = write(tmp_path)
    edit_manifest(path, lambda manifest: manifest["files"].update({"trades.parquet": digest}))
    with pytest.raises(ResultError, match=changed_hash(path / "trades.parquet")):
        Result.load(path)


@pytest.mark.parametrize("stray", ["aside.txt", "notes.txt"])  # before and after "manifest"
def test_a_file_the_manifest_does_not_list_is_caught(tmp_path, stray):
    path = write(tmp_path)
    (path / stray).write_text("{}\n")
    message = f"{path / stray}: not listed in the manifest"
    with pytest.raises(ResultError, match=f"^{re.escape(message)}$"):
        Result.load(path)


@pytest.mark.parametrize("name", ["../x", "sub/x", "{tmp}/x", "..", ".", ""])
def test_a_manifest_entry_that_is_not_a_plain_file_name_is_refused(tmp_path, name):
    """Even when the file it names exists and matches its digest: nothing outside is read."""
    path = write(tmp_path)
    name = name.format(tmp=tmp_path)  # "{tmp}/x": an absolute path next to the run folder
    target = path / name
    if target.name == "x":
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(b"x")
    digest = hashlib.sha256(b"x").hexdigest()
    file = edit_manifest(path, lambda manifest: manifest["files"].update({name: digest}))
    message = f"{file}: {name!r} is not a plain file name in the run folder"
    with (
        mock.patch.object(result_module, "sha256_file", wraps=sha256_file) as hashed,
        pytest.raises(ResultError, match=f"^{re.escape(message)}$"),
    ):
        Result.load(path)
    assert all(call.args[0].parent == path for call in hashed.call_args_list)


def test_a_listed_file_that_is_not_parquet_is_caught_on_load(tmp_path):
    path = write(tmp_path)
    file = path / "curve.parquet"
    file.write_bytes(b"not parquet")
    digest = hashlib.sha256(b"not parquet").hexdigest()
    edit_manifest(path, lambda manifest: manifest["files"].update({"curve.parquet": digest}))
    with pytest.raises(ResultError, match=f"^{re.escape(f'{file}: unreadable parquet')}"):
        Result.load(path)


def test_a_frame_damaged_after_loading_is_caught_when_read(tmp_path):
    res = Result.load(write(tmp_path))
    file = res.path / "trades.parquet"
    file.write_bytes(b"not parquet")
    with pytest.raises(ResultError, match=f"^{re.escape(f'{file}: unreadable parquet')}"):
        res.frame("trades")


def test_a_run_missing_a_required_frame_is_not_written(tmp_path):
    partial = {name: frame for name, frame in frames().items() if name != "curve"}
    with pytest.raises(ValueError, match=r"^frames missing for run run-1: curve$"):
        write_run(tmp_path, "run-1", partial, AGENTS, INSTRUMENTS, {}, {})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "name", ["sub/x", "logs/audit.jsonl", "../x", "metrics.json", "manifest.json", "audit.jsonl"]
)
def test_extra_file_names_must_be_plain_and_not_the_runs_own(tmp_path, name):
    with pytest.raises(ValueError, match=f"^bad result file name {re.escape(repr(name))}$"):
        write(tmp_path, extra_files={name: b"x"})
    assert list(tmp_path.iterdir()) == []


def test_a_run_is_written_into_a_folder_whose_parents_do_not_exist_yet(tmp_path):
    path = write(tmp_path / "a" / "b")
    assert path == tmp_path / "a" / "b" / "run-1"
    assert Result.load(path).trades.height == 2


def test_an_overwrite_that_fails_to_move_in_keeps_the_old_run(tmp_path, monkeypatch):
    path = write(tmp_path)
    rename, moves_in = os.rename, []

    def fail_the_first_move_in(src, dst):
        if dst == path and not moves_in:
            moves_in.append(src)
            raise OSError("disk full")
        rename(src, dst)

    monkeypatch.setattr(os, "rename", fail_the_first_move_in)
    with pytest.raises(OSError, match="disk full"):
        write(tmp_path, overwrite=True)
    assert moves_in and [p.name for p in tmp_path.iterdir()] == ["run-1"]
    assert Result.load(path).trades.height == 2


def test_a_failure_after_the_new_run_is_in_place_is_the_error_reported(tmp_path, monkeypatch):
    # Deleting the replaced run fails: that error, not one about the temporary folder (renamed
    # into place by then), reaches the caller, and the new run is there.
    path = write(tmp_path)
    rmtree = shutil.rmtree

    def fail_on_the_old_run(target, *args, **kwargs):
        if Path(target).name.startswith(".run-1.old-") and Path(target).exists():
            raise PermissionError("old run busy")
        rmtree(target, *args, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", fail_on_the_old_run)
    with pytest.raises(PermissionError, match="old run busy"):
        write_run(tmp_path, "run-1", frames(), AGENTS, INSTRUMENTS, {"b": 2}, {}, overwrite=True)
    assert Result.load(path).metrics == {"b": 2}


def test_a_file_written_atomically_replaces_the_old_bytes_and_leaves_nothing_beside(tmp_path):
    file = tmp_path / "calibration.toml"
    write_bytes_atomically(file, b"first\n")
    assert file.read_bytes() == b"first\n"
    write_bytes_atomically(str(file), b"second\n")
    assert file.read_bytes() == b"second\n"
    assert list(tmp_path.iterdir()) == [file]


def write_half_then_fail(path, data):
    with open(path, "wb") as handle:
        handle.write(data[: len(data) // 2])
    raise OSError("disk full")


def fail_to_rename(*_args):
    raise OSError("disk full")


@pytest.mark.parametrize(
    ("target", "name", "failing"),
    [(Path, "write_bytes", write_half_then_fail), (os, "replace", fail_to_rename)],
    ids=["while-writing", "while-renaming"],
)
def test_a_failed_atomic_write_keeps_the_old_file_and_no_temporary_one(
    tmp_path, monkeypatch, target, name, failing
):
    file = tmp_path / "calibration.toml"
    file.write_bytes(b"old\n")
    monkeypatch.setattr(target, name, failing)
    with pytest.raises(OSError, match=r"^disk full$"):
        write_bytes_atomically(file, b"new bytes\n")
    assert list(tmp_path.iterdir()) == [file]
    assert file.read_bytes() == b"old\n"


def test_an_atomic_write_of_text_reports_that_and_keeps_the_old_file(tmp_path):
    # It fails before any temporary file exists: the caller's mistake is the error reported.
    file = tmp_path / "calibration.toml"
    file.write_bytes(b"old\n")
    with pytest.raises(TypeError, match="a bytes-like object is required, not 'str'"):
        write_bytes_atomically(file, "new\n")
    assert list(tmp_path.iterdir()) == [file]
    assert file.read_bytes() == b"old\n"


def test_metrics_are_written_as_plain_json(tmp_path):
    metrics = {
        "count": np.int64(3),
        "ratio": np.float64("inf"),
        "series": np.array([1.5, np.nan]),
        "pair": (1, -float("inf")),
        "tick": Decimal("0.05"),
        7: "key made a string",
    }
    path = write_run(tmp_path, "run-1", frames(), AGENTS, INSTRUMENTS, metrics, {})
    assert json.loads((path / "metrics.json").read_text()) == {
        "count": 3,
        "ratio": None,
        "series": [1.5, None],
        "pair": [1, None],
        "tick": "0.05",
        "7": "key made a string",
    }


NOTES = b'{"event": "start"}\n{"event": "end"}\n'  # an extra file (the audit log is the run's own)
POSITIONS = pl.DataFrame({"agent": [10, 11], "instrument": ["ABM", "ABM"], "qty": [3, -3]})


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    path = write_run(
        tmp_path_factory.mktemp("loaded"),
        "run-1",
        {**frames(), "positions": POSITIONS},
        AGENTS,
        INSTRUMENTS,
        {"a": 1.5},
        {"seed": 1},
        extra_files={"notes.jsonl": NOTES},
    )
    return Result.load(path)


def test_a_loaded_run_is_named_by_its_folder(loaded):
    assert loaded.run_id == "run-1"
    assert repr(loaded) == f"Result({str(loaded.path)!r})"


def test_extra_files_are_written_hashed_and_listed(loaded):
    assert (loaded.path / "notes.jsonl").read_bytes() == NOTES
    assert loaded.manifest["files"]["notes.jsonl"] == hashlib.sha256(NOTES).hexdigest()


def test_extra_frames_are_stored_and_unknown_ones_refused(loaded):
    assert loaded.frame("positions").equals(POSITIONS)
    with pytest.raises(KeyError, match=re.escape(f"{loaded.path}: no frame named 'holdings'")):
        loaded.frame("holdings")


def in_memory():
    tables = {**frames(), "agents": AGENTS, "instruments": INSTRUMENTS}
    # hand-made frames are not a whole run: no Pulse to compute
    manifest = {"run_id": "mem-1", "seed": 1, "scenario": {"pulse": {"enabled": False}}}
    return Result.in_memory(tables, {"a": 1.5}, manifest)


def test_an_in_memory_run_missing_a_frame_is_refused():
    tables = {**frames(), "agents": AGENTS}
    with pytest.raises(ValueError, match=r"^frames missing for run mem-1: .*instruments"):
        Result.in_memory(tables, {}, {"run_id": "mem-1"})


def test_an_in_memory_run_saves_once_and_loads_back(tmp_path):
    res = in_memory()
    assert res.path is None and res.run_id == "mem-1"
    assert repr(res) == "Result('mem-1', in memory)"
    saved = res.save(tmp_path / "runs")
    assert saved.path == tmp_path / "runs" / "mem-1" and saved.run_id == "mem-1"
    assert saved.metrics == {"a": 1.5} and saved.manifest["seed"] == 1
    assert saved.trades.equals(res.trades) and saved.quotes.equals(res.quotes)
    with pytest.raises(ValueError, match=re.escape(f"{saved.path}: this run is already on disk")):
        saved.save(tmp_path / "elsewhere")
    with pytest.raises(FileExistsError, match="a run with this id exists"):
        res.save(tmp_path / "runs")
    assert res.save(tmp_path / "runs", overwrite=True).path == saved.path


FX_SCHEMA = {"time": pl.Int64, "pair": pl.Categorical, "rate": pl.Float64}
FX_ROWS = [(100, "USDINR", 1.0), (200, "USDINR", 1.1), (200, "GBPUSD", 0.97)]


def fx_frame():
    rec = Recorder()
    for time, pair, rate in FX_ROWS:
        rec.fx_rate(time, pair, rate)
    return rec.frames()["fx"]


def fx_rows(frame):
    return frame.with_columns(pl.col("pair").cast(pl.String)).rows()


def test_a_runs_fx_rates_are_served_in_memory_and_once_saved(tmp_path):
    tables = {**frames(), "fx": fx_frame(), "agents": AGENTS, "instruments": INSTRUMENTS}
    res = Result.in_memory(
        tables, {}, {"run_id": "fx-1", "scenario": {"pulse": {"enabled": False}}}
    )
    saved = res.save(tmp_path)
    assert "fx.parquet" in saved.manifest["files"]
    for run in (res, saved):  # the saved run reads its fx.parquet on first access
        assert dict(run.fx.schema) == FX_SCHEMA
        assert fx_rows(run.fx) == FX_ROWS


def test_a_run_without_fx_rates_has_an_fx_frame_without_rows(tmp_path):
    loaded = Result.load(write(tmp_path))
    assert "fx.parquet" not in loaded.manifest["files"]
    for run in (in_memory(), loaded):
        assert run.fx.height == 0
        assert dict(run.fx.schema) == FX_SCHEMA


# --- plots: what they draw is the data --------------------------------------------------

T0 = 1_704_187_800_000_000_000
SECOND = 10**9
# ABM on two venues (a 0.05 tick, so a plot that forgets the tick is off by 20x), and XYZ,
# which no ABM plot may show. Quotes: (seconds, venue, instrument, bid, ask).
PLOT_QUOTES = [
    (0, "EXCH", "ABM", 2_000, 2_004),
    (1, "ALT", "ABM", 1_999, 2_006),
    (2, "EXCH", "XYZ", 9_000, 9_100),
    (3, "EXCH", "ABM", 2_001, 2_004),
    (4, "EXCH", "ABM", None, 2_005),  # an empty bid side: no mid, no spread
    (5, "ALT", "ABM", 2_002, 2_003),
]
PLOT_TRADES = [
    (1, "EXCH", "ABM", 2_004, 3),
    (2, "EXCH", "XYZ", 9_050, 1),
    (6, "ALT", "ABM", 2_002, 2),
]
PLOT_FAIR = [(0, "ABM", 100.1), (0, "XYZ", 90.5), (60, "ABM", 100.15)]
PLOT_BOOKS = [  # (seconds, venue, instrument, bids, asks): two ABM snapshots on EXCH, one on ALT
    (0, "EXCH", "ABM", [(2_000, 10), (1_999, 4)], [(2_004, 6)]),
    (60, "EXCH", "ABM", [(2_001, 20)], [(2_004, 2), (2_005, 8)]),
    (60, "ALT", "ABM", [(2_002, 3)], [(2_003, 5)]),
    (60, "EXCH", "XYZ", [(9_000, 999)], [(9_100, 999)]),
]
PLOT_AGENTS = pl.DataFrame(
    {
        "agent": [1, 2, 3, 4, 5, 6, 7],
        "kind": ["value", "retail", "retail", "value", "retail", "market_maker", "retail"],
        "pnl": [12_345, -250, 1_000, -5_000, 400, 99, 650],  # paise
    }
)


def clock(seconds):
    return np.array([T0 + s * SECOND for s in seconds], dtype="datetime64[ns]")


@pytest.fixture(scope="module")
def plotted(tmp_path_factory):
    rec = Recorder()
    for seconds, venue, symbol, bid, ask in PLOT_QUOTES:
        rec.quote(T0 + seconds * SECOND, venue, symbol, bid, 0 if bid is None else 5, ask, 5)
    for k, (seconds, venue, symbol, price, qty) in enumerate(PLOT_TRADES):
        rec.trade(T0 + seconds * SECOND, venue, symbol, price, qty, k, k + 100, 1, 2, 1)
    for seconds, symbol, price in PLOT_FAIR:
        rec.fair_value(T0 + seconds * SECOND, symbol, price, 0.07, 50.0)
    for seconds, venue, symbol, bids, asks in PLOT_BOOKS:
        rec.book(T0 + seconds * SECOND, venue, symbol, bids, asks)
    instruments = pl.DataFrame(
        {
            "symbol": ["ABM", "XYZ"],
            "tick_size": ["0.05", "0.01"],
            "lot_size": [1, 1],
            "unit_face_value": [100, 100],
            "reference_price": [2_000, 9_000],
        }
    )
    path = write_run(
        tmp_path_factory.mktemp("plots"), "plots", rec.frames(), PLOT_AGENTS, instruments, {}, {}
    )
    yield Result.load(path)
    plt.close("all")


def lines(ax) -> dict:
    return {
        line.get_label(): line for line in ax.get_lines() if not line.get_label().startswith("_")
    }


def quotes_of(venue):
    return [
        (s, bid, ask) for s, v, symbol, bid, ask in PLOT_QUOTES if (v, symbol) == (venue, "ABM")
    ]


def test_the_price_plot_draws_each_venues_mid_the_trades_and_the_fair_value(plotted):
    ax = plots.price(plotted, "ABM").axes[0]
    drawn = lines(ax)
    assert set(drawn) == {"mid EXCH", "mid ALT", "fair value"}
    for venue in ("EXCH", "ALT"):
        seconds, bids, asks = zip(*quotes_of(venue), strict=True)
        mids = [
            np.nan if b is None else (b + a) / 2 * 0.05 for b, a in zip(bids, asks, strict=True)
        ]
        line = drawn[f"mid {venue}"]
        np.testing.assert_array_equal(line.get_xdata(), clock(seconds))
        np.testing.assert_allclose(line.get_ydata(), mids, rtol=1e-12)
        assert line.get_drawstyle() == "steps-post"  # a quote holds until the next one
    fair = [(s, price) for s, symbol, price in PLOT_FAIR if symbol == "ABM"]
    np.testing.assert_array_equal(drawn["fair value"].get_xdata(), clock([s for s, _ in fair]))
    np.testing.assert_array_equal(drawn["fair value"].get_ydata(), [p for _, p in fair])
    (points,) = ax.collections
    abm = [(s, price) for s, _, symbol, price, _ in PLOT_TRADES if symbol == "ABM"]
    np.testing.assert_allclose(
        points.get_offsets(),
        [(mdates.date2num(clock([s])[0]), price * 0.05) for s, price in abm],
        rtol=1e-12,
    )
    assert ax.get_title() == "ABM"


def test_the_price_plot_of_one_venue_shows_only_that_venue(plotted):
    ax = plots.price(plotted, "ABM", venue="ALT").axes[0]
    assert set(lines(ax)) == {"mid ALT", "fair value"}
    np.testing.assert_allclose(ax.collections[0].get_offsets()[:, 1], [2_002 * 0.05])


def test_the_spread_plot_draws_ask_minus_bid_in_ticks_per_venue(plotted):
    ax = plots.spread(plotted, "ABM").axes[0]
    drawn = lines(ax)
    assert set(drawn) == {"EXCH", "ALT"}
    for venue, line in drawn.items():
        seconds, bids, asks = zip(*quotes_of(venue), strict=True)
        spreads = [np.nan if b is None else a - b for b, a in zip(bids, asks, strict=True)]
        np.testing.assert_array_equal(line.get_xdata(), clock(seconds))
        np.testing.assert_array_equal(line.get_ydata(), spreads)


def test_the_depth_plot_draws_the_mean_quantity_by_level(plotted):
    """Three ABM snapshots (two on EXCH, one on ALT): each level's bar is its quantity summed
    over the snapshots, divided by three; bids at negative levels, asks at positive."""
    ax = plots.depth(plotted, "ABM").axes[0]
    bars = {round(bar.get_x() + bar.get_width() / 2): bar.get_height() for bar in ax.patches}
    assert bars == pytest.approx({-1: (10 + 20 + 3) / 3, -2: 4 / 3, 1: (6 + 2 + 5) / 3, 2: 8 / 3})
    ax = plots.depth(plotted, "ABM", venue="ALT").axes[0]
    assert {round(b.get_x() + b.get_width() / 2): b.get_height() for b in ax.patches} == {
        -1: 3,
        1: 5,
    }


def test_the_pnl_plot_has_one_box_per_kind_of_the_agents_pnl_in_rupees(plotted):
    figure, ax = plt.subplots()
    drawn = {}

    def boxplot(data, **kwargs):
        drawn.update(data=data, labels=kwargs["tick_labels"])
        drawn["artists"] = original(data, **kwargs)
        return drawn["artists"]

    original = ax.boxplot
    with mock.patch.object(ax, "boxplot", side_effect=boxplot):
        assert plots.pnl_by_kind(plotted, ax=ax) is figure
    kinds = ["market_maker", "retail", "value"]
    rupees = {
        kind: sorted(p / 100 for k, p in PLOT_AGENTS.select("kind", "pnl").iter_rows() if k == kind)
        for kind in kinds
    }
    assert drawn["labels"] == kinds == [t.get_text() for t in ax.get_xticklabels()]
    assert [sorted(d.tolist()) for d in drawn["data"]] == [rupees[k] for k in kinds]
    medians = [line.get_ydata()[0] for line in drawn["artists"]["medians"]]
    assert medians == pytest.approx([float(np.median(rupees[k])) for k in kinds])
    caps = [line.get_ydata()[0] for line in drawn["artists"]["caps"]]  # low, high per box
    assert caps == pytest.approx([x for k in kinds for x in (min(rupees[k]), max(rupees[k]))])


def test_metrics_json_is_sorted_and_strict(tmp_path):
    path = write(tmp_path)
    text = (path / "metrics.json").read_text()
    assert json.loads(text) == {"a": 1.5, "nan": None}
    assert text.index('"a"') < text.index('"nan"') and "NaN" not in text


def test_json_files_are_the_same_bytes_whatever_order_their_keys_came_in(tmp_path):
    def run(folder, metrics, manifest):
        return write_run(
            tmp_path / folder, "run-1", frames(), AGENTS, INSTRUMENTS, metrics, manifest
        )

    one = run("a", {"z": {"y": 1, "x": 2}, "b": 3}, {"seed": 1, "name": "n"})
    other = run("b", {"b": 3, "z": {"x": 2, "y": 1}}, {"name": "n", "seed": 1})
    for name in ("metrics.json", "manifest.json"):
        assert (one / name).read_bytes() == (other / name).read_bytes()
    assert list(json.loads((one / "metrics.json").read_text())) == ["b", "z"]
    assert list(json.loads((one / "manifest.json").read_text())) == [
        "audit",
        "files",
        "manifest_hash",
        "name",
        "seed",
    ]


def test_clear_forgets_everything_but_keeps_recording():
    rec = Recorder()
    rec.trade(1, "EXCH", "ABM", 100, 1, 1, 2, 3, 4, 1)
    rec.clear()
    assert len(rec) == 0 and rec.frames()["trades"].height == 0
    rec.trade(2, "EXCH", "ABM", 101, 2, 3, 4, 5, 6, -1)
    assert rec.frames()["trades"]["price"].to_list() == [101]


def test_take_frames_gives_the_frames_and_empties_the_recorder():
    rec = Recorder()
    rec.trade(1, "EXCH", "ABM", 100, 1, 1, 2, 3, 4, 1)
    rec.quote(1, "EXCH", "ABM", 99, 1, 101, 1)
    expected = rec.frames()
    taken = rec.take_frames()
    assert all(taken[name].equals(expected[name]) for name in expected)
    assert len(rec) == 0


_PRICES = st.one_of(st.none(), st.integers(-(2**63) + 1, 2**63 - 1))


@settings(max_examples=60, deadline=None)
@given(
    quotes=st.lists(
        st.tuples(st.integers(0, 2**62), _PRICES, _PRICES, _PRICES, _PRICES), max_size=200
    ),
    block=st.integers(1, 8),
    frames_between=st.floats(0, 1),
)
def test_rows_held_back_and_moved_in_blocks_give_the_frame_of_the_rows(
    quotes, block, frames_between
):
    """Rows wait in blocks before they reach the columns (`_FLUSH_ROWS` of them): whenever
    the frames are asked for, and across blocks with nulls anywhere, they equal the rows."""
    midway = int(frames_between * len(quotes))
    with mock.patch.object(recorder_module, "_FLUSH_ROWS", block):
        rec = Recorder()
        for k, (time, bid, bid_qty, ask, ask_qty) in enumerate(quotes):
            if k == midway:
                assert rec.frames()["quotes"].height == k == len(rec) // 2
            rec.quote(time, "EXCH", "ABM", bid, bid_qty, ask, ask_qty)
            rec.fair_value(time, "ABM", None if bid is None else bid / 3, None, 1.5)
        got = rec.take_frames()
    columns = ["time", "bid", "bid_qty", "ask", "ask_qty"]
    expected = pl.DataFrame(quotes, schema=dict.fromkeys(columns, pl.Int64), orient="row")
    assert got["quotes"].select(columns).equals(expected)
    assert got["quotes"]["venue"].cast(pl.String).to_list() == ["EXCH"] * len(quotes)
    prices = [None if q[1] is None else q[1] / 3 for q in quotes]
    assert got["fair_values"]["fair_clean_price"].to_list() == prices
    assert got["fair_values"]["fair_yield"].null_count() == len(quotes)


@pytest.mark.parametrize(
    ("bad", "message"),
    [(100.5, "bid must be an int64 or None, got 100.5"), (2**63, "must be an int64")],
)
def test_a_value_that_does_not_fit_its_column_is_named_and_the_columns_stay_even(bad, message):
    with mock.patch.object(recorder_module, "_FLUSH_ROWS", 3):
        rec = Recorder()
        rec.quote(1, "EXCH", "ABM", 99, 1, 101, 1)
        rec.quote(2, "EXCH", "ABM", bad, 1, 101, 1)
        with pytest.raises(ValueError, match=message):
            rec.quote(3, "EXCH", "ABM", 98, 1, 101, 1)  # the block moves, and fails
        with pytest.raises(ValueError, match=message):
            rec.frames()
    assert len(rec) == 3  # nothing lost, nothing doubled
    assert {len(column) for column in rec._tables["quotes"].columns.values()} == {0}


def test_an_int_column_keeps_none_apart_from_its_most_negative_values():
    # None is stored as -(2**63) in the buffer; every other int64 must come back as itself.
    cash = [-(2**63) + 1, -(2**62), *range(-200, 201)]
    rec = Recorder()
    for k, amount in enumerate(cash):
        rec.transfer(k, "withdrawal", 7, None, amount, None, 0)
    transfers = rec.frames()["transfers"]
    assert transfers["cash"].to_list() == cash
    assert transfers["target"].to_list() == [None] * len(cash)
    assert transfers["source"].to_list() == [7] * len(cash)


def test_orders_and_trades_recorded_without_client_codes_are_for_client_zero():
    rec = Recorder()
    rec.order(1, 1, 10, "EXCH", "ABM", 1, "limit", "GTC", 9_998, 5, "accepted", "none")
    rec.order(2, 2, 11, "EXCH", "ABM", -1, "limit", "GTC", 9_999, 5, "accepted", "none", 42)
    rec.trade(3, "EXCH", "ABM", 9_998, 5, 1, 3, 10, 11, -1)
    got = rec.frames()
    assert got["orders"]["client"].to_list() == [0, 42]
    assert got["trades"].select("maker_client", "taker_client").row(0) == (0, 0)


def test_a_fair_value_recorded_without_accrued_interest_has_none_accrued():
    rec = Recorder()
    rec.fair_value(1, "ABM", 99.5, 0.07, 120.0)
    rec.fair_value(2, "ABM", 99.6, 0.07, 119.0, 1.25)
    assert rec.frames()["fair_values"]["accrued"].to_list() == [0.0, 1.25]


@pytest.mark.parametrize("bad", ["99.5", 10**400], ids=["text", "int-past-any-float"])
def test_a_value_that_does_not_fit_a_float_column_is_named(bad):
    rec = Recorder()
    rec.fair_value(1, "ABM", 99.5, 0.07, bad, 0.25)
    row = (1, "ABM", 99.5, 0.07, bad, 0.25)
    message = f"fair_values: spread_bp must be a float or None, got {bad!r} in {row}"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        rec.frames()


def test_a_refused_block_is_reported_again_by_every_later_row():
    # The refused rows stay pending: each later row retries them, so none pile up unnoticed.
    with mock.patch.object(recorder_module, "_FLUSH_ROWS", 2):
        rec = Recorder()
        rec.quote(1, "EXCH", "ABM", 99.5, 1, 101, 1)
        for time in (2, 3, 4):
            with pytest.raises(ValueError, match=r"bid must be an int64 or None, got 99\.5"):
                rec.quote(time, "EXCH", "ABM", 98, 1, 101, 1)
    assert len(rec) == 4


def test_a_value_refused_when_the_frames_are_taken_loses_nothing():
    rec = Recorder()
    rec.trade(1, "EXCH", "ABM", 100, 1, 1, 2, 3, 4, 1)
    rec.quote(2, "EXCH", "ABM", 99.5, 1, 101, 1)  # pending: a float bid is refused at a flush
    with pytest.raises(ValueError, match=r"bid must be an int64 or None, got 99\.5"):
        rec.take_frames()
    assert len(rec) == 2  # the trade and the quote are still there, as frames() keeps them
    with pytest.raises(ValueError, match="bid must be an int64"):
        rec.frames()


def test_the_fx_frame_is_among_the_frames_only_once_a_rate_is_recorded():
    rec = Recorder()
    rec.trade(1, "EXCH", "ABM", 100, 1, 1, 2, 3, 4, 1)
    assert "fx" not in rec.frames()
    for time, pair, rate in FX_ROWS:
        rec.fx_rate(time, pair, rate)
    assert fx_rows(rec.frames()["fx"]) == FX_ROWS
    taken = rec.take_frames()
    assert dict(taken["fx"].schema) == FX_SCHEMA and fx_rows(taken["fx"]) == FX_ROWS
    assert "fx" not in rec.take_frames()  # emptied with the rest
