"""The exchange service's HTTP and WebSocket API (FastAPI), over an `Exchange`.

Every route but the schema needs an API key in the ``X-API-Key`` header (the stream also takes
it as ``?api_key=``). What a key may do follows its account's role (`sim.service.accounts`):
clients trade and read their own account, a market maker also reads its tier obligations, a
regulator reads every account and trades nothing. Another account's order or portfolio is
answered 404, as one that does not exist: a key learns nothing of other accounts.

Units are the engine's: prices in integer ticks of the bond's tick size (per 100 face), money
in integer paise, quantities in units (a unit is `unit_face_value_rupees` of face), times in
integer ns of the scenario's clock. Invalid requests are answered 4xx with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import Annotated, Any, Literal, get_args

from fastapi import Depends, FastAPI, Path, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from sim.service.accounts import ApiAccount, Role
from sim.service.exchange import Exchange, RequestError
from sim.service.hub import CHANNELS, Stream
from sim.service.pulse import TOPIC_PREFIX

PACE_S = 0.05  # how often simulated time moves on
MAX_QTY = 10**9
MAX_PRICE = 10**12


class Body(BaseModel):
    """A request's JSON body, read as its schema says: 2.0 is an integer (JSON Schema's
    integers are numbers with no fraction), but true is not a quantity of 1, nor "3" a price,
    and only true and false are booleans. (Pydantic's lax mode takes true and "3" for
    numbers and "yes" for a boolean; its strict mode refuses 2.0.)"""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _json_types(cls, value: Any, info: ValidationInfo) -> Any:
        annotation = cls.model_fields[info.field_name].annotation
        kinds = set(get_args(annotation)) or {annotation}
        if bool in kinds:
            if not isinstance(value, bool):
                raise ValueError("must be true or false")
        elif kinds & {int, float} and isinstance(value, bool | str):
            raise ValueError("must be a number")
        return value


class NewOrder(Body):
    bond: str = Field(min_length=1, max_length=64)
    side: Literal["buy", "sell"]
    qty: int = Field(gt=0, le=MAX_QTY, description="units")
    type: Literal["market", "limit", "ioc", "fok", "stop", "stop_limit"] = "limit"
    price: int | None = Field(None, gt=0, le=MAX_PRICE, description="limit, ticks")
    stop_price: int | None = Field(None, gt=0, le=MAX_PRICE, description="trigger, ticks")
    post_only: bool = Field(False, description="refused rather than trade on arrival")
    display_qty: int | None = Field(None, gt=0, le=MAX_QTY, description="iceberg: units shown")
    venue: str | None = Field(None, min_length=1, max_length=64, description="default: first")


class Modify(Body):
    qty: int | None = Field(None, gt=0, le=MAX_QTY, description="new remaining units")
    price: int | None = Field(None, gt=0, le=MAX_PRICE, description="new limit, ticks")


class NewSip(Body):
    bond: str = Field(min_length=1, max_length=64)
    amount_rupees: int = Field(gt=0, le=10**9, description="each instalment")
    interval_days: int = Field(21, ge=1, le=252, description="trading days between instalments")
    venue: str | None = Field(None, min_length=1, max_length=64)


class NewOffer(Body):
    cash_rupees: int = Field(gt=0, le=10**10)
    rate_bp: int = Field(ge=0, le=10_000, description="a year, act/365")
    haircut_pct: float = Field(10.0, ge=0, lt=100)
    term_days: int = Field(5, ge=1, le=252, description="trading days")


class NewBorrow(Body):
    bond: str = Field(min_length=1, max_length=64)
    units: int = Field(gt=0, le=MAX_QTY)
    offer_id: int | None = Field(None, ge=1, le=10**9)


class Fill(BaseModel):
    time: int
    venue: str
    bond: str
    order_id: str
    side: str
    qty: int
    price_ticks: int
    notional_paise: int
    accrued_paise: int
    fee_paise: int
    liquidity: str
    maker_order_id: int
    taker_order_id: int


class Order(BaseModel):
    account: str | None = None
    order_id: str
    book_id: int
    venue: str
    symbol: str
    side: str
    order_type: str
    qty: int
    price: int | None
    stop_price: int | None
    submitted_at: int
    status: str
    reason: str
    answer: str
    filled_qty: int
    fills: list[Fill]
    cancel: str | None = None
    modify: str | None = None


class VenueQuote(BaseModel):
    time: int
    venue: str
    bond: str
    bid_ticks: int | None
    bid_qty: int
    ask_ticks: int | None
    ask_qty: int
    band_ticks: list[int] | None
    halted_until: int
    taker_fee_bps: str


class Component(BaseModel):
    name: str
    spread_bp: float
    price_effect: float


class Liquidity(BaseModel):
    bid_ask_bp: float
    depth_rupees: float
    days_since_trade: float


class Valuation(BaseModel):
    clean: float
    accrued: float
    ytm: float | None
    spread_bp: float | None
    risk_free_clean: float | None
    components: list[Component]
    liquidity_adjusted_clean: float
    liquidity: Liquidity | None


class Forecast(BaseModel):
    horizon_days: int
    price: float
    low: float
    high: float
    from_clean_price: float
    drivers: dict[str, float]


class BondQuote(BaseModel):
    bond: str
    time: int
    venues: list[VenueQuote]
    valuation: Valuation
    forecast: Forecast | None


class Bond(BaseModel):
    id: str
    issuer: str | None
    sector: str | None
    rating: str | None
    coupon: float | None
    issue: str | None
    maturity: str | None
    frequency: int | None
    day_count: str | None
    rating_now: str | None
    tick_size: str
    lot_size: int
    unit_face_value_rupees: int
    venues: list[str]
    trades: bool
    last_trading_day: int | None


class PulseDriver(BaseModel):
    feature: str
    points: float = Field(description="index points it adds (negative: takes away)")


class PulseIndex(BaseModel):
    value: float = Field(ge=0, le=100)
    uncertainty: float | None = Field(description="a standard deviation, in index points")
    drivers: list[PulseDriver] = Field(description="the largest points, at most three")


class PulseListing(BaseModel):
    venue: str = Field(description='a venue, or "all": the venues\' books pooled')
    liquidity: PulseIndex
    repayment: PulseIndex | None = Field(description="the issuer's; null: unrated")
    score: PulseIndex | None = Field(description="liquidity and repayment by sector; null: unrated")


class BondPulse(BaseModel):
    bond: str
    time: int
    interval: str = Field(description='its length: "1h"')
    day: int = Field(description="trading day, from 0")
    start: int = Field(description="the interval is (start, end]")
    end: int
    issuer: str | None
    sector: str | None
    sector_group: str
    rating: str | None
    grade: str | None
    consolidated: PulseListing
    venues: list[PulseListing]


class Book(BaseModel):
    bond: str
    venue: str
    time: int
    bids: list[list[int]]
    asks: list[list[int]]


class Position(BaseModel):
    bond: str
    units: int
    free_units: int
    unit_value_paise: int
    value_paise: int


class Portfolio(BaseModel):
    account: str
    role: str
    time: int
    cash_paise: int
    free_cash_paise: int
    positions: list[Position]
    positions_value_paise: int
    total_value_paise: int
    open_orders: list[Order]
    fees_paid_paise: int


class SipPlan(BaseModel):
    account: str
    plan_id: int
    symbol: str
    venue: str
    amount: int
    interval_days: int
    next_day: int
    orders: list[str]
    invested: int


class Offer(BaseModel):
    offer_id: int
    lender: str
    cash: int
    rate_bp: int
    haircut_pct: float
    term_days: int
    created_at: int


class Repo(BaseModel):
    repo_id: int
    offer_id: int
    lender: str
    borrower: str
    bond: str
    units: int
    loan: int
    rate_bp: int
    opened_at: int
    due_day: int
    status: str
    repayment: int | None
    closed_at: int | None


class MarketPresence(BaseModel):
    venue: str
    bond: str
    checks: int
    met: int
    presence: float | None


class Obligations(BaseModel):
    account: str
    tier: str | None
    maker_fee_bps: dict[str, float]
    max_spread_ticks: int
    min_size: int
    markets: list[MarketPresence]


class Status(BaseModel):
    scenario: str
    seed: int
    time: int
    day: int
    speed: float
    closed: bool
    journal_records: int
    replayed: int


class TradingDay(BaseModel):
    day: int
    date: str
    open: int
    close: int


class Calendar(BaseModel):
    start: str
    length: int
    open: str
    close: str
    holidays: list[str]
    days: list[TradingDay]


class LedgerCheck(BaseModel):
    ok: bool
    cash_total_paise: int
    cash_expected_paise: int
    units_total: dict[str, int]
    units_expected: dict[str, int]
    unsettled_trades: int
    problems: list[str]


class AccountRow(BaseModel):
    name: str
    role: str


class Problem(BaseModel):
    detail: Any


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem} for code in (400, 401, 403, 404, 409, 422)
}
BondId = Annotated[str, Path(min_length=1, max_length=64)]
OrderId = Annotated[str, Path(min_length=1, max_length=64)]


KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False)


def _caller(request: Request, key: Annotated[str | None, Depends(KEY_HEADER)]) -> ApiAccount:
    account = request.app.state.exchange.account_of(key) if key else None
    if account is None:
        raise RequestError(401, "missing or unknown API key (X-API-Key)")
    return account


def _trader(account: Annotated[ApiAccount, Depends(_caller)]) -> ApiAccount:
    if not account.role.trades:
        raise RequestError(403, f"a {account.role.value} key reads and does not trade")
    return account


Caller = Annotated[ApiAccount, Depends(_caller)]
Trader = Annotated[ApiAccount, Depends(_trader)]


def create_app(exchange: Exchange, *, pace: bool = True) -> FastAPI:
    """The API over `exchange`; with `pace`, simulated time moves on while it serves."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        stop = threading.Event()
        pacer = threading.Thread(target=_pace, args=(exchange, stop), daemon=True, name="pacer")
        if pace:
            pacer.start()
        try:
            yield
        finally:
            stop.set()
            if pace:
                pacer.join()

    app = FastAPI(
        title="bondlab exchange",
        summary="A scenario's venues on the real matching, ledger and pricing engines.",
        version="1",
        lifespan=lifespan,
        responses=ERRORS,
    )
    app.state.exchange = exchange

    @app.exception_handler(RequestError)
    async def refused(request: Request, error: RequestError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=error.status)

    @app.get("/api/status", response_model=Status)
    def status(_: Caller) -> dict:
        return exchange.status()

    @app.get("/api/calendar", response_model=Calendar)
    def calendar(_: Caller) -> dict:
        return exchange.calendar()

    @app.get("/api/ledger/check", response_model=LedgerCheck)
    def ledger_check(account: Caller) -> dict:
        return exchange.ledger_check(account)

    @app.get("/api/bonds", response_model=list[Bond])
    def bonds(_: Caller) -> list[dict]:
        return exchange.bonds()

    @app.get("/api/bonds/{bond_id}", response_model=Bond)
    def bond(bond_id: BondId, _: Caller) -> dict:
        return exchange.bond(bond_id)

    @app.get("/api/bonds/{bond_id}/quote", response_model=BondQuote)
    def quote(bond_id: BondId, _: Caller) -> dict:
        return exchange.quote(bond_id)

    @app.get("/api/bonds/{bond_id}/pulse", response_model=BondPulse)
    def bond_pulse(bond_id: BondId, _: Caller) -> dict:
        """The bond's Liquidity Pulse over the latest hourly interval closed (409 before the
        first closes): the liquidity index, repayment support and score of its consolidated
        book and of each venue's, 0-100, with their uncertainty and top drivers."""
        return exchange.bond_pulse(bond_id)

    @app.get("/api/bonds/{bond_id}/book", response_model=Book)
    def book(
        bond_id: BondId,
        _: Caller,
        venue: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
        depth: Annotated[int, Query(ge=1, le=50)] = 10,
    ) -> dict:
        return exchange.book(bond_id, venue, depth)

    @app.post("/api/orders", response_model=Order)
    def submit(order: NewOrder, account: Trader) -> dict:
        return exchange.submit(
            account.name, bond=order.bond, side=order.side, qty=order.qty,
            order_type=order.type, venue=order.venue, price=order.price,
            stop_price=order.stop_price, post_only=order.post_only,
            display_qty=order.display_qty,
        )  # fmt: skip

    @app.get("/api/orders/{order_id}", response_model=Order)
    def order(order_id: OrderId, account: Caller) -> dict:
        return exchange.order(account, order_id)

    @app.post("/api/orders/{order_id}/cancel", response_model=Order)
    def cancel(order_id: OrderId, account: Trader) -> dict:
        return exchange.cancel(account.name, order_id)

    @app.post("/api/orders/{order_id}/modify", response_model=Order)
    def modify(order_id: OrderId, change: Modify, account: Trader) -> dict:
        return exchange.modify(account.name, order_id, qty=change.qty, price=change.price)

    @app.get("/api/portfolio", response_model=Portfolio)
    def portfolio(
        account: Caller,
        of: Annotated[str | None, Query(max_length=64, description="regulator: whose")] = None,
    ) -> dict:
        return exchange.portfolio(account, of)

    @app.post("/api/portfolio/sip", response_model=SipPlan)
    def start_sip(plan: NewSip, account: Trader) -> dict:
        return exchange.start_sip(
            account.name, bond=plan.bond, amount_rupees=plan.amount_rupees,
            interval_days=plan.interval_days, venue=plan.venue,
        )  # fmt: skip

    @app.get("/api/portfolio/sip", response_model=list[SipPlan])
    def sip_plans(account: Caller) -> list[dict]:
        return exchange.sip_plans(account)

    @app.post("/api/lending/offers", response_model=Offer)
    def offer(offer: NewOffer, account: Trader) -> dict:
        return exchange.offer_cash(
            account.name, cash_rupees=offer.cash_rupees, rate_bp=offer.rate_bp,
            haircut_pct=offer.haircut_pct, term_days=offer.term_days,
        )  # fmt: skip

    @app.get("/api/lending/offers", response_model=list[Offer])
    def offers(_: Caller) -> list[dict]:
        return exchange.offers()

    @app.post("/api/repo/borrow", response_model=Repo)
    def borrow(request: NewBorrow, account: Trader) -> dict:
        return exchange.borrow(
            account.name, bond=request.bond, units=request.units, offer_id=request.offer_id
        )

    @app.get("/api/repo", response_model=list[Repo])
    def repos(account: Caller) -> list[dict]:
        return exchange.repos(account)

    @app.get("/api/market-maker/obligations", response_model=Obligations)
    def obligations(account: Caller) -> dict:
        return exchange.obligations(account)

    @app.get("/api/accounts", response_model=list[AccountRow])
    def accounts(account: Caller) -> list[dict]:
        return exchange.accounts_view(account)

    @app.websocket("/api/stream")
    async def stream(socket: WebSocket) -> None:
        """Quotes and trades of every book, the clock, and the account's own fills (every
        account's, for a regulator). ``?channels=quote,fill`` narrows it; a topic
        ``pulse.<bond>`` among them adds the bond's Liquidity Pulse as each hour closes."""
        key = socket.headers.get("x-api-key") or socket.query_params.get("api_key")
        account = exchange.account_of(key) if key else None
        if account is None:
            await socket.close(code=4401, reason="missing or unknown API key")
            return
        asked = socket.query_params.get("channels")
        channels = frozenset(CHANNELS if not asked else asked.split(","))
        if not channels <= exchange.topics():
            known = f"{', '.join(CHANNELS)} or {TOPIC_PREFIX}<bond>"
            await socket.close(code=4400, reason=f"channels are among {known}")
            return
        await socket.accept()
        whose = None if account.role is Role.REGULATOR else account.name
        subscription = Stream(asyncio.get_running_loop(), asyncio.Queue(), whose, channels)
        exchange.hub.subscribe(subscription)
        listener = asyncio.create_task(_until_closed(socket))
        try:
            while True:
                getter = asyncio.create_task(subscription.queue.get())
                done, _ = await asyncio.wait({getter, listener}, return_when="FIRST_COMPLETED")
                if listener in done:
                    getter.cancel()
                    return
                message = getter.result()
                if message is None:  # fell too far behind
                    await socket.close(code=1013, reason="stream backlog exceeded; reconnect")
                    return
                await socket.send_json(message)
        except WebSocketDisconnect:
            return
        finally:
            exchange.hub.unsubscribe(subscription)
            listener.cancel()

    return app


async def _until_closed(socket: WebSocket) -> None:
    """Read (and ignore) what the client sends, until it disconnects."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await socket.receive_text()


def _pace(exchange: Exchange, stop: threading.Event) -> None:
    """Move simulated time on with the wall clock until `stop` is set or the run ends."""
    last = time.monotonic_ns()
    while not stop.wait(PACE_S):
        now = time.monotonic_ns()
        exchange.step(now - last)
        last = now
        if exchange.closed:
            return
