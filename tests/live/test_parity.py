"""Parity between the simulator's context and the live adapter (issue 18): the same recorded
stream, fed through `sim.strategy.replay` and through `sim.live.context.LiveContext`, gives a
strategy identical decisions.

The simulator's side replays a reduced baseline with a probe strategy wrapped in a recorder,
which notes everything the strategy heard (quotes, fills, answers, timers) with its time. The
live side is a fresh probe in a `LiveContext` over a recorded session: its GETs are answered
from the run (bonds, calendar, status, quotes), each of its POSTs with the recorded answer to
the request the simulator's side sent (as the service shows an order, with the request's
immediate fills), and its stream is the recording turned into the service's messages (quotes,
the fills that were not a request's immediate ones, the clock at each timer).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, time

import polars as pl
import pytest

import sim
from sim.live.context import LiveContext
from sim.market.calendar import TradingCalendar
from sim.market.messages import Quote, Response, Trade
from sim.market.orders import Side, Status
from sim.service.clients import fill_message, order_key, quote_message
from sim.strategy.replay import replay
from tests.service.conftest import REDUCED  # the service tests' reduced baseline

PARAMS = {"spread_max": 4, "lots": 3, "sell_after": 4, "timer_s": 300}
ACCOUNT = -1  # no recorded trade's maker account: the paper fills are shown as taker fills
TERMS = ("issuer", "sector", "rating", "coupon", "issue", "maturity", "frequency", "day_count")


# --- the strategy ---------------------------------------------------------------------------


class Probe:
    """Decisions that rest on everything a context tells: it buys when a market's spread is
    tight (at the ask: it fills at once, in part or in full) or joins inside a wide one (it
    rests and fills when the ask comes down), never with an order already working there;
    remembers its orders from their answers and their fills; sells what it bought at the bid,
    immediate-or-cancel, once it holds `sell_after` units of a bond; and on its timer cancels
    what still rests, or every third time moves it to the ask (it fills there as a maker at the
    next quote that still reaches it)."""

    def on_start(self, ctx):
        self.lot = {s: ctx.instrument(s).lot_size for _, s in ctx.markets}
        self.spread_max = ctx.params["spread_max"]
        self.qty = ctx.params["lots"]
        self.sell_after = ctx.params["sell_after"]
        self.working: dict[tuple[str, str], int] = {}  # market -> its resting buy
        self.pending: set[tuple[str, str]] = set()  # markets with a buy on its way
        self.left: dict[int, int] = {}  # resting order -> units still to fill
        self.unsold: Counter[str] = Counter()
        self.held: Counter[str] = Counter()
        self.fills: list[tuple] = []
        self.answers: list[tuple] = []
        self.timers = 0
        self.quotes = 0
        self.journal: list[tuple] = []  # what it heard, in order
        ctx.set_timer(ctx.params["timer_s"] * 10**9)

    def on_quote(self, ctx, venue, symbol, quote):
        self.quotes += 1
        self.journal.append((ctx.now, "quote", venue, symbol))
        market = (venue, symbol)
        if quote.bid is None or quote.ask is None:
            return
        if market in self.working or market in self.pending:
            return
        price = quote.ask if quote.ask - quote.bid <= self.spread_max else quote.bid + 1
        self.pending.add(market)
        ctx.submit(venue, symbol, "buy", self.qty * self.lot[symbol], price)

    def on_order(self, ctx, request, response):
        self.journal.append((ctx.now, "order", request, response.status.name))
        self.answers.append(
            (
                ctx.now,
                request,
                response.order_id,
                response.status.name,
                response.reason.name,
                response.filled_qty,
            )
        )
        kind, venue, symbol = request[:3]
        market = (venue, symbol)
        if kind == "new" and request[3] == "buy":
            self.pending.discard(market)
            if response.status in (Status.ACCEPTED, Status.PARTIALLY_FILLED):
                self.working[market] = response.order_id
                self.left[response.order_id] = request[4] - response.filled_qty
        elif kind == "cancel" or (kind == "modify" and not response.ok):
            if self.working.get(market) == request[3]:
                del self.working[market]
            self.left.pop(request[3], None)

    def on_fill(self, ctx, trade, side):
        order_id = trade.taker_order_id or trade.maker_order_id
        self.journal.append((ctx.now, "fill", trade.venue, trade.instrument, order_id, side))
        self.fills.append(
            (ctx.now, trade.venue, trade.instrument, order_id, side, trade.qty, trade.price)
        )
        symbol, market = trade.instrument, (trade.venue, trade.instrument)
        self.held[symbol] += side * trade.qty
        if order_id in self.left:
            self.left[order_id] -= trade.qty
            if self.left[order_id] <= 0:
                del self.left[order_id]
                if self.working.get(market) == order_id:
                    del self.working[market]
        if side > 0:
            self.unsold[symbol] += trade.qty
            lots = self.unsold[symbol] // self.lot[symbol]
            bid = ctx.quote(trade.venue, symbol).bid
            if self.unsold[symbol] >= self.sell_after and lots and bid is not None:
                self.unsold[symbol] -= lots * self.lot[symbol]
                ctx.submit(trade.venue, symbol, "sell", lots * self.lot[symbol], bid, "IOC")

    def on_timer(self, ctx):
        self.timers += 1
        self.journal.append((ctx.now, "timer"))
        for (venue, symbol), order_id in sorted(self.working.items()):
            ask = ctx.quote(venue, symbol).ask
            if self.timers % 3 == 0 and ask is not None:
                ctx.modify(venue, symbol, order_id, price=ask)
            else:
                ctx.cancel(venue, symbol, order_id)

    def on_stop(self, ctx):
        self.journal.append((ctx.now, "stop"))

    def state(self) -> dict:
        """Everything it ends with, its journal aside."""
        return {name: value for name, value in vars(self).items() if name not in ("journal",)}


class Recorder:
    """A strategy's handlers, noting each call with the context's time before forwarding it:
    what the strategy heard, as the service would send it."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.heard: list[tuple] = []

    def on_start(self, ctx):
        self.heard.append((ctx.now, "start"))
        self.inner.on_start(ctx)

    def on_quote(self, ctx, venue, symbol, quote):
        self.heard.append((ctx.now, "quote", venue, symbol, quote))
        self.inner.on_quote(ctx, venue, symbol, quote)

    def on_fill(self, ctx, trade, side):
        self.heard.append((ctx.now, "fill", trade, side))
        self.inner.on_fill(ctx, trade, side)

    def on_order(self, ctx, request, response):
        self.heard.append((ctx.now, "order", request, response))
        self.inner.on_order(ctx, request, response)

    def on_timer(self, ctx):
        self.heard.append((ctx.now, "timer"))
        self.inner.on_timer(ctx)

    def on_stop(self, ctx):
        self.heard.append((ctx.now, "stop"))
        self.inner.on_stop(ctx)


