"""A run's audit trail: ``audit.jsonl``, every order event and every ledger movement off the
books, in time order, as a SHA-256 hash chain.

It is built from the run's frames once the run is over (nothing is added to the run's hot
path) and written into the run's folder before the folder is renamed into place
(`sim.records.store.write_run`), by a file opened for appending only. The manifest holds its
record count and final hash (``"audit": {"records", "final_hash"}``) and, like every file's,
its sha256.

One JSON object a line. Every record has ``seq`` (0 first: the line number less one),
``event``, ``prev`` (the hash of the record before it; 64 zeros for the first) and ``hash``:
the SHA-256 of the record's canonical JSON without ``hash`` (sorted keys, no spaces, ASCII,
``json.dumps(record, sort_keys=True, separators=(",", ":"))``). A line is that canonical JSON
with ``"hash"`` added as its last key. Editing, removing, adding or reordering a record breaks
the chain at that record (`check_chain` names the line); cutting the log short loses its
``end`` record.

Records, in order (times in integer ns, prices in ticks, quantities in units, money in paise,
as in the frames; agents are account numbers, clients the client codes):

``run``
    the first: run_id, scenario_hash, seed, format (this layout's version).
``halt``
    a venue halts an instrument (the scenario's ``venue_halt`` shocks, cause "venue_halt";
    a trade beyond its price band's halt threshold, cause "circuit_breaker"): time, venue,
    instrument, until, cause.
``ledger``
    a movement off the books (transfers.parquet: deposits, issues, coupons, redemptions,
    SIP-pool and repo transfers): time, kind, source, target (null: outside the system),
    cash, instrument, qty.
``submit``
    a new order as sent: time, agent, client, venue, instrument, order_id (the venue's; 0 when
    it gave none), side (+1 buy, -1 sell), type, tif, price (null: market), qty.
``accept``
    the venue took it: time, agent, client, venue, instrument, order_id, status (the order's
    state once matched: accepted, partially_filled, filled or cancelled).
``reject``
    a request refused, by the venue or by the sender's broker or the simulation before it
    left: time, agent, client, venue, instrument, order_id, request ("new", "cancel",
    "modify"), reason, price, qty (as asked).
``fill``
    a trade (trades.parquet), after the request that made it: time, trade_id, venue,
    instrument, price, qty, accrued, aggressor_side, and maker_/taker_ agent, client,
    order_id and fee.
``cancel``
    an order cancelled: at its owner's request (request "cancel", reason "none") or by the
    venue, after the fills of the request that left a remainder (request "new": an IOC's
    ``unfilled_remainder``, ``self_trade``, ...): time, agent, client, venue, instrument,
    order_id, request, reason.
``modify``
    an order modified: time, agent, client, venue, instrument, order_id, price, qty, status,
    reason.
``guardrail_refusal``
    an order a strategy's guardrails stopped before it was sent (``guardrail_position``,
    ``guardrail_var``, ``kill_switch``): time, agent, client, venue, instrument, side, type,
    tif, price, qty, reason.
extra events
    `write_audit`'s ``extra``: events the caller knows when the run is written, each with a
    ``time`` and an ``event`` name. A gate's decisions are not among them: the gate decides
    once every run of its suite has been written and scored, so its decision log
    (`sim.gate.decisions`, itself a hash chain naming what it tested) is where they are kept.
``end``
    the last: events (the number of records between ``run`` and ``end``) and counts (of
    them, by event).

Every record but ``run`` and ``end`` has a ``time``; they are in time order, ties broken by
halts, then ledger movements, then order events (each request's records together, in the
order above: submit, accept or reject, fills, then the venue's cancel of a remainder), then
extra events; within each, as the frames hold them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

AUDIT_FILE = "audit.jsonl"
GENESIS = "0" * 64
FORMAT = 1
GUARDRAIL_REASONS = ("guardrail_position", "guardrail_var", "kill_switch")
_NOT_NEW = ("cancel", "modify")  # order types that are requests about an order, not orders

# Tie-break ranks at one time.
_HALT, _LEDGER, _ORDERS, _EXTRA = 1, 2, 3, 4
# Within one request's records.
_SUBMIT, _ANSWER, _FILL, _REMAINDER = 0, 1, 2, 3


def canonical(record: Mapping[str, Any]) -> str:
    """The canonical JSON of `record`: sorted keys, no spaces, ASCII."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), allow_nan=False)


