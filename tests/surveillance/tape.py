"""Hand-made records for the detectors' tests: orders, trades and quotes written event by event
in the recorder's schema (`sim.records.recorder.empty_frame`), and an agents table.

`Tape.background` lays down an honest session from 09:15 to 15:30 (small orders in every
minute-ish, trades between honest agents, a two-sided quote), so that population norms
(median order size, message rate) and session bounds exist; each test then writes the one
pattern it is about on top.
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from sim.analytics.surveillance import SurveillanceParams, surveil
from sim.records.recorder import empty_frame

S = 1_000_000_000  # ns per second
MIN = 60 * S
OPEN = int(datetime(2024, 3, 4, 9, 15, tzinfo=UTC).timestamp()) * S
CLOSE = OPEN + (6 * 60 + 15) * MIN  # 15:30
VENUE, BOND = "NSE", "BOND"
HONEST = (101, 102, 103, 104)  # background accounts


def at(hour: int, minute: int, second: float = 0.0) -> int:
    """ns of a time of day on the tape's session day."""
    return OPEN + ((hour - 9) * 60 + minute - 15) * MIN + int(second * S)


class Tape:
    def __init__(self) -> None:
        self.orders: list[dict] = []
        self.trades: list[dict] = []
        self.quotes: list[dict] = []
        self._next_id: dict[tuple[str, str], int] = {}

    # --- requests --------------------------------------------------------------------------

    def new(
        self, time: int, agent: int, side: int, qty: int, price: int | None, *,
        type: str = "limit", tif: str = "GTC", status: str = "accepted", client: int = 0,
        venue: str = VENUE, instrument: str = BOND,
    ) -> int:  # fmt: skip
        """A new order the venue accepted (or `status`); its id."""
        book = (venue, instrument)
        order_id = self._next_id.get(book, 1)
        self._next_id[book] = order_id + 1
        self._request(time, order_id, agent, venue, instrument, side, type, tif, price, qty,
                      status, client)  # fmt: skip
        return order_id

    def cancel(
        self, time: int, agent: int, order_id: int, *, status: str = "cancelled",
        client: int = 0, venue: str = VENUE, instrument: str = BOND,
    ) -> None:  # fmt: skip
        self._request(time, order_id, agent, venue, instrument, 0, "cancel", None, None, None,
                      status, client)  # fmt: skip

    def modify(
        self, time: int, agent: int, order_id: int, qty: int, price: int, *,
        status: str = "accepted", venue: str = VENUE, instrument: str = BOND,
    ) -> None:  # fmt: skip
        self._request(time, order_id, agent, venue, instrument, 0, "modify", None, price, qty,
                      status, 0)  # fmt: skip

    def _request(self, time, order_id, agent, venue, instrument, side, type, tif, price, qty,
                 status, client) -> None:  # fmt: skip
        self.orders.append({
            "time": time, "order_id": order_id, "agent": agent, "venue": venue,
            "instrument": instrument, "side": side, "type": type, "tif": tif, "price": price,
            "qty": qty, "status": status, "reason": "none", "client": client,
        })  # fmt: skip

    # --- trades and quotes -----------------------------------------------------------------

    def trade(
        self, time: int, *, maker: tuple[int, int], taker: tuple[int, int], aggressor: int,
        price: int, qty: int, maker_client: int = 0, taker_client: int = 0,
        venue: str = VENUE, instrument: str = BOND,
    ) -> int:  # fmt: skip
        """A trade between (agent, order id) `maker` and `taker`; its trade id."""
        trade_id = len(self.trades) + 1
        self.trades.append({
            "trade_id": trade_id, "time": time, "venue": venue, "instrument": instrument,
            "price": price, "qty": qty, "maker_order_id": maker[1], "taker_order_id": taker[1],
            "maker_agent": maker[0], "taker_agent": taker[0], "aggressor_side": aggressor,
            "maker_client": maker_client, "taker_client": taker_client, "accrued": 0,
            "maker_fee": 0, "taker_fee": 0,
        })  # fmt: skip
        return trade_id

    def take(
        self, time: int, agent: int, side: int, qty: int, price: int, *, resting_agent: int,
        client: int = 0, venue: str = VENUE, instrument: str = BOND,
    ) -> tuple[int, int]:  # fmt: skip
        """`agent` takes `qty` at `price` from a fresh resting order of `resting_agent`:
        (the taker's order id, the trade id)."""
        resting = self.new(time - S, resting_agent, -side, qty, price, venue=venue,
                           instrument=instrument)  # fmt: skip
        taker = self.new(time, agent, side, qty, price, type="ioc", tif="IOC", status="filled",
                         client=client, venue=venue, instrument=instrument)  # fmt: skip
        trade = self.trade(time, maker=(resting_agent, resting), taker=(agent, taker),
                           aggressor=side, price=price, qty=qty, taker_client=client,
                           venue=venue, instrument=instrument)  # fmt: skip
        return taker, trade

    def quote(
        self, time: int, bid: int | None, ask: int | None, qty: int = 50, *,
        venue: str = VENUE, instrument: str = BOND,
    ) -> None:  # fmt: skip
        self.quotes.append({
            "time": time, "venue": venue, "instrument": instrument, "bid": bid,
            "bid_qty": qty if bid is not None else 0, "ask": ask,
            "ask_qty": qty if ask is not None else 0,
        })  # fmt: skip

    # --- an honest session -----------------------------------------------------------------

    def background(self, price: int = 10_000, instrument: str = BOND) -> None:
        """Honest activity from 09:15 to 15:30: every 5 minutes an honest account rests a
        10-unit order and another takes it, the quote two-sided around `price`."""
        self.quote(OPEN, price - 2, price + 2, instrument=instrument)
        for i, time in enumerate(range(OPEN, CLOSE + 1, 5 * MIN)):
            maker, taker = HONEST[i % 4], HONEST[(i + 1) % 4]
            side = 1 if i % 2 else -1
            resting = self.new(time, maker, -side, 10, price + 2 * side, instrument=instrument)
            if time + 30 * S <= CLOSE:
                taken = self.new(time + 30 * S, taker, side, 10, price + 2 * side, type="ioc",
                                 tif="IOC", status="filled", instrument=instrument)  # fmt: skip
                self.trade(time + 30 * S, maker=(maker, resting), taker=(taker, taken),
                           aggressor=side, price=price + 2 * side, qty=10,
                           instrument=instrument)  # fmt: skip

    # --- frames ----------------------------------------------------------------------------

    def frames(self) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        """(orders, trades, quotes) in time order, typed as the recorder types them."""
        return tuple(
            _typed(rows, name) for rows, name in
            ((self.orders, "orders"), (self.trades, "trades"), (self.quotes, "quotes"))
        )  # fmt: skip


