"""The simulation kernel: one run of one scenario with one seed.

A simpy `Environment` keeps an integer-nanosecond clock and a single event queue; a mesa
`Model` is the registry of every agent; venues (with their numba books) and one ledger hold
the market; a fundamental process and the scenario's shocks move value; the recorder keeps
every order, trade and quote. Agents act only through `send` (requests reach a venue after
their latency) and hear back only through events (answers, fills, subscribed quotes).

Time is trading time: a wake-up or request that would fall after a session's close carries
its remainder into the next session, so overnight gaps and holidays are skipped.

    sim = Simulation(scenario, seed=1)
    result = sim.run(out="results")
"""

from __future__ import annotations

import functools
import gc
import time as wallclock
from pathlib import Path

import mesa
import numpy as np

from sim.engine.clock import Clock
from sim.engine.latency import latency_from
from sim.engine.market_data import MarketData
from sim.engine.participant import Participant
from sim.market.calendar import TradingCalendar
from sim.market.fees import FeeSchedule, Tier
from sim.market.instrument import Instrument
from sim.market.ledger import Ledger
from sim.market.messages import Response
from sim.market.orders import INT64_MAX, Reason, Side, Status, as_int64
from sim.market.venue import PriceBand, Venue
from sim.records.recorder import Recorder

NS_PER_SECOND = 10**9
CHANNELS = ("l1", "l2", "trades")  # market data an agent can subscribe to


