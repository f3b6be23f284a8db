"""The exchange service's engine: a scenario's run paced by the wall clock, with client
accounts whose requests enter it the moment they are accepted, each written to the journal
first.

    exchange = Exchange(scenario, accounts, journal="journal/", speed=60.0)
    exchange.step(50_000_000)                        # wall ns since the last step
    exchange.submit("asha", bond="GSEC-2033", side="buy", qty=10, order_type="limit",
                    price=10_050)

The background agents of the scenario trade as they would in `bondlab run`; the clients'
requests reach the venues without latency, at the simulated time of their arrival. Simulated
time moves only in `step` (trading time: overnight gaps and holidays are skipped), by the wall
time elapsed times `speed`. Every step and every request is journaled before it takes effect
(`sim.service.journal`), so that a restarted service replays them into the same books and
ledger. One lock serialises the run: requests, steps and reads see it between events.

Requests a client got wrong (an unknown bond, a venue that does not list it, a malformed
order) raise `RequestError` before anything is journaled; requests a venue or the lending book
refuses are journaled and answered with their reason, as an exchange would.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from decimal import Decimal
from pathlib import Path

import numpy as np

from sim.engine.access import MarketAccess
from sim.engine.kernel import Simulation
from sim.errors import ConfigurationError
from sim.market.orders import Side
from sim.records.result import Result
from sim.service.accounts import Accounts, ApiAccount, Role
from sim.service.clients import ApiClient, MarketDesk, OrderState, SipPlan, quote_message
from sim.service.hub import CHANNELS, Hub
from sim.service.journal import Journal
from sim.service.lending import LendingBook, LendingError
from sim.service.pulse import LivePulse, pulse_topic
from sim.service.records_so_far import records_so_far
from sim.units import PAISE_PER_RUPEE

SERVICE_STREAM = 0x5E7  # the service's own branch of the run's seed, apart from the agents'
ORDER_TYPES = {  # the API's order types: (time in force, limit price?, stop price?)
    "market": ("GTC", False, False),
    "limit": ("GTC", True, False),
    "ioc": ("IOC", True, False),
    "fok": ("FOK", True, False),
    "stop": ("GTC", False, True),
    "stop_limit": ("GTC", True, True),
}


class RequestError(ValueError):
    """A client's request the service cannot take: `status` is its HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Exchange:
    """A scenario's venues, ledger and background agents, open to the service's clients."""

    def __init__(
        self,
        scenario,
        accounts: Accounts,
        *,
        seed: int | None = None,
        journal: str | Path | None = None,
        speed: float = 1.0,
    ) -> None:
        self.sim = sim = Simulation(scenario, seed)
        self.accounts = accounts
        self._keys = accounts.by_key()
        self.speed = float(speed)
        self.hub = Hub()
        market = MarketAccess(sim)
        self._market = market
        traders = [a for a in accounts.account if a.role.trades]
        seeds = np.random.SeedSequence([sim.seed, SERVICE_STREAM]).spawn(len(traders) + 1)
        self.clients: dict[str, ApiClient] = {}
        for account, client_seed in zip(traders, seeds[1:], strict=True):
            client = ApiClient(
                market, np.random.default_rng(client_seed), account, self.hub, sim.answer_now
            )
            self._open(client, account)
            self.clients[account.name] = client
        self.lending = LendingBook(market, self.clients)
        self.desk = MarketDesk(market, np.random.default_rng(seeds[0]), self.hub, self._opened)
        sim.open_account(self.desk)  # empty: every participant has one
        sim.start()
        self.closed = False
        self.lock = threading.RLock()
        self.pulse = LivePulse(self._records_so_far, scenario, self.hub)
        self.journal = None if journal is None else Journal(journal)
        self.replayed = 0
        if self.journal is not None:
            for record in self.journal.open(self.header()):
                # a request refused when it was made (lending) is refused again: it was answered
                with contextlib.suppress(RequestError):
                    self._apply(record)
                self.replayed += 1

    def header(self) -> dict:
        """What a journal must have been written for to be replayed here."""
        sim = self.sim
        return {
            "scenario": sim.scenario.name,
            "scenario_hash": sim.scenario.hash,
            "seed": sim.seed,
            "accounts": self.accounts.digest(),
        }

    def _open(self, client: ApiClient, account: ApiAccount) -> None:
        unknown = sorted(set(account.units) - set(self.sim.instruments))
        if unknown:
            raise ConfigurationError(f"account {account.name}: units of unknown bond {unknown[0]}")
        tier = None if account.tier is None else account.tier.value
        self.sim.open_account(
            client, cash=account.cash_rupees * PAISE_PER_RUPEE, units=dict(account.units), tier=tier
        )

    def _opened(self, day: int) -> None:
        """Each session open: repos fall due (client SIP plans invest in their own hook)."""
        self.lending.settle_due(day)

    def close(self) -> None:
        if self.journal is not None:
            self.journal.close()

    # --- time ----------------------------------------------------------------------------

    @property
    def now(self) -> int:
        return self.sim.now

    def step(self, wall_ns: int) -> int:
        """Move simulated time on by `wall_ns` of wall time times `speed`, in trading time;
        past the last close the run ends. The time reached; the Liquidity Pulse of an
        interval it closes is then published."""
        with self.lock:
            if self.closed:
                return self.now
            sim = self.sim
            target = sim.trading_time(self.now + int(wall_ns * self.speed))
            end = sim.calendar.end_ns
            target = end + 1 if target is None or target > end else target
            if target > self.now:
                self._record({"t": target, "kind": "advance"}, sync=False)
                self._advance(target)
            now = self.now
        self.pulse.publish(now)  # outside the lock: the market need not wait for it
        return now

    def _advance(self, target: int) -> None:
        self.sim.advance_to(target)
        if target > self.sim.calendar.end_ns:
            self.sim.conclude()
            self.closed = True
        self.hub.publish(None, "clock", {"time": self.now, "closed": self.closed})

    # --- requests: checked, journaled, applied --------------------------------------------

    def submit(
        self,
        client: str,
        *,
        bond: str,
        side: str,
        qty: int,
        order_type: str,
        venue: str | None = None,
        price: int | None = None,
        stop_price: int | None = None,
        post_only: bool = False,
        display_qty: int | None = None,
    ) -> dict:
        """A new order: its state after arrival (status, fills). `post_only`: refused rather
        than trade on arrival; `display_qty`: an iceberg showing that much at a time."""
        trader = self._trader(client)
        venue = self._venue_for(bond, venue)
        _, limit, stop = ORDER_TYPES[order_type]
        if limit != (price is not None):
            raise RequestError(
                422, f"a {order_type} order {'needs' if limit else 'takes no'} price"
            )
        if stop != (stop_price is not None):
            wants = "needs" if stop else "takes no"
            raise RequestError(422, f"a {order_type} order {wants} stop_price")
        lot = self.sim.instruments[bond].lot_size
        if qty % lot:
            raise RequestError(422, f"qty {qty} is not a whole number of lots of {lot}")
        record = {
            "kind": "order",
            "account": trader.name,
            "venue": venue,
            "bond": bond,
            "side": side,
            "qty": qty,
            "order_type": order_type,
            "price": price,
            "stop_price": stop_price,
            "post_only": post_only,
            "display_qty": display_qty,
        }
        return self._request(record)

    def cancel(self, client: str, order_id: str) -> dict:
        trader = self._trader(client)
        self._own_order(trader, order_id)
        return self._request({"kind": "cancel", "account": trader.name, "order_id": order_id})

    def modify(
        self, client: str, order_id: str, *, qty: int | None = None, price: int | None = None
    ) -> dict:
        """Change an open order's remaining quantity and/or its limit price."""
        trader = self._trader(client)
        self._own_order(trader, order_id)
        if qty is None and price is None:
            raise RequestError(422, "a modify changes qty, price or both")
        record = {"kind": "modify", "account": trader.name, "order_id": order_id, "qty": qty,
                  "price": price}  # fmt: skip
        return self._request(record)

    def start_sip(
        self,
        client: str,
        *,
        bond: str,
        amount_rupees: int,
        interval_days: int,
        venue: str | None = None,
    ) -> dict:
        trader = self._trader(client)
        venue = self._venue_for(bond, venue)
        record = {
            "kind": "sip",
            "account": trader.name,
            "bond": bond,
            "venue": venue,
            "amount": amount_rupees * PAISE_PER_RUPEE,
            "interval_days": interval_days,
        }
        return self._request(record)

    def offer_cash(
        self, client: str, *, cash_rupees: int, rate_bp: int, haircut_pct: float, term_days: int
    ) -> dict:
        trader = self._trader(client)
        record = {
            "kind": "offer",
            "account": trader.name,
            "cash": cash_rupees * PAISE_PER_RUPEE,
            "rate_bp": rate_bp,
            "haircut_pct": haircut_pct,
            "term_days": term_days,
        }
        return self._request(record)

    def borrow(self, client: str, *, bond: str, units: int, offer_id: int | None = None) -> dict:
        trader = self._trader(client)
        self._bond(bond)
        record = {
            "kind": "borrow",
            "account": trader.name,
            "bond": bond,
            "units": units,
            "offer_id": offer_id,
        }
        return self._request(record)

    def _request(self, record: dict) -> dict:
        with self.lock:
            if self.closed:
                raise RequestError(409, "the market is closed: the scenario's last session ended")
            record = self._record({"t": self.now, **record}, sync=True)
            return self._apply(record)

    def _record(self, record: dict, *, sync: bool) -> dict:
        return record if self.journal is None else self.journal.append(record, sync=sync)

    def _apply(self, record: dict) -> dict:
        """Carry out one journaled record (live, or replaying the journal)."""
        kind = record["kind"]
        if kind == "advance":
            self._advance(record["t"])
            return {}
        client = self.clients[record["account"]]
        try:
            if kind == "order":
                tif, _, _ = ORDER_TYPES[record["order_type"]]
                state = client.place(
                    record["venue"],
                    record["bond"],
                    Side.parse(record["side"]),
                    record["qty"],
                    record["price"],
                    tif,
                    record["order_type"],
                    stop_price=record["stop_price"],
                    post_only=record["post_only"],
                    display_qty=record["display_qty"],
                )
                return order_view(state)
            if kind == "cancel":
                state = client.orders[record["order_id"]]
                response = client.cancel_order(state)
                return {**order_view(state), "cancel": response.reason.name.lower()}
            if kind == "modify":
                state = client.orders[record["order_id"]]
                response = client.modify_order(state, record["qty"], record["price"])
                return {**order_view(state), "modify": response.reason.name.lower()}
            if kind == "sip":
                return self._start_sip(client, record)
            if kind == "offer":
                offer = self.lending.offer(
                    client,
                    record["cash"],
                    record["rate_bp"],
                    record["haircut_pct"],
                    record["term_days"],
                )
                return vars(offer).copy()
            if kind == "borrow":
                repo = self.lending.borrow(
                    client, record["bond"], record["units"], record["offer_id"]
                )
                return vars(repo).copy()
        except LendingError as error:
            raise RequestError(409, str(error)) from None
        raise ValueError(f"journal record of unknown kind {kind!r}")

    def _start_sip(self, client: ApiClient, record: dict) -> dict:
        day = self.sim.calendar.day_index(self.now)
        plan = SipPlan(
            len(client.sip_plans) + 1,
            record["bond"],
            record["venue"],
            record["amount"],
            record["interval_days"],
            day + record["interval_days"],
        )
        client.sip_plans.append(plan)
        client.invest(plan)  # the first instalment now
        return sip_view(plan, client)

    # --- checks ---------------------------------------------------------------------------

    def _trader(self, client: str) -> ApiClient:
        trader = self.clients.get(client)
        if trader is None:  # a regulator, who has no ledger account
            raise RequestError(403, f"account {client!r} may not trade")
        return trader

    def _bond(self, bond: str):
        instrument = self.sim.instruments.get(bond)
        if instrument is None:
            raise RequestError(404, f"no bond {bond!r}")
        return instrument

    def _venue_for(self, bond: str, venue: str | None) -> str:
        self._bond(bond)
        listing = [v for v, s in self._market.listings() if s == bond]
        if not listing:
            raise RequestError(409, f"{bond} no longer trades")
        if venue is None:
            return listing[0]
        if venue not in listing:
            raise RequestError(404, f"venue {venue!r} does not list {bond} ({', '.join(listing)})")
        return venue

    def _own_order(self, trader: ApiClient, order_id: str) -> OrderState:
        state = trader.orders.get(order_id)
        if state is None:  # not found, whether another account's or nobody's
            raise RequestError(404, f"no order {order_id!r} of this account")
        if state.order_id.startswith("REJECTED-"):  # no book id: the venue must not be asked
            raise RequestError(409, f"order {order_id!r} was rejected: it never reached a book")
        return state

    # --- reads ----------------------------------------------------------------------------

    def _records_so_far(self) -> Result:
        """The run's records up to now (`sim.service.records_so_far`), the market-maker
        clients counted as makers."""
        makers = [c.account for c in self.clients.values() if c.role is Role.MARKET_MAKER]
        with self.lock:
            return records_so_far(self.sim, makers)

    def account_of(self, key: str) -> ApiAccount | None:
        """The account an API key belongs to (None: no account's)."""
        return self._keys.get(key)

    def bonds(self) -> list[dict]:
        with self.lock:
            return [self.bond(symbol) for symbol in self.sim.instruments]

    def bond(self, symbol: str) -> dict:
        with self.lock:
            instrument = self._bond(symbol)
            market = self._market
            terms = market.terms(symbol)
            day = market.day_index(self.now)
            return {
                "id": symbol,
                **{
                    k: (str(v) if v is not None and k in ("issue", "maturity") else v)
                    for k, v in terms.items()
                },
                "rating_now": market.rating(symbol, day),
                "tick_size": str(instrument.tick_size),
                "lot_size": instrument.lot_size,
                "unit_face_value_rupees": instrument.unit_face_value,
                "venues": [v for v, s in market.listings() if s == symbol],
                "trades": market.trades_on(symbol, day),
                "last_trading_day": max(
                    (d for d in range(len(market.trading_days())) if market.trades_on(symbol, d)),
                    default=None,
                ),
            }

    def quote(self, symbol: str) -> dict:
        """Every venue's top of book, the published valuation with its breakdown and the
        liquidity premium, and the T+7 forecast with its interval."""
        with self.lock:
            self._bond(symbol)
            desk, market = self.desk, self._market
            venues = []
            for venue in (v for v, s in market.listings() if s == symbol):
                row = quote_message(venue, symbol, desk.quote(venue, symbol))
                band = desk.price_limits(venue, symbol)
                row["band_ticks"] = None if band is None else list(band)
                row["halted_until"] = desk.halted_until(venue, symbol)
                row["taker_fee_bps"] = str(Decimal(desk.taker_fee_rate(venue)) / 100)
                venues.append(row)
            valuation = desk.valuation(symbol, liquidity=True)
            forecast = desk.forecast(symbol)
            return {
                "bond": symbol,
                "time": self.now,
                "venues": venues,
                "valuation": valuation_view(valuation),
                "forecast": None
                if forecast is None
                else {
                    "horizon_days": forecast.horizon_days,
                    "price": forecast.price,
                    "low": forecast.low,
                    "high": forecast.high,
                    "from_clean_price": forecast.clean_price,
                    "drivers": forecast.drivers,
                },
            }

    def bond_pulse(self, symbol: str) -> dict:
        """The bond's Liquidity Pulse over the latest hourly interval closed
        (`sim.service.pulse`); 409 before its first."""
        self._bond(symbol)
        now = self.now
        view = self.pulse.bond(symbol, now)
        if view is None:
            if self.pulse.closed_end(now) is None:
                first = self.pulse.first_end
                raise RequestError(409, f"no pulse yet: the first hour closes at {first} (ns)")
            raise RequestError(409, f"no pulse of {symbol}: no book of it in an hour closed yet")
        return {**view, "time": now}

    def topics(self) -> frozenset[str]:
        """What a stream may subscribe to: the channels, and each bond's pulse."""
        return frozenset(CHANNELS) | {pulse_topic(symbol) for symbol in self.sim.instruments}

    def book(self, symbol: str, venue: str | None, depth: int) -> dict:
        with self.lock:
            venue = self._venue_for(symbol, venue)
            bids, asks = self.sim.venues[venue].book(symbol).depth(depth)
            return {
                "bond": symbol,
                "venue": venue,
                "time": self.now,
                "bids": [list(level) for level in bids],
                "asks": [list(level) for level in asks],
            }

    def order(self, viewer: ApiAccount, order_id: str) -> dict:
        with self.lock:
            for client in self._visible(viewer):
                state = client.orders.get(order_id)
                if state is not None:
                    return {"account": client.name, **order_view(client.refresh(state))}
            raise RequestError(404, f"no order {order_id!r} of this account")

    def portfolio(self, viewer: ApiAccount, account: str | None = None) -> dict:
        with self.lock:
            client = self._one_visible(viewer, account)
            market = self._market
            positions = []
            for symbol in self.sim.instruments:
                units = client.position(symbol)
                if units:
                    positions.append(
                        {
                            "bond": symbol,
                            "units": units,
                            "free_units": client.free_units(symbol),
                            "unit_value_paise": market.unit_value(symbol),
                            "value_paise": units * market.unit_value(symbol),
                        }
                    )
            cash = client.cash_position()
            value = sum(p["value_paise"] for p in positions)
            return {
                "account": client.name,
                "role": client.role.value,
                "time": self.now,
                "cash_paise": cash,
                "free_cash_paise": client.free_cash(),
                "positions": positions,
                "positions_value_paise": value,
                "total_value_paise": cash + value,
                "open_orders": [
                    order_view(client.refresh(s))
                    for s in client.orders.values()
                    if s.status == "open"
                ],
                "fees_paid_paise": client.fees_paid,
            }

    def sip_plans(self, viewer: ApiAccount) -> list[dict]:
        with self.lock:
            return [sip_view(plan, c) for c in self._visible(viewer) for plan in c.sip_plans]

    def offers(self) -> list[dict]:
        with self.lock:
            return [vars(o).copy() for o in self.lending.offers if o.cash > 0]

    def repos(self, viewer: ApiAccount) -> list[dict]:
        with self.lock:
            names = {c.name for c in self._visible(viewer)}
            return [
                vars(r).copy()
                for r in self.lending.repos
                if r.borrower in names or r.lender in names
            ]

    def obligations(self, viewer: ApiAccount) -> dict:
        """A market maker's tier, its maker fee on each venue and its quoting obligation with
        the share of depth snapshots at which it met it, per market."""
        with self.lock:
            if viewer.role is not Role.MARKET_MAKER:
                raise RequestError(403, "only a market maker has tier obligations")
            client = self.clients[viewer.name]
            tier = viewer.tier
            max_spread, min_size = client.obligation
            markets = [
                {"venue": v, "bond": s, "checks": n, "met": met, "presence": met / n if n else None}
                for (v, s), (n, met) in sorted(client.presence.items())
            ]
            return {
                "account": client.name,
                "tier": None if tier is None else tier.value,
                "maker_fee_bps": {
                    name: float(venue.fees.rate(True, tier)) / 100
                    for name, venue in self.sim.venues.items()
                },
                "max_spread_ticks": max_spread,
                "min_size": min_size,
                "markets": markets,
            }

    def accounts_view(self, viewer: ApiAccount) -> list[dict]:
        if viewer.role is not Role.REGULATOR:
            raise RequestError(403, "only a regulator reads every account")
        return [{"name": a.name, "role": a.role.value} for a in self.accounts.account]

    def calendar(self) -> dict:
        """The run's trading calendar (its start, length, session hours and holidays, from
        which a client rebuilds it) and each trading day with its session's open and close."""
        calendar = self.sim.calendar
        return {
            "start": calendar.start.isoformat(),
            "length": calendar.days,
            "open": calendar.open.isoformat(),
            "close": calendar.close.isoformat(),
            "holidays": [h.isoformat() for h in calendar.holidays],
            "days": [
                {"day": i, "date": d.isoformat(), "open": calendar.session(i)[0],
                 "close": calendar.session(i)[1]}
                for i, d in enumerate(calendar.trading_days)
            ]
        }  # fmt: skip

    def ledger_check(self, viewer: ApiAccount) -> dict:
        """The ledger's conservation of cash and units, and every account's invariants."""
        if viewer.role is not Role.REGULATOR:
            raise RequestError(403, "only a regulator checks the ledger")
        with self.lock:
            return self.sim.ledger.check().to_dict()

    def status(self) -> dict:
        with self.lock:
            sim = self.sim
            return {
                "scenario": sim.scenario.name,
                "seed": sim.seed,
                "time": self.now,
                "day": sim.calendar.day_index(self.now),
                "speed": self.speed,
                "closed": self.closed,
                "journal_records": 0 if self.journal is None else self.journal.seq,
                "replayed": self.replayed,
            }

    def _visible(self, viewer: ApiAccount) -> list[ApiClient]:
        if viewer.role is Role.REGULATOR:
            return list(self.clients.values())
        return [self.clients[viewer.name]]

    def _one_visible(self, viewer: ApiAccount, account: str | None) -> ApiClient:
        if account is None or account == viewer.name:
            return self._trader(viewer.name)
        if viewer.role is not Role.REGULATOR or account not in self.clients:
            raise RequestError(404, f"no account {account!r} visible to this key")
        return self.clients[account]


def order_view(state: OrderState) -> dict:
    return {k: v for k, v in vars(state).items() if k != "sip_plan"}


def sip_view(plan: SipPlan, client: ApiClient) -> dict:
    return {"account": client.name, **vars(plan)}


def valuation_view(valuation) -> dict:
    liquidity = valuation.liquidity
    return {
        "clean": valuation.clean,
        "accrued": valuation.accrued,
        "ytm": valuation.ytm,
        "spread_bp": valuation.spread_bp,
        "risk_free_clean": valuation.risk_free_clean,
        "components": [dataclasses.asdict(c) for c in valuation.components],
        "liquidity_adjusted_clean": valuation.liquidity_adjusted_clean,
        "liquidity": None
        if liquidity is None
        else {
            "bid_ask_bp": liquidity.bid_ask_bp,
            "depth_rupees": liquidity.depth_rupees,
            "days_since_trade": liquidity.days_since_trade,
        },
    }