def _typed(rows: list[dict], name: str) -> pl.DataFrame:
    schema = empty_frame(name).schema
    strings = {c: pl.String for c, t in schema.items() if t == pl.Categorical}
    frame = pl.DataFrame(rows, schema={**schema, **strings})
    return frame.sort("time", maintain_order=True).cast(dict(schema))


def agents(*rows: tuple) -> pl.DataFrame:
    """agents.parquet's first columns from (agent, kind) or (agent, kind, investors) rows;
    the background's honest accounts are value investors."""
    table = [(a, "value", None) for a in HONEST] + [(*r, None)[:3] for r in rows]
    return pl.DataFrame(
        {
            "agent": [r[0] for r in table],
            "kind": [r[1] for r in table],
            "population": [r[1] for r in table],
            "investors": [r[2] for r in table],
        },
        schema={"agent": pl.Int64, "kind": pl.String, "population": pl.String,
                "investors": pl.Int64},
    )  # fmt: skip


def surveilled(tape: Tape, detector: str, table: pl.DataFrame, **params) -> pl.DataFrame:
    """The alerts of one detector over the tape, `table` its agents."""
    orders, trades, quotes = tape.frames()
    chosen = SurveillanceParams(detectors=(detector,), **params)
    return surveil(orders, trades, quotes, table, params=chosen)