class Simulation:
    """Everything one run needs, built from a resolved `Scenario`."""

    def __init__(self, scenario, seed: int | None = None) -> None:
        from sim.scenario.model import ScenarioError
        from sim.scenario.registry import agent_kinds

        self.scenario = scenario
        self.seed = scenario.seed if seed is None else int(seed)
        seeds = np.random.SeedSequence(self.seed)
        # One branch each, so that adding agents never changes the fundamental's path.
        fundamental_seed, model_seed, population_seeds = seeds.spawn(3)
        cal = scenario.calendar
        self.calendar = TradingCalendar(
            cal.start, cal.days, cal.open, cal.close, tuple(cal.holidays)
        )
        self.env = Clock(initial_time=self.calendar.start_ns)
        self.model = mesa.Model(rng=np.random.default_rng(model_seed))
        self.recorder = Recorder()
        self.ledger = Ledger(journal=self._journal)
        self.market_data = MarketData()
        self.instruments = {i.symbol: _instrument(i) for i in scenario.instruments}
        # as floats, for the fundamentals' prices per 100 face (a Decimal division is slow)
        self._tick_sizes = {s: float(i.tick_size) for s, i in self.instruments.items()}
        self.venues: dict[str, Venue] = {}
        self.venue_latency = {}
        try:
            self.fundamental = _build_fundamental(scenario, self.calendar, fundamental_seed)
            self.reference_prices = self._reference_prices()
            for spec in scenario.venues:
                self.venues[spec.name] = self._build_venue(spec)
        except ValueError as error:
            # What validation could not see alone (a bond maturing inside the run, say).
            raise ScenarioError([f"{scenario.source}: {error}"]) from error
        self.events = {"wakeups": 0, "requests": 0, "trades": 0, "quotes": 0, "deliveries": 0}
        # (venue, symbol, channel) -> agents; channels are "l1", "l2" and "trades".
        self._subscribers: dict[tuple[str, str, str], list] = {}
        self._session = self.calendar.session(0)
        self._initial_wealth: dict[int, int] = {}
        self._published: dict[str, float] = {}  # symbol -> fair value in ticks
        self._collect_at_close = False  # run() collects garbage at closes, not as it goes
        kinds = agent_kinds()
        self.populations: dict[str, list] = {}
        for (name, params), pop_seed in zip(
            scenario.populations.items(),
            population_seeds.spawn(len(scenario.populations)),
            strict=True,
        ):
            try:
                kind = kinds[scenario.kind_of(name)]
                self.populations[name] = list(kind.build(self, params, pop_seed))
            except ValueError as error:
                # A population whose parameters clash with the rest of the scenario (a bond
                # it does not list, say) is the scenario's error, reported as one line.
                raise ScenarioError([f"{scenario.source}: {name}: {error}"]) from error

    # --- set-up helpers for agent builders -----------------------------------------------

    def _reference_prices(self) -> dict[str, int]:
        """Each instrument's reference price in ticks: where its market opens, its price band
        is centred and agents' priors start. Bonds priced by the pricing engine open at their
        first fair value (their file's reference price would disagree with the curve);
        otherwise the scenario's reference price."""
        prices = {}
        for spec in self.scenario.instruments:
            instrument = self.instruments[spec.symbol]
            if self.scenario.fundamentals.kind == "bond":
                fair = self.fundamental.value(spec.symbol, self.calendar.start_ns)
                prices[spec.symbol] = max(round(fair / float(instrument.tick_size)), 1)
            else:
                prices[spec.symbol] = instrument.to_ticks(spec.reference_price)
        return prices

    def _build_venue(self, spec) -> Venue:
        fees = FeeSchedule(
            spec.fees.maker_bps,
            spec.fees.taker_bps,
            {Tier(t): bps for t, bps in spec.fees.tiers.items()},
        )
        band = None
        if spec.price_band is not None:
            band = PriceBand(
                spec.price_band.limit_pct,
                spec.price_band.halt_pct,
                int(spec.price_band.halt_minutes * 60 * NS_PER_SECOND),
            )
        venue = Venue(
            spec.name,
            self.ledger,
            fees=fees,
            price_band=band,
            settlement_lag_days=spec.settlement_lag_days,
            market_protection_pct=spec.market_protection_pct,
            settlement_time=self.calendar.settlement_time,
        )
        listed = self.instruments if "*" in spec.listings else spec.listings
        for symbol in listed:
            venue.list_instrument(self.instruments[symbol], self.reference_prices[symbol])
        self.venue_latency[spec.name] = latency_from(spec.latency.base_us, spec.latency.jitter_us)
        return venue

    def open_account(
        self, agent, cash: int = 0, units: dict[str, int] | None = None, tier: str | None = None
    ) -> None:
        """Give an agent its ledger account and endowment, and admit it to every venue."""
        self.ledger.open_account(agent.account, cash=cash, units=units or {})
        for venue in self.venues.values():
            venue.register(agent.account, tier=None if tier is None else Tier(tier))
        self._initial_wealth[agent.account] = cash + sum(
            qty * self.reference_prices[s] * self.instruments[s].tick_value
            for s, qty in (units or {}).items()
        )

    def _journal(self, kind, source, target, cash, instrument, qty) -> None:
        self.recorder.transfer(self.env.now, kind, source, target, cash, instrument, qty)

    def deposit(self, agent, amount: int) -> None:
        """Money entering the system into an agent's account (a SIP contribution): it is
        invested capital, not profit, so the agent's PnL is measured net of it."""
        self.ledger.deposit(agent.account, amount)
        self._initial_wealth[agent.account] = self._initial_wealth.get(agent.account, 0) + amount

    def initial_wealth(self, account: int) -> int:
        """What an account started with (paise, units at reference prices) plus deposits
        since: its PnL is measured against this."""
        return self._initial_wealth.get(account, 0)

    # --- what agents may know of the scenario -------------------------------------------

    def fundamental_ticks(self, symbol: str) -> float:
        """The fundamental value now, in ticks."""
        return self.fundamental.value(symbol, self.env.now) / self._tick_sizes[symbol]

    def published_fair_value(self, symbol: str) -> float:
        """The last published valuation, in ticks: the fair value as of this session's open,
        or as re-marked after a shock that moved it since. What the market knows of value, as
        opposed to the fundamental itself."""
        return self._published[symbol]

    def observe_fundamental(self, symbol: str, noise_ticks: float, rng) -> float:
        """A noisy observation of the fundamental now, in ticks."""
        noise = float(rng.normal(0.0, noise_ticks)) if noise_ticks > 0 else 0.0
        return self.fundamental_ticks(symbol) + noise

    def panic_level(self, day: int) -> float:
        """Panic intensity on `day` from the scenario's panic shocks (the largest if several)."""
        return self._shock_level("panic", "intensity", day)

    def liquidity_withdrawal_level(self, day: int) -> float:
        return self._shock_level("liquidity_withdrawal", "fraction", day)

    def _shock_level(self, kind: str, size: str, day: int) -> float:
        from sim.pricing.curve_shocks import path_fraction

        levels = [
            getattr(shock, size) * path_fraction(shock.path, day - shock.day)
            for shock in self.scenario.shocks
            if shock.kind == kind and shock.day <= day
        ]
        return max(levels, default=0.0)

    # --- time ----------------------------------------------------------------------------

    @property
    def now(self) -> int:
        return self.env.now

    def trading_time(self, t: int) -> int | None:
        """`t` moved past overnight gaps: time beyond a close continues at the next open."""
        open_ns, close_ns = self._session
        if open_ns <= t <= close_ns:  # the common case: within the current session
            return t
        cal = self.calendar
        day = cal.day_index(max(t, cal.start_ns))
        open_ns, close_ns = cal.session(day)
        if t < open_ns:
            return open_ns
        while t > close_ns:
            nxt = cal.next_open(close_ns)
            if nxt is None:
                return None
            t = nxt + (t - close_ns)
            day += 1
            close_ns = cal.session(day)[1]
        return t

    def call_at(self, t: int, fn, *args) -> None:
        """Run `fn(*args)` at simulated time `t` (events at one time run in order of booking)."""
        self.env.call_at(t, fn, *args)

    def wake(self, agent, t: int) -> None:
        open_ns, close_ns = self._session
        when = t if open_ns <= t <= close_ns else self.trading_time(t)  # mostly the former
        if when is not None:
            self.env.call_at(when, self._wake, agent)

    def _wake(self, agent) -> None:
        self.events["wakeups"] += 1
        agent.on_wake()

    # --- requests ------------------------------------------------------------------------

    def send(self, agent, action: str, venue: str, symbol: str, args: tuple, options: dict):
        """A request leaves the agent now and reaches the venue after its latency."""
        env = self.env
        arrival = self.trading_time(env.now + self.venue_latency[venue].sample(agent.draws))
        if arrival is not None:
            env.call_at(arrival, self._arrive, agent, action, venue, symbol, args, options)
        else:
            self._too_late(agent, (action, venue, symbol, *args), options.get("client", 0))

    def _too_late(self, agent, request: tuple, client: int) -> None:
        """A request that would reach its venue after the last close: recorded as refused and,
        if it was sent before that close, answered, so that the agent's books close. (What
        agents send after the close, in reply to such answers, is recorded only: a run ends.)"""
        self.record_refusal(agent, request, Reason.MARKET_CLOSED, client)
        if self.env.now <= self.calendar.end_ns:
            order_id = 0 if request[0] == "new" else request[3]
            answer = Response(request[2], order_id, Status.REJECTED, Reason.MARKET_CLOSED)
            self._deliver(agent, "on_response", request, answer._replace(client=client))

    def _arrive(self, agent, action, venue_name, symbol, args, options) -> None:
        self.events["requests"] += 1
        venue = self.venues[venue_name]
        now = self.env.now
        account = agent.account
        if action == "new":
            side, qty, price, tif = args
            codes = venue.new_order(account, symbol, side, qty, price, tif, now=now, **options)
            order_type = _order_type(price, tif, options.get("stop_price"))
            side_code = _side_code(side)
        elif action == "cancel":
            codes = venue.cancel_order(account, symbol, args[0], now=now)
            order_type, side_code, qty, price, tif = "cancel", 0, None, None, None
        else:
            order_id, qty, price = args
            codes = venue.modify_order(account, symbol, order_id, qty, price, now=now)
            order_type, side_code, tif = "modify", 0, None
        order_id, status, reason, _, n_fills, _, client = codes
        # One row of orders.parquet; values that are not int64 (a bad request's) are null.
        self.recorder.order(
            now,
            order_id,
            account,
            venue_name,
            symbol,
            side_code,
            order_type,
            tif,
            _int64_or_none(price),
            _int64_or_none(qty),
            _STATUS_NAMES[status],
            _REASON_NAMES[reason],
            client,
        )
        if n_fills:
            self._record_trades(venue, symbol, n_fills)
        self._publish(venue, symbol)
        if _listens(type(agent), "on_response"):  # most do not: no answer is built for them
            answer = venue.answer(symbol, codes)
            self._deliver(agent, "on_response", (action, venue_name, symbol, *args), answer)

    def record_refusal(self, agent, request: tuple, reason, client: int = 0) -> None:
        """A request an agent's own controls stopped before it was sent (a guardrail, a
        broker's check of its client): recorded with its reason like any refused request.
        `request` is a new order's ``("new", venue, symbol, side, qty, price, tif)``
        (recorded with no order id), a cancel's ``("cancel", venue, symbol, order_id)`` or a
        modify's ``("modify", venue, symbol, order_id, qty, price)``."""
        if request[0] == "modify":
            _, venue, symbol, order_id, qty, price = request
            row = (order_id, venue, symbol, 0, "modify", None, price, qty)
        elif request[0] == "cancel":
            _, venue, symbol, order_id = request
            row = (order_id, venue, symbol, 0, "cancel", None, None, None)
        else:
            _, venue, symbol, side, qty, price, tif = request
            row = (
                0,
                venue,
                symbol,
                _side_code(side),
                _order_type(price, tif, None),
                tif,
                price,
                qty,
            )
        self._record_order(agent, *row, "rejected", reason, client)

    def _record_order(
        self,
        agent,
        order_id,
        venue,
        symbol,
        side_code,
        order_type,
        tif,
        price,
        qty,
        status: str,
        reason,
        client: int,
    ) -> None:
        """One row of orders.parquet; values that are not int64 (a bad request's) are null."""
        self.recorder.order(
            self.env.now,
            order_id,
            agent.account,
            venue,
            symbol,
            side_code,
            order_type,
            tif,
            _int64_or_none(price),
            _int64_or_none(qty),
            status,
            _REASON_NAMES[reason],
            client,
        )

    def _record_trades(self, venue: Venue, symbol: str, n: int) -> None:
        """The venue's last request's `n` trades: recorded, counted to both agents, and told
        to those that listen (a `Trade` is built only for them)."""
        agents = self._agents_by_account
        subscribers = self._subscribers.get((venue.name, symbol, "trades"), ())
        for row in venue.trade_rows(n):
            (price, qty, maker_id, taker_id, maker_account, taker_account, aggressor, _,
             maker_fee, taker_fee, maker_client, taker_client) = row  # fmt: skip
            self.events["trades"] += 1
            self.recorder.trade(
                self.env.now,
                venue.name,
                symbol,
                price,
                qty,
                maker_id,
                taker_id,
                maker_account,
                taker_account,
                aggressor,
                maker_client,
                taker_client,
            )
            maker, taker = agents[maker_account], agents[taker_account]
            maker.fills += 1
            maker.fees_paid += maker_fee
            taker.fills += 1
            taker.fees_paid += taker_fee
            maker_hears, taker_hears = (
                _listens(type(maker), "on_fill"),
                _listens(type(taker), "on_fill"),
            )
            if maker_hears or taker_hears or subscribers:
                trade = venue.trade(symbol, row)
                if maker_hears:
                    self._deliver(maker, "on_fill", trade, -aggressor)
                if taker_hears:
                    self._deliver(taker, "on_fill", trade, aggressor)
                for agent in subscribers:
                    self._deliver(agent, "on_trade", trade)

    @functools.cached_property
    def _agents_by_account(self) -> dict:
        return {agent.account: agent for agent in self.model.agents}

    def _deliver(self, agent, hook: str, *args) -> None:
        """An event reaches the agent after its inbound latency, if the agent listens for it
        (overrides the hook); scheduling events nobody hears would only cost time."""
        if not _listens(type(agent), hook):
            return
        self.events["deliveries"] += 1
        env = self.env
        env.call_at(env.now + agent.latency.sample(agent.draws), getattr(agent, hook), *args)

    def subscribe(self, agent, venue: str, symbol: str, channel: str = "l1") -> None:
        if channel not in CHANNELS:
            raise ValueError(f"unknown market-data channel {channel!r}; expected one of {CHANNELS}")
        self._subscribers.setdefault((venue, symbol, channel), []).append(agent)

    def _publish(self, venue: Venue, symbol: str) -> None:
        level1 = venue.level1(symbol)
        if level1 is None:  # not listed there: a refused request, no book to show
            return
        now = self.env.now
        quote = self.market_data.publish(venue.name, symbol, now, level1)
        if quote is None:
            return
        self.events["quotes"] += 1
        self.recorder.quote(now, venue.name, symbol, *level1)
        for agent in self._subscribers.get((venue.name, symbol, "l1"), ()):
            self._deliver(agent, "on_quote", venue.name, symbol, quote)

    # --- the run -------------------------------------------------------------------------

    def _schedule_sessions(self, progress) -> None:
        cal = self.calendar
        interval = int(self.scenario.recording.book_interval_seconds * NS_PER_SECOND)
        for day in range(len(cal.trading_days)):
            open_ns, close_ns = cal.session(day)
            self.call_at(open_ns, self._session_open, day)
            for t in range(open_ns + interval, close_ns, interval):
                self.call_at(t, self._snapshot, progress)
            self.call_at(close_ns, self._session_close, day, progress)
        for shock in self.scenario.shocks:
            open_ns = cal.session(shock.day)[0]
            at = open_ns if shock.at is None else cal.at(shock.day, shock.at)
            self.call_at(at, self._shock, shock)

    def _session_open(self, day: int) -> None:
        self._session = self.calendar.session(day)
        self.ledger.settle_due(self.now)
        for venue in self.venues.values():
            venue.new_day()
        self._publish_valuations(day, self._fair_value_rows(day))
        if day == 0:
            self.model.agents.do("on_start")
        self.model.agents.do("on_session_open", day)

    def _session_close(self, day: int, progress) -> None:
        self.model.agents.do("on_session_close", day)
        self._snapshot(progress)
        if self._collect_at_close:
            gc.collect()

    def _snapshot(self, progress) -> None:
        depth = self.scenario.recording.book_depth
        for name, venue in self.venues.items():
            for symbol in venue.symbols:
                bids, asks = venue.book(symbol).depth(depth)
                self.recorder.book(self.now, name, symbol, bids, asks)
                for agent in self._subscribers.get((name, symbol, "l2"), ()):
                    self._deliver(agent, "on_book", name, symbol, bids, asks)
        if progress is not None:
            progress(self.now, self.calendar.start_ns, self.calendar.end_ns)

    def _shock(self, shock) -> None:
        day = self.calendar.day_index(self.now)
        before = self._fair_value_rows(day)
        self.fundamental.apply_shock(shock, self.now)
        after = self._fair_value_rows(day)
        moved = [symbol for symbol in after if after[symbol] != before[symbol]]
        if moved:  # a valuation agency re-marks what the shock moved
            self._publish_valuations(day, {symbol: after[symbol] for symbol in moved})
        self.model.agents.do("on_shock", shock)

    def _fair_value_rows(self, day: int) -> dict[str, tuple]:
        return {s: self.fundamental.fair_value_row(s, day, self.now) for s in self.instruments}

    def _publish_valuations(self, day: int, rows: dict[str, tuple]) -> None:
        """Publish (and record) fair values, and the curve they come from: every instrument's
        at each open, and those a shock moved when it strikes."""
        for symbol, fair in rows.items():
            self._published[symbol] = fair[0] / self._tick_sizes[symbol]
            self.recorder.fair_value(self.now, symbol, *fair)
        for tenor, rate in self.fundamental.curve_rows(day):
            self.recorder.curve(self.now, tenor, rate)

    def run(self, out: str | Path = "results", progress=None, run_id: str | None = None):
        """Simulate every session, then write `out/<run_id>/` and return its `Result`."""
        from sim.records import summary as run_report
        from sim.records.result import Result, write_run

        started = wallclock.perf_counter()
        self._schedule_sessions(progress)
        # The agents, books and accounts live as long as the run: frozen, the collector's full
        # passes skip them (a tenth of a 10x-agent rmsc04 day went to rescanning them). A host
        # process that froze objects of its own keeps its freeze as it was. The run makes
        # little cyclic garbage (a few thousand objects a day, most from model training), so
        # the collector runs once at each close instead of every few hundred allocations
        # (4% of a 10x-agent day).
        freezing = gc.get_freeze_count() == 0
        if freezing:
            gc.freeze()
        self._collect_at_close = gc.isenabled()
        gc.disable()
        try:
            self.env.run(until=self.calendar.end_ns + 1)
            # Answers and fills still on their way reach their agents, so that what agents
            # report agrees with the ledger; requests can no longer reach a venue after the
            # last close.
            self.env.run()
        finally:
            if self._collect_at_close:
                gc.enable()
            if freezing:
                gc.unfreeze()  # collectable again once the run is over, as in a notebook's loop
        self.model.agents.do("on_run_end")
        self.ledger.settle_due(self.calendar.end_ns)
        frames = self.recorder.take_frames()
        agents = run_report.agents_frame(self)
        instruments = run_report.instruments_frame(self)
        ledger = self.ledger.check()
        metrics = run_report.metrics(self, frames, agents, instruments, ledger)
        run_id = run_id or self.run_id
        manifest = run_report.manifest(self, run_id, wallclock.perf_counter() - started, ledger)
        tables = (frames, agents, instruments, metrics, manifest)
        path = write_run(out, run_id, *tables, overwrite=True)
        return Result.load(path)

    @property
    def run_id(self) -> str:
        return f"{self.scenario.name}-seed{self.seed}-{self.scenario.hash[:8]}"

    def mark(self, symbol: str) -> int:
        """The price (ticks) positions are valued at: the last trade on any venue, else the
        reference price."""
        prices = [v.book(symbol).last_price for v in self.venues.values() if symbol in v.symbols]
        prices = [p for p in prices if p]
        return prices[-1] if prices else self.reference_prices[symbol]


