"""Trade receipts: every figure worked out again here, trade by trade, from the run's trades,
fair_values, quotes and instruments tables, and the `bondlab receipts` command."""

from __future__ import annotations

import json
import math
from bisect import bisect_left, bisect_right
from decimal import Decimal

import polars as pl
import pytest
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.records.result import ResultError

REDUCED = ["calendar.days=2", "retail.count=100", "sip.investors=100", "repo.count=0", "ai.count=0"]
runner = CliRunner()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    scenario = sim.load_scenario("baseline", REDUCED)
    return sim.run(scenario, seed=2, out=tmp_path_factory.mktemp("receipts"))


def as_text(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col(pl.Categorical).cast(pl.String))


def expected_receipts(run) -> list[dict]:
    """Each trade's receipt, reckoned with plain Python from the run's tables."""
    terms = {r["symbol"]: r for r in run.instruments.iter_rows(named=True)}
    fair: dict[str, list[dict]] = {}
    for row in as_text(run.fair_values).sort("time", maintain_order=True).iter_rows(named=True):
        fair.setdefault(row["instrument"], []).append(row)
    quotes: dict[tuple[str, str], list[dict]] = {}
    for row in as_text(run.quotes).iter_rows(named=True):
        quotes.setdefault((row["venue"], row["instrument"]), []).append(row)
    venues = as_text(run.quotes)["venue"].unique(maintain_order=True).to_list()
    out = []
    for trade in as_text(run.trades).iter_rows(named=True):
        symbol, time = trade["instrument"], trade["time"]
        term = terms[symbol]
        tick = Decimal(term["tick_size"])
        buyer_takes = trade["aggressor_side"] == 1
        notional = trade["price"] * trade["qty"] * int(tick * term["unit_face_value"])
        buyer_fee = trade["taker_fee"] if buyer_takes else trade["maker_fee"]
        seller_fee = trade["maker_fee"] if buyer_takes else trade["taker_fee"]
        published = fair[symbol]
        in_force = published[bisect_right([r["time"] for r in published], time) - 1]
        receipt = {
            "trade_id": trade["trade_id"],
            "buyer": trade["taker_agent"] if buyer_takes else trade["maker_agent"],
            "seller": trade["maker_agent"] if buyer_takes else trade["taker_agent"],
            "clean_price": float(trade["price"] * tick),
            "notional": notional,
            "accrued": trade["accrued"],
            "buyer_fee": buyer_fee,
            "seller_fee": seller_fee,
            "buyer_paid": notional + trade["accrued"] + buyer_fee,
            "seller_received": notional + trade["accrued"] - seller_fee,
            "fair_time": in_force["time"],
            "fair_clean_price": in_force["fair_clean_price"],
            "fair_accrued": in_force["accrued"],
            "spread_bp": in_force["spread_bp"],
            "risk_free_clean_price": in_force["risk_free_clean_price"],
        }
        for venue in venues:
            book = quotes.get((venue, symbol), [])
            before = bisect_left([q["time"] for q in book], time)  # strictly earlier quotes
            last = book[before - 1] if before else {}
            for side in ("bid", "bid_qty", "ask", "ask_qty"):
                receipt[f"{venue}_{side}"] = last.get(side)
        out.append(receipt)
    return out


def test_every_receipt_matches_the_tables(run):
    got = run.receipts()
    expected = expected_receipts(run)
    assert got.height == run.trades.height == len(expected) > 100
    assert got["trade_id"].to_list() == list(range(1, got.height + 1))
    for row, want in zip(got.iter_rows(named=True), expected, strict=True):
        for name, value in want.items():
            if isinstance(value, float):
                assert math.isclose(row[name], value, rel_tol=1e-12), (row["trade_id"], name)
            else:
                assert row[name] == value, (row["trade_id"], name)


