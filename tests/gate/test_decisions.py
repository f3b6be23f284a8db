"""The gate's decision log: an append-only hash chain that names the first record tampered
with, and the alias history it answers ("which version was production at time T")."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.gate.decisions import GENESIS, DecisionLog, DecisionLogError, record_hash

T = [datetime(2026, 12, day, 9, tzinfo=UTC) for day in range(1, 6)]


def filled(folder) -> DecisionLog:
    log = DecisionLog(folder)
    log.append("decision", "alpha", 1, time=T[0].isoformat(), who="ci", passed=True,
               production=1, reason="every check passed")  # fmt: skip
    log.append("decision", "alpha", 2, time=T[1].isoformat(), who="ci", passed=False,
               production=1, reason="sharpe 0.9 < 1.5")  # fmt: skip
    log.append("decision", "alpha", 3, time=T[2].isoformat(), who="ci", passed=True,
               production=3, reason="every check passed")  # fmt: skip
    log.append("rollback", "alpha", 1, time=T[3].isoformat(), who="ops", production=1,
               reason="drawdown in monitoring")  # fmt: skip
    log.append("decision", "beta", 1, time=T[3].isoformat(), who="ci", production=1)
    return log


def test_each_record_carries_the_hash_of_the_one_before(tmp_path):
    log = filled(tmp_path)
    records = log.records()
    assert [r["seq"] for r in records] == [0, 1, 2, 3, 4]
    assert records[0]["prev"] == GENESIS
    assert all(b["prev"] == a["hash"] for a, b in pairwise(records))
    assert all(r["hash"] == record_hash(r) for r in records) and log.verify() is None


def test_it_answers_which_version_was_production_when(tmp_path):
    log = filled(tmp_path)
    assert log.production_at("alpha", datetime(2026, 11, 30, tzinfo=UTC)) is None
    assert [log.production_at("alpha", t) for t in T] == [1, 1, 3, 1, 1]
    assert [r["version"] for r in log.history("beta")] == [1]


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_a_flipped_byte_anywhere_is_found_at_its_record(tmp_path_factory, data):
    log = filled(tmp_path_factory.mktemp("log"))
    raw = bytearray(log.path.read_bytes())
    position = data.draw(st.integers(0, len(raw) - 2))  # the last newline is not a record
    raw[position] ^= data.draw(st.integers(1, 255))
    log.path.write_bytes(bytes(raw))
    broken = log.verify()
    assert broken is not None
    assert broken.line == raw[:position].count(b"\n") + 1
    with pytest.raises(DecisionLogError, match=f":{broken.line}: "):
        log.append("decision", "alpha", 9)


def test_a_removed_or_reordered_record_breaks_the_chain(tmp_path):
    log = filled(tmp_path)
    lines = log.path.read_text().splitlines(keepends=True)
    log.path.write_text("".join(lines[:1] + lines[2:]))
    assert log.verify().line == 2 and "seq 2" in log.verify().reason
    log.path.write_text("".join(lines[1:2] + lines[:1] + lines[2:]))
    assert log.verify().line == 1
    edited = json.loads(lines[1]) | {"reason": "every check passed"}
    log.path.write_text("".join([lines[0], json.dumps(edited) + "\n", *lines[2:]]))
    assert log.verify().reason == "its contents do not match its hash"