def run(scenario, seed: int | None = None, out: str | Path = "results", progress=None):
    """Run a scenario and return its `Result` (the files are in `result.path`)."""
    return Simulation(scenario, seed).run(out=out, progress=progress)


def _build_fundamental(scenario, calendar, seed: np.random.SeedSequence):
    """The scenario's fundamental process, seeded from its own branch of the run's seeds."""
    from sim import fundamentals

    spec = scenario.fundamentals
    rng = np.random.default_rng(seed)
    if spec.kind == "mean_reverting":
        r_bar = {
            i.symbol: float(spec.r_bar if spec.r_bar is not None else i.reference_price)
            for i in scenario.instruments
        }
        return fundamentals.MeanRevertingFundamental(
            r_bar,
            spec.kappa_per_second,
            spec.sigma_s,
            spec.jump_rate_per_day,
            spec.jump_mean_pct,
            spec.jump_sd_pct,
            rng,
            start_ns=calendar.start_ns,
        )
    from sim.pricing import Bond

    bonds = {
        i.symbol: (Bond(i.issue, i.maturity, i.coupon, i.frequency, i.day_count), i.rating)
        for i in scenario.instruments
    }
    params = fundamentals.BondFactorParams(
        level=spec.short_rate + spec.slope,
        slope=spec.slope,
        level_vol_bp=spec.level_vol_bp_per_day,
        slope_vol_bp=spec.slope_vol_bp_per_day,
        credit_vol_bp=spec.spread_vol_bp_per_day,
        level_kappa_per_year=spec.level_kappa,
        slope_kappa_per_year=spec.slope_kappa,
        downgrade_prob_per_year=spec.downgrade_prob_per_year,
        settlement_lag_days=max(v.settlement_lag_days for v in scenario.venues),
    )
    return fundamentals.BondFundamental(bonds, calendar, params, rng)