# --- the recording, the simulator's side ----------------------------------------------------


@dataclass
class Recording:
    result: sim.Result
    markets: list[tuple[str, str]]
    requests: tuple[tuple[int, tuple], ...]  # the simulator's side's decisions
    heard: list[tuple]
    probe: Probe
    answers: list[tuple[tuple, Response, tuple[Trade, ...]]] = field(default_factory=list)
    stream: list[dict] = field(default_factory=list)


def _markets(result) -> list[tuple[str, str]]:
    """Three busy markets: the most quoted bond listed on both venues, on each, and the most
    quoted market of another bond."""
    quotes = result.quotes.with_columns(pl.col("venue", "instrument").cast(pl.String))
    counts = quotes.group_by("venue", "instrument").len().sort("len", "venue", "instrument")
    busiest = counts.reverse().rows()
    both = (
        counts.group_by("instrument")
        .agg(pl.col("venue").n_unique().alias("venues"), pl.col("len").min().alias("least"))
        .filter(pl.col("venues") == 2)
        .sort("least", "instrument", descending=True)
    )
    bond = both["instrument"][0]
    other = next((v, s) for v, s, _ in busiest if s != bond)
    return [("BSE", bond), ("NSE", bond), other]


@pytest.fixture(scope="module")
def recording() -> Recording:
    result = sim.run(sim.load_scenario("baseline", REDUCED), seed=1, out=None)
    markets = _markets(result)
    recorder = Recorder(Probe())
    replayed = replay(recorder, result, markets, PARAMS, latency_ns=0, cash_rupees=10_000_000)
    rec = Recording(result, markets, replayed.requests, recorder.heard, recorder.inner)
    rec.answers, rec.stream = _as_service(rec)
    return rec