def record_hash(record: Mapping[str, Any]) -> str:
    """The SHA-256 of `record`'s canonical JSON, its ``hash`` left out."""
    body = {key: value for key, value in record.items() if key != "hash"}
    return hashlib.sha256(canonical(body).encode()).hexdigest()


def audit_line(record: Mapping[str, Any]) -> str:
    """The line of a record that holds its ``hash``: the canonical JSON of the rest, with
    ``"hash"`` added last (no newline)."""
    body = canonical({key: value for key, value in record.items() if key != "hash"})
    return f'{body[:-1]},"hash":{json.dumps(record["hash"])}}}'


@dataclass(frozen=True)
class AuditSummary:
    """What the manifest keeps of an audit log."""

    records: int
    final_hash: str

    def to_dict(self) -> dict[str, Any]:
        return {"file": AUDIT_FILE, "records": self.records, "final_hash": self.final_hash}


def write_audit(
    path: str | os.PathLike,
    tables: Mapping[str, pl.DataFrame],
    *,
    run_id: str,
    scenario_hash: str | None,
    seed: int | None,
    extra: Iterable[Mapping[str, Any]] = (),
) -> AuditSummary:
    """Write the audit log of a run's `tables` (its frames by name) to `path`, a file that
    must not exist yet, opened for appending only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
    records, final = 0, GENESIS
    lines = audit_lines(tables, run_id=run_id, scenario_hash=scenario_hash, seed=seed, extra=extra)
    with os.fdopen(fd, "ab") as log:
        chunk: list[str] = []
        for line, digest in lines:
            chunk.append(line)
            records, final = records + 1, digest
            if len(chunk) >= 65_536:
                log.write("".join(chunk).encode("ascii"))
                chunk = []
        log.write("".join(chunk).encode("ascii"))
    return AuditSummary(records, final)


def audit_lines(
    tables: Mapping[str, pl.DataFrame],
    *,
    run_id: str,
    scenario_hash: str | None,
    seed: int | None,
    extra: Iterable[Mapping[str, Any]] = (),
) -> Iterator[tuple[str, str]]:
    """Each line of the audit log (with its newline) and its record's hash, in order."""
    events = _events(tables, extra)
    counts = dict(sorted(events.group_by("event").len().iter_rows())) if events.height else {}
    rests = events.select(
        pl.concat_str(
            pl.col("mid"), pl.int_range(1, events.height + 1).cast(pl.String), pl.col("tail")
        )
    ).to_series()
    heads = events["head"]
    sha256 = hashlib.sha256
    prev = GENESIS

    header = {"seq": 0, "event": "run", "run_id": run_id, "scenario_hash": scenario_hash,
              "seed": seed, "format": FORMAT}  # fmt: skip
    footer = {"seq": events.height + 1, "event": "end", "events": events.height,
              "counts": counts}  # fmt: skip
    prev = yield from _python_record(header, prev)
    for head, rest in zip(heads, rests, strict=True):
        text = head + prev + rest
        prev = sha256(text.encode("ascii")).hexdigest()
        yield f'{text[:-1]},"hash":"{prev}"}}\n', prev
    yield from _python_record(footer, prev)


def _python_record(record: dict[str, Any], prev: str) -> Iterator[tuple[str, str]]:
    record = {**record, "prev": prev}
    record["hash"] = record_hash(record)
    yield audit_line(record) + "\n", record["hash"]
    return record["hash"]


# --- the events, built column-wise --------------------------------------------------------