@functools.cache
def _listens(cls: type, hook: str) -> bool:
    return getattr(cls, hook) is not getattr(Participant, hook)


def _instrument(spec) -> Instrument:
    return Instrument(spec.symbol, spec.tick_size, spec.lot_size, spec.unit_face_value)


_STATUS_NAMES = {status: status.name.lower() for status in Status}
_REASON_NAMES = {reason: reason.name.lower() for reason in Reason}
_SIDE_CODES = {"buy": 1, "sell": -1, 1: 1, -1: -1}
_TIF_TYPES = {"IOC": "ioc", "FOK": "fok"}


def _side_code(side) -> int:
    """+1, -1, or 0 for what is not a side (the order was refused for it)."""
    if type(side) is int or type(side) is str:  # the common spellings, without parsing
        code = _SIDE_CODES.get(side)
        if code is not None:
            return code
    return int(Side.parse(side) or 0)


def _int64_or_none(value) -> int | None:
    if type(value) is int and -INT64_MAX <= value <= INT64_MAX:
        return value
    return None if value is None else as_int64(value)  # None: a cancel's, cheaply


def _order_type(price, tif, stop_price) -> str:
    if stop_price is not None:
        return "stop" if price is None else "stop_limit"
    if price is None and tif == "GTC":
        return "market"
    return _TIF_TYPES.get(tif, "limit")