def _as_service(rec: Recording) -> tuple[list, list[dict]]:
    """The recording as the service would have shown it: each request's answer (in the order
    sent) with its immediate fills, and the stream's messages in the order they were heard."""
    answered = [e for e in rec.heard if e[1] == "order"]
    fills = [e for e in rec.heard if e[1] == "fill"]
    immediate: set[int] = set()  # ids of the fills that came with a request's answer
    answers = []
    for sent_at, request in rec.requests:
        i = next(i for i, e in enumerate(answered) if e[2] == request)
        _, _, _, response = answered.pop(i)
        own = ()
        if request[0] == "new" and response.ok:
            own = tuple(
                f
                for f in fills
                if f[2].time == sent_at and f[2].taker_order_id == response.order_id
            )
            immediate.update(id(f) for f in own)
            assert sum(f[2].qty for f in own) == response.filled_qty
        answers.append((request, response, tuple(f[2] for f in own)))
    assert not answered, "an answer to a request the simulator's side did not send"
    stream = []
    for event in rec.heard:
        when, kind = event[:2]
        if kind == "quote":
            _, _, venue, symbol, quote = event
            assert quote.time == when  # no latency: heard when recorded
            stream.append(_json({"type": "quote", **quote_message(venue, symbol, quote)}))
        elif kind == "fill" and id(event) not in immediate:
            _, _, trade, side = event
            assert trade.time == when
            message = fill_message(trade, ACCOUNT)
            assert message["side"] == ("buy" if side > 0 else "sell")
            stream.append(_json({"type": "fill", "account": "probe", **message}))
        elif kind == "timer":
            stream.append({"type": "clock", "time": when})
    return answers, stream


def _json(value, default=int):
    """As the service sends it: JSON (the replay's times are numpy integers)."""
    return json.loads(json.dumps(value, default=default))


# --- the live side --------------------------------------------------------------------------


