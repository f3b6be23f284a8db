"""The audit trail: audit.jsonl in every run folder, a SHA-256 hash chain over every order event
and ledger movement, checked here against a reimplementation of the chain with hashlib and
against the run's own frames."""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from unittest import mock

import numpy as np
import polars as pl
import pytest

from sim.engine.access import MarketAccess
from sim.engine.kernel import Simulation
from sim.engine.latency import FixedLatency
from sim.market.orders import Reason
from sim.records import audit as audit_module
from sim.records.audit import AUDIT_FILE, GENESIS, check_chain, write_audit
from sim.records.recorder import Recorder
from sim.records.result import Result
from sim.records.store import sha256_file, write_run
from sim.scenario.model import load_scenario
from sim.strategy.api import StrategyParticipant
from tests.helpers.scenarios import small_scenario

HALT = """
[[shocks]]
kind = "venue_halt"
venue = "EXCH"
day = 0
at = "09:40"
minutes = 10
"""


class RefusedByItsGuardrails:
    """Every ten minutes, an order its own kill switch stops before it is sent."""

    def on_start(self, ctx):
        ctx.set_timer(600 * 10**9)

    def on_timer(self, ctx):
        ctx.refuse("EXCH", "ABM", "buy", 5, 9_990, "GTC", Reason.KILL_SWITCH)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A small run with a venue halt and a strategy whose guardrails refuse its orders."""
    folder = tmp_path_factory.mktemp("audit")
    path = small_scenario(folder, days=2)
    path.write_text(path.read_text() + HALT)
    sim = Simulation(load_scenario(path), seed=4)
    strategy = StrategyParticipant(
        MarketAccess(sim), np.random.default_rng(0), FixedLatency(10_000),
        RefusedByItsGuardrails(), [("EXCH", "ABM")],
    )  # fmt: skip
    sim.open_account(strategy, cash=10**6)
    return sim.run(out=folder / "runs")


def records_of(result: Result) -> list[dict]:
    return [json.loads(line) for line in (result.path / AUDIT_FILE).read_text().splitlines()]


def test_the_chain_holds_by_an_independent_reckoning(run):
    """Each record's hash is the SHA-256 of its canonical JSON without the hash; each carries
    the one before's; the last is the manifest's final hash, and the file its listed sha256."""
    lines = (run.path / AUDIT_FILE).read_bytes().split(b"\n")
    assert lines[-1] == b""  # every line ends in a newline
    prev = "0" * 64
    for seq, line in enumerate(lines[:-1]):
        record = json.loads(line)
        digest = record.pop("hash")
        assert record["seq"] == seq and record["prev"] == prev
        text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        assert hashlib.sha256(text.encode()).hexdigest() == digest
        assert line == f'{text[:-1]},"hash":"{digest}"}}'.encode()  # canonical, hash last
        prev = digest
    assert run.manifest["audit"] == {
        "file": "audit.jsonl", "records": len(lines) - 1, "final_hash": prev
    }  # fmt: skip
    assert run.manifest["files"]["audit.jsonl"] == sha256_file(run.path / AUDIT_FILE)
    checked = check_chain(run.path / AUDIT_FILE)
    assert checked.broken is None and checked.final_hash == prev


def test_it_opens_with_the_run_and_closes_with_the_counts(run):
    records = records_of(run)
    first, last = records[0], records[-1]
    assert first["event"] == "run" and first["prev"] == GENESIS
    assert (first["run_id"], first["seed"]) == (run.run_id, 4)
    assert first["scenario_hash"] == run.manifest["scenario_hash"]
    events = Counter(r["event"] for r in records[1:-1])
    assert last["event"] == "end" and last["events"] == len(records) - 2
    assert last["counts"] == dict(events)


def expected_counts(orders: pl.DataFrame, trades, transfers, halts) -> Counter:
    """What the audit log must hold, worked out row by row from the frames."""
    counts = Counter()
    for row in orders.iter_rows(named=True):
        kind, status, reason = row["type"], row["status"], row["reason"]
        if reason in ("guardrail_position", "guardrail_var", "kill_switch"):
            counts["guardrail_refusal"] += 1
        elif kind in ("cancel", "modify"):
            counts["reject" if status == "rejected" else kind] += 1
        else:
            counts["submit"] += 1
            counts["reject" if status == "rejected" else "accept"] += 1
            counts["cancel"] += status == "cancelled"  # a remainder the venue cancelled
    counts["fill"] += trades.height
    counts["ledger"] += transfers.height
    counts["halt"] += halts.height
    return +counts


def test_every_order_event_ledger_movement_and_halt_is_in_it(run):
    records = records_of(run)
    got = Counter(r["event"] for r in records[1:-1])
    assert got == expected_counts(run.orders, run.trades, run.transfers, run.halts)
    assert {"submit", "accept", "fill", "cancel", "reject", "ledger", "halt",
            "guardrail_refusal"} <= got.keys()  # fmt: skip
    # the halt: every listing of EXCH, from 09:40 for 10 minutes
    (halt,) = [r for r in records if r["event"] == "halt"]
    assert (halt["venue"], halt["instrument"], halt["cause"]) == ("EXCH", "ABM", "venue_halt")
    assert halt["until"] - halt["time"] == 10 * 60 * 10**9
    refused_while_halted = run.orders.filter(
        (pl.col("reason") == "halted") & pl.col("time").is_between(halt["time"], halt["until"])
    )
    assert refused_while_halted.height > 0
    # the refusals: as the strategy's orders table holds them
    refusals = [r for r in records if r["event"] == "guardrail_refusal"]
    assert [(r["reason"], r["price"], r["qty"], r["side"]) for r in refusals] == [
        ("kill_switch", 9_990, 5, 1)
    ] * 12


def test_fills_carry_the_trade_and_its_fees(run):
    fills = [r for r in records_of(run) if r["event"] == "fill"]
    trades = run.trades.with_columns(pl.col("venue", "instrument").cast(pl.String))
    assert (
        [f["trade_id"] for f in fills]
        == trades["trade_id"].to_list()
        == list(range(1, trades.height + 1))
    )
    for fill, trade in zip(fills, trades.iter_rows(named=True), strict=True):
        for field in ("time", "venue", "instrument", "price", "qty", "accrued", "maker_fee",
                      "taker_fee", "maker_agent", "taker_agent", "maker_order_id",
                      "taker_order_id", "aggressor_side"):  # fmt: skip
            assert fill[field] == trade[field], field
    # the small scenario's 1 bp taker fee, truncated to whole paise
    assert all(f["taker_fee"] >= 0 for f in fills) and any(f["taker_fee"] > 0 for f in fills)


def test_rejections_and_cancels_carry_their_reasons(run):
    records = records_of(run)
    orders = run.orders.with_columns(pl.col(pl.Categorical).cast(pl.String))
    rejected = orders.filter(
        (pl.col("status") == "rejected") & ~pl.col("reason").str.contains("kill|guardrail")
    )
    rejects = [r for r in records if r["event"] == "reject"]
    assert Counter(r["reason"] for r in rejects) == Counter(rejected["reason"].to_list())
    assert all(r["reason"] != "none" for r in rejects)
    remainders = [r for r in records if r["event"] == "cancel" and r["request"] == "new"]
    assert all(r["reason"] != "none" for r in remainders)


def test_records_are_in_time_order_and_fills_follow_their_request(run):
    records = records_of(run)[1:-1]
    times = [r["time"] for r in records]
    assert times == sorted(times)
    accepted_at = {}
    for position, record in enumerate(records):
        if record["event"] in ("accept", "modify"):
            key = (record["time"], record["venue"], record["instrument"], record["order_id"])
            accepted_at[key] = position
        if record["event"] == "fill":
            key = (record["time"], record["venue"], record["instrument"],
                   record["taker_order_id"])  # fmt: skip
            if key in accepted_at:  # the request that made it came just before
                between = records[accepted_at[key] + 1 : position]
                assert all(r["event"] == "fill" for r in between)


def test_the_same_run_writes_the_same_log(tmp_path):
    scenario = load_scenario(small_scenario(tmp_path, days=1))
    first = Simulation(scenario, seed=9).run(out=tmp_path / "a")
    second = Simulation(scenario, seed=9).run(out=tmp_path / "b")
    assert (first.path / AUDIT_FILE).read_bytes() == (second.path / AUDIT_FILE).read_bytes()
    assert first.manifest["audit"] == second.manifest["audit"]


def test_a_run_held_in_memory_gives_the_same_log(tmp_path):
    scenario = load_scenario(small_scenario(tmp_path, days=1))
    in_memory = Simulation(scenario, seed=2).run(out=None)
    on_disk = Simulation(scenario, seed=2).run(out=tmp_path / "runs")
    assert in_memory.audit().equals(on_disk.audit())
    saved = in_memory.save(tmp_path / "saved")
    assert saved.manifest["audit"] == on_disk.manifest["audit"]


# --- the writer ----------------------------------------------------------------------------


def hand_frames():
    """A few events of every kind, two at one time (the tie-break decides their order)."""
    rec = Recorder()
    t = 1_704_187_800_000_000_000
    rec.transfer(t, "deposit", None, 10, 500_000, None, 0)
    rec.order(t + 5, 1, 10, "EXCH", "ABM", 1, "limit", "GTC", 9_998, 5, "accepted", "none")
    rec.order(t + 9, 2, 11, "EXCH", "ABM", -1, "market", "GTC", None, 3, "filled", "none")
    rec.trade(t + 9, "EXCH", "ABM", 9_998, 3, 1, 2, 10, 11, -1, 0, 0, 120, 0, 3)
    rec.transfer(t + 9, "coupon", None, 10, 40, None, 0)
    rec.order(t + 12, 0, 12, "EXCH", "ABM", 1, "limit", "GTC", 9_000, 1, "rejected",
              "guardrail_var")  # fmt: skip
    rec.order(t + 15, 1, 10, "EXCH", "ABM", 0, "cancel", None, None, None, "cancelled", "none")
    rec.order(t + 16, 7, 10, "EXCH", "ABM", 0, "cancel", None, None, None, "rejected",
              "unknown_order")  # fmt: skip
    rec.halt(t + 20, "EXCH", "ABM", t + 80, "venue_halt")
    rec.fair_value(t, "ABM", 100.0, None, None)
    rec.curve(t, 1.0, 0.065)
    return rec.frames()


AGENTS = pl.DataFrame({"agent": [10, 11, 12], "kind": ["retail", "retail", "ai"]})
INSTRUMENTS = pl.DataFrame({"symbol": ["ABM"], "tick_size": ["0.01"], "unit_face_value": [100]})


def write(tmp_path, **kwargs):
    return write_run(tmp_path, "hand", hand_frames(), AGENTS, INSTRUMENTS, {}, {"seed": 3},
                     **kwargs)  # fmt: skip


def test_each_event_kind_is_written_in_order(tmp_path):
    records = records_of(Result.load(write(tmp_path)))
    assert [r["event"] for r in records] == [
        "run", "ledger", "submit", "accept", "ledger", "submit", "accept", "fill",
        "guardrail_refusal", "cancel", "reject", "halt", "end",
    ]  # fmt: skip
    fill = records[7]
    assert (fill["trade_id"], fill["maker_fee"], fill["taker_fee"]) == (1, 0, 3)
    assert records[4]["kind"] == "coupon"  # a ledger movement before the orders at its time
    reject = records[10]
    assert (reject["request"], reject["reason"]) == ("cancel", "unknown_order")
    deposit = records[1]
    assert (deposit["kind"], deposit["source"], deposit["target"], deposit["cash"]) == (
        "deposit",
        None,
        10,
        500_000,
    )


def test_events_known_at_write_time_join_the_chain(tmp_path):
    t = 1_704_187_800_000_000_000
    decision = {"time": t + 10, "event": "gate_decision", "passed": True, "checks": {"sharpe": 1.2}}
    records = records_of(Result.load(write(tmp_path, audit_events=[decision])))
    (got,) = [r for r in records if r["event"] == "gate_decision"]
    assert got["checks"] == {"sharpe": 1.2} and records.index(got) == 8  # after t + 9's events
    assert check_chain(tmp_path / "hand" / AUDIT_FILE).broken is None
    with pytest.raises(ValueError, match="may not set seq, prev or hash"):
        write(tmp_path / "again", audit_events=[{**decision, "seq": 1}])


def test_the_log_is_opened_for_appending_only_and_never_over_another(tmp_path):
    opened = []
    real_open = os.open

    def spy(path, flags, *args):
        opened.append((str(path), flags))
        return real_open(path, flags, *args)

    with mock.patch.object(audit_module.os, "open", spy):
        write(tmp_path)
    ((path, flags),) = [(p, f) for p, f in opened if p.endswith(AUDIT_FILE)]
    assert flags & os.O_APPEND and flags & os.O_EXCL and not flags & os.O_TRUNC
    assert f"{os.sep}.hand.tmp-" in path  # inside the temporary folder, before the rename
    existing = tmp_path / "existing.jsonl"
    existing.write_text("kept\n")
    with pytest.raises(FileExistsError):
        write_audit(existing, hand_frames(), run_id="x", scenario_hash=None, seed=None)
    assert existing.read_text() == "kept\n"


@pytest.mark.parametrize(
    ("edit", "line", "why"),
    [
        (lambda lines: lines.__setitem__(2, lines[2].replace(b'"qty":5', b'"qty":6')), 3,
         "its contents do not match its hash"),
        (lambda lines: lines.pop(5), 6, "seq 6, expected 5: a record is missing, added or moved"),
        (lambda lines: lines.insert(2, lines[2]), 4, "seq 2, expected 3"),
        (lambda lines: lines.__setitem__(4, lines[4][:-1] + b"]"), 5, "not a JSON record"),
        (lambda lines: lines.__setitem__(2, lines[2].replace(b":", b": ", 1)), 3,
         "not written in canonical form"),
    ],
)  # fmt: skip
def test_the_first_broken_record_is_named(tmp_path, edit, line, why):
    file = write(tmp_path) / AUDIT_FILE
    lines = file.read_bytes().split(b"\n")
    edit(lines)
    file.write_bytes(b"\n".join(lines))
    broken = check_chain(file).broken
    assert broken is not None and broken.line == line and why in broken.reason
    assert not broken.truncated


def test_a_log_cut_short_is_told_apart(tmp_path):
    file = write(tmp_path) / AUDIT_FILE
    data = file.read_bytes()
    file.write_bytes(data[: data.index(b"\n", 300) + 1])  # whole lines, but not the end
    broken = check_chain(file).broken
    assert broken.truncated and "without its 'end' record" in broken.reason
    file.write_bytes(data[:-20])  # mid-line
    broken = check_chain(file).broken
    assert broken.truncated and broken.line == data.count(b"\n") and "incomplete" in broken.reason