def _events(tables: Mapping[str, pl.DataFrame], extra: Iterable[Mapping[str, Any]]):
    """Every event record but ``run`` and ``end``, sorted: columns head, mid and tail (the
    canonical JSON is head + prev + mid + seq + tail) and the event's name."""
    parts = []
    halts = tables.get("halts")
    if halts is not None and halts.height:
        parts.append(_family(halts, "halt", ("venue", "instrument", "until", "cause"), _HALT))
    transfers = tables["transfers"]
    if transfers.height:
        fields = ("kind", "source", "target", "cash", "instrument", "qty")
        parts.append(_family(transfers, "ledger", fields, _LEDGER))
    parts += _order_events(tables["orders"], tables["trades"])
    extra = [dict(event) for event in extra]
    if extra:
        parts.append(_extra_events(extra))
    columns = ["time", "rank", "anchor", "sub", "row", "event", "head", "mid", "tail"]
    if not parts:
        return pl.DataFrame(schema=dict.fromkeys(columns, pl.String))
    events = pl.concat([part.select(columns) for part in parts], how="vertical")
    return events.sort("time", "rank", "anchor", "sub", "row", maintain_order=True)


def _order_events(orders: pl.DataFrame, trades: pl.DataFrame) -> list[pl.DataFrame]:
    orders = orders.with_row_index("row").with_columns(
        pl.col("row").cast(pl.Int64),
        pl.col("type", "status", "reason").cast(pl.String),
    )
    new = ~pl.col("type").is_in(_NOT_NEW)
    guard = pl.col("reason").is_in(GUARDRAIL_REASONS)
    rejected = pl.col("status") == "rejected"
    request = pl.when(new).then(pl.lit("new")).otherwise(pl.col("type")).alias("request")
    cancel_request = ~rejected & (pl.col("type") == "cancel")
    cancelled_on_arrival = new & (pl.col("status") == "cancelled")  # a remainder, self-trade
    who = ("agent", "client", "venue", "instrument", "order_id")
    families = [
        (new & ~guard, "submit", (*who, "side", "type", "tif", "price", "qty"), _SUBMIT),
        (new & ~guard & ~rejected, "accept", (*who, "status"), _ANSWER),
        (~guard & rejected, "reject", (*who, "request", "reason", "price", "qty"),
         pl.when(new).then(_ANSWER).otherwise(_SUBMIT)),
        (~guard & (cancel_request | cancelled_on_arrival), "cancel", (*who, "request", "reason"),
         pl.when(new).then(_REMAINDER).otherwise(_SUBMIT)),
        (~guard & ~rejected & (pl.col("type") == "modify"), "modify",
         (*who, "price", "qty", "status", "reason"), _SUBMIT),
        (guard, "guardrail_refusal",
         ("agent", "client", "venue", "instrument", "side", "type", "tif", "price", "qty",
          "reason"), _SUBMIT),
    ]  # fmt: skip
    out = []
    orders = orders.with_columns(request)
    for keep, event, fields, sub in families:
        chosen = orders.filter(keep)
        if chosen.height:
            chosen = chosen.with_columns(anchor=pl.col("row"), sub=sub)
            out.append(_family(chosen, event, fields, _ORDERS, anchored=True))
    if trades.height:
        out.append(_fills(orders, trades))
    return out


def _fills(orders: pl.DataFrame, trades: pl.DataFrame) -> pl.DataFrame:
    """Fill records, each anchored to the request that made it: the order row at its time,
    venue and instrument whose order is its taker, else the last order row at its time."""
    if "trade_id" not in trades.columns:  # frames built by hand
        trades = trades.with_row_index("trade_id", offset=1)
    for fee in ("maker_fee", "taker_fee"):
        if fee not in trades.columns:
            trades = trades.with_columns(pl.lit(None, dtype=pl.Int64).alias(fee))
    market = [pl.col("venue").cast(pl.String).alias("_venue"),
              pl.col("instrument").cast(pl.String).alias("_instrument")]  # fmt: skip
    key = ["time", "_venue", "_instrument"]
    by_taker = (
        orders.filter(pl.col("order_id") != 0)
        .with_columns(market)
        .group_by(*key, "order_id")
        .agg(pl.col("row").max().alias("_taker_row"))
    )
    by_time = orders.group_by("time").agg(pl.col("row").max().alias("_time_row"))
    trades = (
        trades.with_row_index("row")
        .with_columns(market)
        .join(by_taker, left_on=[*key, "taker_order_id"], right_on=[*key, "order_id"],
              how="left", maintain_order="left")
        .join(by_time, on="time", how="left", maintain_order="left")
        .with_columns(
            anchor=pl.coalesce("_taker_row", "_time_row", pl.lit(2**62, dtype=pl.Int64)),
            sub=pl.lit(_FILL),
        )
    )  # fmt: skip
    fields = (
        "trade_id", "venue", "instrument", "price", "qty", "accrued", "aggressor_side",
        "maker_agent", "maker_client", "maker_order_id", "maker_fee",
        "taker_agent", "taker_client", "taker_order_id", "taker_fee",
    )  # fmt: skip
    return _family(trades, "fill", fields, _ORDERS, anchored=True)