class RecordedSession:
    """The exchange service as it answered in the recording: GETs from the run, each POST with
    the recorded answer to the request the simulator's side sent at that point. With `strict`,
    a request that is not the one sent there fails at once; otherwise the session notes the
    divergence and answers every later request as rejected."""

    def __init__(self, rec: Recording, *, strict: bool = True) -> None:
        self.rec = rec
        self.strict = strict
        self.answers = list(rec.answers)
        self.diverged: list[tuple] = []
        self.sides: dict[str, str] = {}
        self.order_fills: dict[str, list[dict]] = {}
        scenario = rec.result.manifest["scenario"]
        self.spec = scenario["calendar"]
        self.clock = None  # the LiveContext, whose `now` a POST reads

    # GET ---------------------------------------------------------------------------------

    def get(self, path: str, **params):
        parts = path.strip("/").split("/")
        if path == "/api/bonds":
            return self._bonds()
        if path == "/api/calendar":
            spec = self.spec
            return {
                "start": spec["start"],
                "length": spec["days"],
                "open": spec["open"],
                "close": spec["close"],
                "holidays": list(spec.get("holidays", ())),
            }
        if path == "/api/status":
            return {"time": self._start()}
        if parts[:2] == ["api", "bonds"] and parts[3:] == ["quote"]:
            return self._quote(parts[2])
        raise AssertionError(f"the probe does not read {path}")

    def _start(self) -> int:
        """The first open: the service's clock when the adapter starts."""
        spec = self.spec
        return TradingCalendar(
            date.fromisoformat(spec["start"]),
            spec["days"],
            time.fromisoformat(spec["open"]),
            time.fromisoformat(spec["close"]),
            tuple(date.fromisoformat(d) for d in spec.get("holidays", ())),
        ).start_ns

    def _bonds(self) -> list[dict]:
        instruments = self.rec.result.instruments.with_columns(pl.col("symbol").cast(pl.String))
        venues: dict[str, list[str]] = {}
        for venue, symbol in self.rec.markets:
            venues.setdefault(symbol, []).append(venue)
        return [
            {
                "id": row["symbol"],
                **{k: _json(row.get(k), default=str) for k in TERMS},
                "tick_size": str(row["tick_size"]),
                "lot_size": row["lot_size"],
                "unit_face_value_rupees": row["unit_face_value"],
                "venues": venues.get(row["symbol"], []),
                "last_trading_day": self.spec["days"] - 1,
            }
            for row in instruments.to_dicts()
        ]

    def _quote(self, symbol: str) -> dict:
        start = self._start()
        quotes = self.rec.result.quotes.with_columns(pl.col("venue", "instrument").cast(pl.String))
        rows = []
        for venue in (v for v, s in self.rec.markets if s == symbol):
            before = quotes.filter(
                (pl.col("venue") == venue)
                & (pl.col("instrument") == symbol)
                & (pl.col("time") <= start)
            ).sort("time")
            quote = (
                Quote(*before.select("time", "bid", "bid_qty", "ask", "ask_qty").row(-1))
                if before.height
                else Quote(start, None, 0, None, 0)
            )
            rows.append(
                {
                    **quote_message(venue, symbol, quote),
                    "band_ticks": None,
                    "halted_until": 0,
                    "taker_fee_bps": "0",
                }
            )
        return {"bond": symbol, "time": start, "venues": rows, "valuation": None, "forecast": None}

    # POST --------------------------------------------------------------------------------

    def post(self, path: str, body: dict | None = None):
        sent = (path, body)
        if self.diverged or not self.answers:
            self.diverged.append(sent)
            return self._rejected(body)
        request, response, own = self.answers[0]
        expected = _as_call(request)
        if not _same_call(sent, expected):
            if self.strict:
                raise AssertionError(f"sent {sent}, the simulator's side sent {expected}")
            self.diverged.append(sent)
            return self._rejected(body)
        self.answers.pop(0)
        return self._order(request, response, own)

    def _order(self, request: tuple, response: Response, own: tuple[Trade, ...]) -> dict:
        kind, venue, symbol = request[:3]
        book_id = response.order_id
        key = order_key(venue, symbol, book_id) if book_id else "REJECTED-probe"
        if kind == "new":
            side = request[3]
            self.sides[key] = side
            qty, price, tif = request[4:]
        else:
            side = self.sides[key]
            qty, price, tif = None, None, "GTC"
        fills = self.order_fills.setdefault(key, [])
        fills.extend(_json(fill_message(t, ACCOUNT)) for t in own)
        status = {
            Status.REJECTED: "rejected",
            Status.FILLED: "filled",
            Status.CANCELLED: "cancelled",
        }.get(response.status, "open")
        return _json(
            {
                "order_id": key,
                "book_id": book_id,
                "venue": venue,
                "symbol": symbol,
                "side": side,
                "order_type": "ioc" if tif == "IOC" else "limit",
                "qty": qty,
                "price": price,
                "stop_price": None,
                "submitted_at": self.clock.now,
                "status": status,
                "reason": response.reason.name.lower(),
                "answer": response.status.name.lower(),
                "filled_qty": sum(f["qty"] for f in fills),
                "fills": list(fills),
            }
        )

    def _rejected(self, body) -> dict:
        body = body or {}
        return {
            "order_id": "REJECTED-probe",
            "book_id": 0,
            "venue": body.get("venue"),
            "symbol": body.get("bond"),
            "side": body.get("side") or "buy",
            "order_type": "limit",
            "qty": body.get("qty"),
            "price": body.get("price"),
            "stop_price": None,
            "submitted_at": self.clock.now,
            "status": "rejected",
            "reason": "unknown_order",
            "answer": "rejected",
            "filled_qty": 0,
            "fills": [],
        }


