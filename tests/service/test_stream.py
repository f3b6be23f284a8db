"""The exchange service's WebSocket stream over a real server (`live`): quotes, trades and the
clock reach every stream; an account's own fills reach its stream and the regulator's, and
never another account's; a bad key is refused."""

from __future__ import annotations

import contextlib
import json
import threading
import time

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.service.conftest import BOND, KEYS, LIVE_KEYS
from tests.service.live import wait_for_book

WAIT_S = 30.0  # at most, for what should arrive in well under a second


class Listener:
    """A stream read on a thread into `messages`, until closed."""

    def __init__(self, socket) -> None:
        self.socket = socket
        self.messages: list[dict] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                text = self.socket.recv(timeout=0.1)
            except TimeoutError:
                continue
            except ConnectionClosed:
                return
            self.messages.append(json.loads(text))

    def of(self, kind: str) -> list[dict]:
        return [m for m in list(self.messages) if m["type"] == kind]

    def wait(self, until, what: str) -> None:
        deadline = time.monotonic() + WAIT_S
        while not until():
            if time.monotonic() > deadline:
                kinds = {m["type"] for m in self.messages}
                raise AssertionError(f"no {what} on the stream in {WAIT_S} s (saw {kinds})")
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def stream(url: str, key: str | None = None, query: str = ""):
    headers = {} if key is None else {"X-API-Key": key}
    return connect(
        f"{url}/api/stream{query}",
        additional_headers=headers,
        proxy=None,
        open_timeout=10,
        max_size=None,
    )


@contextlib.contextmanager
def listening(*streams):
    """A `Listener` on each stream (url, key, query), stopped and closed on the way out."""
    with contextlib.ExitStack() as stack:
        listeners = []
        for args in streams:
            listener = Listener(stack.enter_context(stream(*args)))
            stack.callback(listener.stop)
            listeners.append(listener)
        yield listeners


def test_quotes_trades_and_the_clock_reach_the_stream(live):
    """The market's messages, whoever made them: the background agents' quotes, and the trade
    (and the quote after it) of a market order dave sends meanwhile."""
    with (
        listening((live.ws_url, KEYS["asha"])) as (stream,),
        live.client(LIVE_KEYS["dave"]) as dave,
    ):
        stream.wait(lambda: stream.of("clock"), "clock")
        wait_for_book(dave, BOND)
        bought = dave.post(
            "/api/orders", json={"bond": BOND, "side": "buy", "qty": 1, "type": "market"}
        ).json()
        (fill,) = bought["fills"]
        for kind in ("quote", "trade"):
            stream.wait(lambda kind=kind: stream.of(kind), kind)
        clock = stream.of("clock")
        times = [m["time"] for m in clock]
        assert times == sorted(times) and clock[-1]["closed"] is False
        quote = stream.of("quote")[0]
        assert {"venue", "bond", "bid_ticks", "ask_ticks", "time"} <= set(quote)
        stream.wait(lambda: any(t["time"] == fill["time"] for t in stream.of("trade")), "trade")
        trade = next(t for t in stream.of("trade") if t["time"] == fill["time"])
        assert (trade["bond"], trade["venue"]) == (BOND, fill["venue"])
        assert (trade["qty"], trade["price_ticks"]) == (fill["qty"], fill["price_ticks"])
        assert trade["aggressor"] == "buy" and "account" not in trade  # no one's name
        assert all(m["account"] == "asha" for m in stream.of("fill"))


def test_own_fills_reach_the_owner_and_the_regulator_and_no_one_else(live):
    """dave buys twice at market: each fill reaches dave's stream and the regulator's
    (opened with ?api_key=), and never asha's."""
    with (
        live.client(LIVE_KEYS["dave"]) as dave,
        listening(
            (live.ws_url, LIVE_KEYS["dave"], "?channels=fill,clock"),
            (live.ws_url, KEYS["asha"], "?channels=fill,clock"),
            (live.ws_url, None, f"?api_key={KEYS['sebi']}&channels=fill"),
        ) as (own, other, regulator),
    ):
        own.wait(lambda: own.of("clock") and other.of("clock"), "clock")  # both subscribed
        wait_for_book(dave, BOND)
        orders = []
        for qty in (1, 2):
            answer = dave.post(
                "/api/orders", json={"bond": BOND, "side": "buy", "qty": qty, "type": "market"}
            )
            assert answer.status_code == 200 and answer.json()["fills"], answer.text
            orders.append(answer.json())
        ids = {o["order_id"] for o in orders}
        acknowledged = [f for o in orders for f in o["fills"]]

        def fills_of_dave(listener):
            return [m for m in listener.of("fill") if m["order_id"] in ids]

        own.wait(lambda: len(fills_of_dave(own)) == len(acknowledged), "fill of dave's")
        regulator.wait(lambda: len(fills_of_dave(regulator)) == len(acknowledged), "fill")
        for listener in (own, regulator):
            streamed = [
                {k: v for k, v in m.items() if k not in ("type", "account")}
                for m in fills_of_dave(listener)
            ]
            assert sorted(map(json.dumps, streamed)) == sorted(map(json.dumps, acknowledged))
            assert {m["account"] for m in fills_of_dave(listener)} == {"dave"}
        assert {m["type"] for m in own.messages} <= {"fill", "clock"}
        assert all(m["account"] == "dave" for m in own.of("fill"))
        # dave's last fill has reached two streams; the same messages went to asha's or not
        # at all: a clock tick after it on asha's stream closes the window
        seen = len(other.of("clock"))
        other.wait(lambda: len(other.of("clock")) > seen + 2, "clock")
        assert fills_of_dave(other) == []
        assert all(m["account"] == "asha" for m in other.of("fill"))


@pytest.mark.parametrize(
    ("key", "query"),
    [
        (None, ""),
        ("wrong-key-0123456789", ""),
        (None, "?api_key=wrong-key-0123456789"),
        (KEYS["asha"], "?channels=quote,gossip"),
    ],
)
def test_a_bad_key_or_channel_is_refused(live, key, query):
    """Refused in the handshake (403), before a message could leak."""
    with pytest.raises(InvalidStatus) as refused, stream(live.ws_url, key, query):
        pass
    assert refused.value.response.status_code == 403