def _extra_events(extra: list[dict[str, Any]]) -> pl.DataFrame:
    rows = []
    for row, event in enumerate(extra):
        if not isinstance(event.get("time"), int) or not isinstance(event.get("event"), str):
            raise ValueError(f"an extra audit event needs an integer time and an event: {event}")
        if {"seq", "prev", "hash"} & event.keys():
            raise ValueError(f"an extra audit event may not set seq, prev or hash: {event}")
        head, mid, tail = _segments_of(event)
        rows.append((event["time"], _EXTRA, 0, 0, row, event["event"], head, mid, tail))
    schema = {"time": pl.Int64, "rank": pl.Int64, "anchor": pl.Int64, "sub": pl.Int64,
              "row": pl.Int64, "event": pl.String, "head": pl.String, "mid": pl.String,
              "tail": pl.String}  # fmt: skip
    return pl.DataFrame(rows, schema=schema, orient="row")


def _segments_of(record: Mapping[str, Any]) -> tuple[str, str, str]:
    """head, mid, tail of a record given as Python values (see `_events`)."""
    texts = {key: json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
             for key, value in record.items()}  # fmt: skip
    return _split(texts, expressions=False)


def _family(
    frame: pl.DataFrame,
    event: str,
    fields: tuple[str, ...],
    rank: int,
    *,
    anchored: bool = False,
) -> pl.DataFrame:
    """The records of one event family, one per row of `frame`, with their sort keys (an
    `anchored` frame brings its own anchor, sub and row columns)."""
    texts: dict[str, Any] = {"event": json.dumps(event), "time": _json(frame, "time")}
    for name in fields:
        texts[name] = _json(frame, name)
    head, mid, tail = _split(texts, expressions=True)
    if not anchored:
        frame = frame.with_row_index("row").with_columns(anchor=pl.lit(0), sub=pl.lit(0))
    return frame.select(
        pl.col("time").cast(pl.Int64),
        pl.lit(rank, dtype=pl.Int64).alias("rank"),
        pl.col("anchor").cast(pl.Int64),
        pl.col("sub").cast(pl.Int64),
        pl.col("row").cast(pl.Int64),
        pl.lit(event).alias("event"),
        head.alias("head"),
        mid.alias("mid"),
        tail.alias("tail"),
    )


def _split(texts: Mapping[str, Any], *, expressions: bool) -> tuple:
    """head, mid and tail of a record whose values are JSON `texts` (strings, or polars
    expressions when `expressions`), around its ``prev`` and ``seq``, which are known only
    once it is placed: its canonical JSON is head + prev + mid + seq + tail."""
    keys = sorted([*texts, "prev", "seq"])
    at_prev, at_seq = keys.index("prev"), keys.index("seq")
    head: list = ["{"]
    for name in keys[:at_prev]:
        head += [f'"{name}":', texts[name], ","]
    head.append('"prev":"')
    mid: list = ['"']
    for name in keys[at_prev + 1 : at_seq]:
        mid += [f',"{name}":', texts[name]]
    mid.append(',"seq":')
    tail: list = []
    for name in keys[at_seq + 1 :]:
        tail += [f',"{name}":', texts[name]]
    tail.append("}")
    return tuple(_joined(parts, expressions) for parts in (head, mid, tail))


def _joined(parts: list, expressions: bool):
    """`parts` joined: a string, or an expression with neighbouring strings merged."""
    if not expressions:
        return "".join(parts)
    merged: list = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    pieces = [pl.lit(p) if isinstance(p, str) else p for p in merged]
    return pieces[0] if len(pieces) == 1 else pl.concat_str(pieces)