def _as_call(request: tuple) -> tuple[str, dict | None]:
    """The REST call the service expects for a request of the Strategy API."""
    kind, venue, symbol = request[:3]
    if kind == "new":
        _, _, _, side, qty, price, tif = request
        order_type = "ioc" if tif == "IOC" else "limit" if price is not None else "market"
        body = {
            "bond": symbol,
            "venue": venue,
            "qty": qty,
            "price": price,
            "side": Side.parse(side).name.lower(),
            "type": order_type,
            "stop_price": None,
        }
        return "/api/orders", body
    if kind == "cancel":
        return f"/api/orders/{venue}-{symbol}-{request[3]}/cancel", None
    _, _, _, order_id, qty, price = request
    return f"/api/orders/{venue}-{symbol}-{order_id}/modify", {"qty": qty, "price": price}


def _same_call(sent: tuple[str, dict | None], expected: tuple[str, dict | None]) -> bool:
    """The same REST call: the same path, and the same body but for options left unset (None,
    False) that the adapter may send too."""
    (path, body), (want_path, want) = sent, expected
    if path != want_path or (body is None) != (want is None):
        return False
    if body is None:
        return True
    extra = {k: v for k, v in body.items() if k not in want}
    return {k: body.get(k) for k in want} == want and all(
        v in (None, False) for v in extra.values()
    )


def run_live(rec: Recording, stream: list[dict], *, strict: bool = True):
    session = RecordedSession(rec, strict=strict)
    probe = Probe()
    ctx = LiveContext(session, probe, PARAMS, rec.markets)
    session.clock = ctx
    ctx.start()
    for message in stream:
        ctx.dispatch(dict(message))
    ctx.stop()
    return ctx, probe, session


# --- the tests ------------------------------------------------------------------------------


def test_the_recording_is_a_real_workout(recording):
    kinds = Counter(request[0] for _, request in recording.requests)
    fills = [e for e in recording.heard if e[1] == "fill"]
    answered = Counter(e[3].status.name for e in recording.heard if e[1] == "order")
    assert len(recording.requests) >= 20
    assert len(fills) >= 3 and kinds["cancel"] >= 1 and kinds["modify"] >= 1
    assert {"ACCEPTED", "FILLED", "CANCELLED"} <= set(answered)
    stream_fills = [m for m in recording.stream if m["type"] == "fill"]
    assert stream_fills and len(stream_fills) < len(fills)  # some immediate, some later


def test_the_same_stream_gives_the_same_decisions(recording):
    ctx, probe, session = run_live(recording, recording.stream)
    assert ctx.requests == list(recording.requests)  # (time, request), in the order sent
    kinds = Counter(request[0] for _, request in ctx.requests)
    assert len(ctx.requests) >= 20 and kinds["cancel"] >= 1 and kinds["modify"] >= 1
    assert not session.answers and not session.diverged  # every recorded answer, in turn
    assert ctx.fills == len(probe.fills) == len(recording.probe.fills) >= 3
    live, simulated = probe.state(), recording.probe.state()
    assert live == simulated


def test_the_strategy_hears_the_same_events_in_the_same_order(recording):
    _, probe, _ = run_live(recording, recording.stream)
    assert probe.journal == recording.probe.journal


def test_a_perturbed_quote_changes_the_decisions(recording):
    first = next(t for t, r in recording.requests if r[0] == "new")
    stream = [dict(m) for m in recording.stream]
    i = next(i for i, m in enumerate(stream) if m["type"] == "quote" and m["time"] == first)
    stream[i]["bid_ticks"] -= 40  # a wider spread: it joins inside it instead of taking
    ctx, _, session = run_live(recording, stream, strict=False)
    assert session.diverged
    assert ctx.requests != list(recording.requests)
    assert ctx.requests[:1] != list(recording.requests[:1])
