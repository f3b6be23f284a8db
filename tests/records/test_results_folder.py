"""The results folder: atomic, deterministic writes and loads that catch any damage."""

from __future__ import annotations

import json
from unittest import mock

import matplotlib
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.presentation import plots
from sim.records import recorder as recorder_module
from sim.records import store as store_module
from sim.records.recorder import Recorder
from sim.records.result import Result, ResultError
from sim.records.store import sha256_file, write_run

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


@pytest.mark.parametrize("run_id", ["", ".hidden", "a/b", "../up"])
def test_run_ids_must_be_plain_names(tmp_path, run_id):
    with pytest.raises(ValueError, match="run_id must be a plain folder name"):
        write(tmp_path, run_id=run_id)


def test_a_changed_file_is_caught(tmp_path):
    path = write(tmp_path)
    data = bytearray((path / "trades.parquet").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (path / "trades.parquet").write_bytes(bytes(data))
    with pytest.raises(ResultError, match=r"trades\.parquet"):
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


def test_plots_return_figures(tmp_path):
    res = Result.load(write(tmp_path))
    for plot in (plots.price, plots.spread, plots.depth, plots.pnl_by_kind):
        figure = plot(res)
        assert figure.axes and figure.axes[0].has_data()


def test_metrics_json_is_sorted_and_strict(tmp_path):
    path = write(tmp_path)
    text = (path / "metrics.json").read_text()
    assert json.loads(text) == {"a": 1.5, "nan": None}
    assert text.index('"a"') < text.index('"nan"') and "NaN" not in text


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