def _json(frame: pl.DataFrame, name: str) -> pl.Expr:
    """A column as JSON text: integers as digits, strings as `json.dumps` writes them, null as
    null."""
    column = frame[name]
    if column.dtype.is_integer():
        return pl.col(name).cast(pl.String).fill_null("null")
    if column.dtype in (pl.Categorical, pl.String, pl.Enum):
        values = column.cast(pl.String).unique().drop_nulls().to_list()
        mapping = {value: json.dumps(value) for value in values}
        texts = pl.col(name).cast(pl.String).replace_strict(mapping, default=None)
        return texts.fill_null("null")
    if column.dtype == pl.Null:
        return pl.lit("null")
    raise TypeError(f"audit: column {name!r} of type {column.dtype} has no JSON form here")


# --- reading it back ----------------------------------------------------------------------


@dataclass(frozen=True)
class Broken:
    """Where the chain breaks: the line (1 first) and why; `truncated` when the log was cut
    short rather than changed."""

    line: int
    reason: str
    truncated: bool = False


@dataclass(frozen=True)
class ChainCheck:
    """What `check_chain` found: the records read, the last good hash and the first break."""

    records: int
    final_hash: str
    broken: Broken | None


def check_chain(path: str | os.PathLike) -> ChainCheck:
    """Check an audit log's chain line by line: each line a canonical record, its ``seq`` its
    line number less one, its ``prev`` the hash of the line before, its ``hash`` its own, its
    time not before the one before; the first ``run``, the last ``end``, counting the rest."""
    data = Path(path).read_bytes()
    lines = data.split(b"\n")
    complete, last = lines[:-1], lines[-1]
    prev, time, number = GENESIS, None, 0
    record: dict[str, Any] = {}
    for number, raw in enumerate(complete, start=1):
        found = _check_line(raw, number, prev)
        if isinstance(found, Broken):
            return ChainCheck(number - 1, prev, found)
        record = found
        event = record.get("event")
        if number == 1 and event != "run":
            return ChainCheck(0, prev, Broken(1, "the first record is not the run's ('run')"))
        if "time" in record and event not in ("run", "end"):
            if not isinstance(record["time"], int):
                return ChainCheck(number - 1, prev, Broken(number, "its time is not an integer"))
            if time is not None and record["time"] < time:
                return ChainCheck(number - 1, prev, Broken(number, "out of time order"))
            time = record["time"]
        if event == "end" and number != 1:
            if record.get("events") != number - 2:
                why = f"the end record counts {record.get('events')!r} events, not {number - 2}"
                return ChainCheck(number - 1, prev, Broken(number, why))
            if number != len(complete) or last:
                return ChainCheck(number, record["hash"], Broken(number + 1, "records after 'end'"))
        prev = record["hash"]
    if last:
        why = "cut short: the last line is incomplete (no newline at its end)"
        return ChainCheck(number, prev, Broken(number + 1, why, truncated=True))
    if not complete:
        return ChainCheck(0, prev, Broken(1, "empty: no records", truncated=True))
    if record.get("event") != "end":
        why = "cut short: the log ends without its 'end' record"
        return ChainCheck(number, prev, Broken(number, why, truncated=True))
    return ChainCheck(number, prev, None)


def _check_line(raw: bytes, number: int, prev: str) -> dict[str, Any] | Broken:
    try:
        record = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return Broken(number, "not a JSON record")
    if not isinstance(record, dict):
        return Broken(number, "not a JSON object")
    if record.get("seq") != number - 1:
        why = (
            f"seq {record.get('seq')!r}, expected {number - 1}: a record is missing, added or moved"
        )
        return Broken(number, why)
    if record.get("prev") != prev:
        return Broken(number, "does not follow the record before it (prev is not its hash)")
    if not isinstance(record.get("hash"), str) or record["hash"] != record_hash(record):
        return Broken(number, "its contents do not match its hash")
    if raw != audit_line(record).encode():
        return Broken(number, "not written in canonical form")
    return record


def read_audit(path: str | os.PathLike) -> pl.DataFrame:
    """The audit log as a frame, one row per record (columns: every field any record has)."""
    return pl.read_ndjson(path, infer_schema_length=None)