def test_fees_both_sides_and_quotes_of_both_venues_are_there(run):
    got = run.receipts()
    assert {"NSE_bid", "NSE_ask", "BSE_bid", "BSE_ask"} <= set(got.columns)
    assert (got["buyer_fee"] != 0).any() and (got["seller_fee"] < 0).any()  # makers' rebates
    assert got["NSE_bid"].null_count() < got.height and got["BSE_ask"].null_count() < got.height
    # the trade's own venue showed it a bid below its ask before it
    for row in got.iter_rows(named=True):
        bid, ask = row[f"{row['venue']}_bid"], row[f"{row['venue']}_ask"]
        if bid is not None and ask is not None:
            assert bid < ask


def test_the_valuation_breakdown_adds_up(run):
    got = run.receipts().drop_nulls("risk_free_clean_price")
    assert got.height > 0.9 * run.trades.height
    parts = ("rating_spread", "liquidity_premium", "model_adjustment")
    for row in got.iter_rows(named=True):
        price = row["risk_free_clean_price"] + sum(row[f"{p}_price"] for p in parts)
        assert math.isclose(price, row["fair_clean_price"], abs_tol=1e-9)
        assert math.isclose(sum(row[f"{p}_bp"] for p in parts), row["spread_bp"], abs_tol=1e-9)
        assert math.isclose(
            row["price_vs_fair_bp"], (row["clean_price"] / row["fair_clean_price"] - 1) * 1e4
        )


def test_one_receipt_as_a_dict(run):
    row = run.receipts().row(9, named=True)
    receipt = run.receipt(row["trade_id"])
    assert receipt["trade_id"] == 10 and receipt["notional"] == row["notional"]
    assert receipt["buyer"] == {"agent": row["buyer"], "client": row["buyer_client"],
                                "fee": row["buyer_fee"], "paid": row["buyer_paid"]}  # fmt: skip
    assert receipt["seller"]["received"] == row["seller_received"]
    assert receipt["fair_value"]["clean_price"] == row["fair_clean_price"]
    assert receipt["fair_value"]["breakdown"]["rating_spread"]["bp"] == row["rating_spread_bp"]
    assert receipt["quotes"]["BSE"]["ask"] == row["BSE_ask"]
    json.dumps(receipt)  # plain values only
    with pytest.raises(ResultError, match=r"no trade 0 \(its trade ids run from 1 to \d+\)$"):
        run.receipt(0)


def test_the_command_filters_prints_and_writes_csv(run, tmp_path):
    agent = run.receipts()["buyer"][0]
    shown = runner.invoke(app, ["receipts", str(run.path), "--agent", str(agent)])
    assert shown.exit_code == 0, shown.output
    theirs = run.receipts().filter((pl.col("buyer") == agent) | (pl.col("seller") == agent))
    assert f"{theirs.height} trades" in shown.stdout
    csv = tmp_path / "mine.csv"
    wrote = runner.invoke(
        app, ["receipts", str(run.path), "--agent", str(agent), "--csv", str(csv)]
    )
    assert wrote.exit_code == 0 and wrote.stdout.strip() == str(csv)
    back = pl.read_csv(csv)
    assert back["trade_id"].to_list() == theirs["trade_id"].to_list()
    assert back["buyer_paid"].to_list() == theirs["buyer_paid"].to_list()
    one = runner.invoke(app, ["receipts", str(run.path), "--trade", "3"])
    assert one.exit_code == 0 and json.loads(one.stdout) == json.loads(json.dumps(run.receipt(3)))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--trade", "100000"], "no trade 100000 (its trade ids run from 1 to"),
        (["--trade", "1", "--agent", "99999"], "trade 1 is not one of account 99999's"),
    ],
)
def test_the_commands_mistakes_are_one_line(run, args, message):
    out = runner.invoke(app, ["receipts", str(run.path), *args])
    assert out.exit_code == 2 and message in out.stderr
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.output


def test_a_folder_that_is_not_a_run(tmp_path):
    out = runner.invoke(app, ["receipts", str(tmp_path / "nothing")])
    assert out.exit_code == 2 and out.stderr == f"{tmp_path / 'nothing'}: no such results folder\n"
