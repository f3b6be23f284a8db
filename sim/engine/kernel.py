"""The simulation kernel: one run of one scenario with one seed.

A simpy `Environment` keeps an integer-nanosecond clock and a single event queue; a mesa
`Model` is the registry of every agent; venues (with their numba books) and one ledger hold
the market; a fundamental process and the scenario's shocks move value; the recorder keeps
every order, trade and quote. Each job has a module of its own: `sim.engine.build` builds the
market from the scenario, `sim.engine.routing` carries requests to venues and events back,
`sim.engine.information` answers what agents may know of value, `sim.engine.collector` holds
the garbage collector's policy, `sim.engine.replay` plays a recorded day's order flow into a
book (a scenario's ``[replay]``), and `sim.records` turns the finished run into tables. This
module composes them and runs the sessions.

Time is trading time: a wake-up or request that would fall after a session's close carries
its remainder into the next session, so overnight gaps and holidays are skipped.

    sim = Simulation(scenario, seed=1)
    result = sim.run(out="results")      # out=None: an in-memory Result, nothing written
"""

from __future__ import annotations

import time as wallclock
from pathlib import Path

import mesa
import numpy as np

from sim.analytics.attribution import PARTS, attribute, marks, mid_marks
from sim.engine import build
from sim.engine.access import MarketAccess
from sim.engine.cashflows import PayingAgents, unit_paise
from sim.engine.clock import Clock
from sim.engine.collector import RunCollection
from sim.engine.information import Information
from sim.engine.market_data import MarketData
from sim.engine.replay import Replay, build_replay
from sim.engine.routing import Router
from sim.errors import ConfigurationError
from sim.market.fees import Tier
from sim.market.ledger import Ledger, LedgerError
from sim.market.messages import Response
from sim.market.venue import Venue
from sim.pricing.curve_shocks import path_fraction
from sim.records.recorder import Recorder
from sim.records.summary import RunRecord
from sim.scenario.shocks import VENUE_SHOCKS, CircuitBreakerShock, FxShock, VenueHaltShock
from sim.units import NS_PER_MINUTE, NS_PER_SECOND


class Simulation:
    """Everything one run needs, built from a resolved `Scenario`."""

    def __init__(self, scenario, seed: int | None = None) -> None:
        from sim.scenario import ScenarioError
        from sim.scenario.registry import agent_kinds

        self.scenario = scenario
        self.seed = scenario.seed if seed is None else int(seed)
        seeds = np.random.SeedSequence(self.seed)
        # One branch each, so that adding agents never changes the fundamental's path.
        fundamental_seed, model_seed, population_seeds = seeds.spawn(3)
        self.calendar = build.trading_calendar(scenario.calendar)
        self.clock = Clock(initial_time=self.calendar.start_ns)
        self.model = mesa.Model(rng=np.random.default_rng(model_seed))
        self.recorder = Recorder()
        self.ledger = Ledger(journal=self._journal)
        self.market_data = MarketData()
        self.instruments = {i.symbol: build.instrument_of(i) for i in scenario.instruments}
        self.venues: dict[str, Venue] = {}
        venue_latency = {}
        try:
            self.fundamental = build.build_fundamental(scenario, self.calendar, fundamental_seed)
            self.reference_prices = build.reference_prices(
                scenario, self.instruments, self.fundamental, self.calendar
            )
            for spec in scenario.venues:
                self.venues[spec.name], venue_latency[spec.name] = build.build_venue(
                    spec, self.ledger, self.instruments, self.reference_prices, self.calendar
                )
            self.paying_agents = PayingAgents(
                scenario.instruments,
                self.calendar,
                self.ledger,
                max((v.settlement_lag_days for v in scenario.venues), default=0),
                build.defaults_by_symbol(scenario),
            )
        except ValueError as error:
            # What validation could not see alone (a bond maturing inside the run, say).
            raise ScenarioError([f"{scenario.source}: {error}"]) from error
        self.events = {"wakeups": 0, "requests": 0, "trades": 0, "quotes": 0, "deliveries": 0}
        self._session = self.calendar.session(0)
        self._collection: RunCollection | None = None  # while the sessions run
        tick_sizes = {s: float(i.tick_size) for s, i in self.instruments.items()}
        # Valuations are of a trade now: accrued to the settlement date of the slowest venue
        # (the paying agents' lag), as the bond fundamental prices; matured bonds have none.
        self.information = Information(
            self.fundamental,
            tick_sizes,
            scenario.shocks,
            self.recorder,
            self._valuation_accrued,
            self.paying_agents.trades_on,
        )
        self.router = Router(
            clock=self.clock,
            trading_time=self.trading_time,
            end_ns=self.calendar.end_ns,
            venues=self.venues,
            venue_latency=venue_latency,
            recorder=self.recorder,
            market_data=self.market_data,
            agents=lambda: self.model.agents,
            events=self.events,
        )
        # What agents call most, bound once so that the hot paths pay no extra call.
        self.send = self.router.send
        self.subscribe = self.router.subscribe
        self.record_refusal = self.router.record_refusal
        self.published_fair_value = self.information.published_fair_value
        kinds = agent_kinds()
        self.populations: dict[str, list] = {}
        for (name, params), pop_seed in zip(
            scenario.populations.items(),
            population_seeds.spawn(len(scenario.populations)),
            strict=True,
        ):
            try:
                kind = kinds[scenario.kind_of(name)]
                self.populations[name] = list(kind.build(MarketAccess(self), params, pop_seed))
            except ConfigurationError as error:
                # A population whose parameters clash with the rest of the scenario (a bond
                # it does not list, say) is the scenario's error, reported as one line; any
                # other exception from a builder is a bug, and keeps its traceback.
                raise ScenarioError([f"{scenario.source}: {name}: {error}"]) from error
        self.replay = self._build_replay(seeds)

    # --- a recorded day's order flow (sim.engine.replay) ---------------------------------

    def _build_replay(self, seeds: np.random.SeedSequence) -> Replay | None:
        """The participant that plays the scenario's ``[replay]``, if it has one (built after
        the populations, so that their accounts and seeds are the same without it)."""
        from sim.scenario import ScenarioError

        spec = self.scenario.replay
        if spec is None:
            return None
        try:
            return build_replay(
                MarketAccess(self),
                spec,
                self.venues[spec.venue],
                self.reference_prices[spec.symbol],
                self.calendar,
                seeds.spawn(1)[0],
                self.enter_now,
            )
        except ConfigurationError as error:
            raise ScenarioError([f"{self.scenario.source}: {error}"]) from error

    def enter_now(self, agent, action: str, venue: str, symbol: str, args: tuple) -> None:
        """A request of `agent` that reaches `venue` now, without latency: how a recorded
        stream's orders enter the book at their recorded times. It is recorded, answered and
        published as every request is (`action` and `args` as `Router.send` takes them)."""
        self.router.arrive_now(agent, action, venue, symbol, args)

    def answer_now(
        self, agent, action: str, venue: str, symbol: str, args: tuple, options: dict
    ) -> Response:
        """`enter_now` for a service client's request, at the time the service accepts it,
        with the venue's `Response` returned to answer the client with."""
        codes = self.router.arrive_now(agent, action, venue, symbol, args, options)
        return self.venues[venue].answer(symbol, codes)

    # --- accounts ------------------------------------------------------------------------

    def open_account(
        self, agent, cash: int = 0, units: dict[str, int] | None = None, tier: str | None = None
    ) -> None:
        """Give an agent its ledger account and endowment, and admit it to every venue. Called
        by agent builders: an endowment the ledger cannot hold (past its bounds) is the
        scenario's `ConfigurationError`."""
        try:
            self.ledger.open_account(agent.account, cash=cash, units=units or {})
        except LedgerError as error:
            raise ConfigurationError(f"{agent.kind} endowment: {error}") from error
        for venue in self.venues.values():
            venue.register(agent.account, tier=None if tier is None else Tier(tier))

    def _journal(self, kind, source, target, cash, instrument, qty) -> None:
        self.recorder.transfer(self.clock.now, kind, source, target, cash, instrument, qty)

    def deposit(self, agent, amount: int) -> None:
        """Money entering the system into an agent's account (a SIP contribution): it is
        invested capital, not profit, so the agent's PnL is measured net of it."""
        self.ledger.deposit(agent.account, amount)

    def _valuation_accrued(self, day: int) -> dict[str, float]:
        """Each bond's accrued interest per 100 face in the valuations published on `day`."""
        agents = self.paying_agents
        return agents.accrued_per_100(agents.settle_date(day, agents.lag), day)

    def mark(self, symbol: str) -> int:
        """The clean price (ticks) positions are valued at: the published fair value (the
        evaluated price), to the nearest tick."""
        return round(self.information.published_fair_value(symbol))

    def unit_value(self, symbol: str) -> int:
        """Paise one unit is worth at the published valuation: the fair clean price plus the
        accrued interest, each to the paisa (as `sim.analytics.attribution` values positions)."""
        clean, accrued = self.information.valuation(symbol)
        face = self.instruments[symbol].unit_face_value
        return unit_paise(clean, face) + unit_paise(accrued, face)

    def valuation_detail(self, symbol: str):
        """The published valuation's breakdown (`Information.valuation_detail`)."""
        now = self.now
        return self.information.valuation_detail(symbol, self.calendar.day_index(now), now)

    def accrued_interest(self, symbol: str) -> int:
        """Paise of interest accrued on one unit in the published valuation."""
        accrued = self.information.valuation(symbol)[1]
        return unit_paise(accrued, self.instruments[symbol].unit_face_value)

    # --- what agents may know of the scenario -------------------------------------------

    def shock_level(self, kind: type, day: int, size=None) -> float:
        """The level on `day` of the scenario's shocks of class `kind`, each sized by `size`
        (`Information.shock_level`). A shock due later today, at an `at` not reached yet, does
        not count before it strikes."""
        return self.information.shock_level(kind, day, size, self._due_later_today())

    def _due_later_today(self) -> tuple:
        timed = [s for s in self.scenario.shocks if s.at is not None]
        if not timed or self.now < self.calendar.start_ns:
            return ()
        today = self.calendar.day_index(self.now)
        return tuple(s for s in timed if s.day == today and self._shock_time(s) > self.now)

    # --- time ----------------------------------------------------------------------------

    @property
    def now(self) -> int:
        return self.clock.now

    def trading_time(self, t: int) -> int | None:
        """`t` moved past overnight gaps: time beyond a close continues at the next open."""
        open_ns, close_ns = self._session
        if open_ns <= t <= close_ns:  # the common case: within the current session
            return t
        return self.calendar.after_gaps(t)

    def call_at(self, t: int, fn, *args) -> None:
        """Run `fn(*args)` at simulated time `t` (events at one time run in order of booking)."""
        self.clock.call_at(t, fn, *args)

    def wake(self, agent, t: int) -> None:
        open_ns, close_ns = self._session
        when = t if open_ns <= t <= close_ns else self.trading_time(t)  # mostly the former
        if when is not None:
            self.clock.call_at(when, self._wake, agent)

    def _wake(self, agent) -> None:
        self.events["wakeups"] += 1
        agent.on_wake()

    # --- the sessions --------------------------------------------------------------------

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
            self.call_at(self._shock_time(shock), self._shock, shock)
        self._schedule_fx()

    def _session_open(self, day: int) -> None:
        self._session = self.calendar.session(day)
        paying_agents = self.paying_agents
        # Bonds whose trades would now settle on or after maturity stop trading, and their open
        # orders are cancelled, before anything is redeemed.
        for symbol in paying_agents.ending(day):
            for name, venue in self.venues.items():
                if symbol in venue.symbols:
                    self._cancel_for_owners(name, venue.delist(symbol))
        # Coupons and redemptions go to the holders of record before the morning's trades
        # settle; a redeemed bond's last valuation is what its units were paid.
        payments = paying_agents.pay_due(day)
        for payment in payments:
            if payment.kind == "redemption":
                self.information.publish_redemption(
                    self.now, payment.symbol, payment.per_100 - 100.0
                )
        self.ledger.settle_due(self.now)
        self.information.publish(day, self.now, self.information.fair_value_rows(day, self.now))
        # Price bands are centred on the evaluated prices, which trades cannot ratchet.
        for name, venue in self.venues.items():
            settle = paying_agents.settle_date(day, venue.settlement_lag_days)
            references = {s: self.mark(s) for s in venue.symbols if paying_agents.trades_on(s, day)}
            accrued = paying_agents.accrued(settle, day)
            self._cancel_for_owners(name, venue.new_day(accrued, references))
        if day == 0:
            self.model.agents.do("on_start")
        for payment in payments:
            self.model.agents.do("on_payment", payment)
        self.model.agents.do("on_session_open", day)

    def _cancel_for_owners(self, venue: str, orders: list[tuple[int, str, int]]) -> None:
        """The venue cancels these (account, symbol, order id) on their owners' behalf."""
        if orders:
            agents = {a.account: a for a in self.model.agents}
            for account, symbol, order_id in orders:
                self.router.cancel_for(agents[account], venue, symbol, order_id)

    def _session_close(self, day: int, progress) -> None:
        self.model.agents.do("on_session_close", day)
        self._record_accounts()
        self._snapshot(progress)
        if self._collection is not None:
            self._collection.at_close()

    def _record_accounts(self) -> None:
        """Every account's cash and positions now, at the published valuation."""
        record, now, ledger = self.recorder.account, self.now, self.ledger
        for agent in self.model.agents:
            account = ledger.account(agent.account)
            held = {s: account.position(s) for s in {*account.units, *account.pending_units}}
            value = sum(q * self.unit_value(s) for s, q in held.items() if q)
            record(now, agent.account, account.cash + account.pending_cash, value)

    def _snapshot(self, progress) -> None:
        depth = self.scenario.recording.book_depth
        for venue in self.venues.values():
            for symbol in venue.symbols:
                self.router.publish_depth(venue, symbol, depth)
        if progress is not None:
            progress(self.now, self.calendar.start_ns, self.calendar.end_ns)

    def _shock_time(self, shock) -> int:
        """When a shock strikes: at its `at` on its day, else at that day's open."""
        cal = self.calendar
        return cal.session(shock.day)[0] if shock.at is None else cal.at(shock.day, shock.at)

    def _shock(self, shock) -> None:
        moved = self.information.apply_shock(shock, self.calendar.day_index(self.now), self.now)
        for venue in self.venues.values():
            venue.recentre({s: self.mark(s) for s in moved if s in venue.symbols})
        if isinstance(shock, VENUE_SHOCKS):
            self._venue_shock(shock)
        elif isinstance(shock, FxShock):
            self._record_fx((shock.pair,))
        self.model.agents.do("on_shock", shock)

    def _venue_shock(self, shock) -> None:
        """A venue takes new circuit-breaker settings, or halts instruments for some minutes
        of trading time. A halt ends at the close at the latest and the next session opens as
        usual, as an exchange's market-wide circuit breaker halts for the rest of the day."""
        venue = self.venues[shock.venue]
        if isinstance(shock, CircuitBreakerShock):
            venue.set_price_band(build.price_band(shock))
            return
        close_ns = self.calendar.session(shock.day)[1]
        until = min(self.now + round(shock.minutes * NS_PER_MINUTE), close_ns)
        venue.halt_instruments(until, shock.symbols)

    def _schedule_fx(self) -> None:
        """The exchange rates the FX shocks move are recorded at 1.0 at the start, then at
        each close and after each of their shocks (`_record_fx`)."""
        pairs = tuple(dict.fromkeys(s.pair for s in self.scenario.shocks if isinstance(s, FxShock)))
        if not pairs:
            return
        for pair in pairs:
            self.recorder.fx_rate(self.calendar.start_ns, pair, 1.0)
        for day in range(len(self.calendar.trading_days)):
            self.call_at(self.calendar.session(day)[1], self._record_fx, pairs)

    def _record_fx(self, pairs: tuple[str, ...]) -> None:
        """Record the `pairs`' exchange rates now. Each is an index, 1.0 before its first FX
        shock; each shock struck since multiplies it by ``1 + size_pct / 100 x fraction``, the
        fraction its path reached on this trading day (paths run in whole trading days, as
        every shock's). The rates move nothing that agents trade on."""
        day = self.calendar.day_index(self.now)
        rates = dict.fromkeys(pairs, 1.0)
        struck = [
            s
            for s in self.scenario.shocks
            if isinstance(s, FxShock) and s.pair in rates and self._shock_time(s) <= self.now
        ]
        for shock in struck:
            fraction = path_fraction(shock.path, day - shock.day)
            rates[shock.pair] *= 1.0 + shock.size_pct / 100.0 * fraction
        for pair, rate in rates.items():
            self.recorder.fx_rate(self.now, pair, rate)

    # --- the run -------------------------------------------------------------------------

    def start(self, progress=None) -> None:
        """Book the sessions, shocks and snapshots: the run can then be advanced. `run` does
        it; a host that paces the run itself (the exchange service) calls it once."""
        self._schedule_sessions(progress)

    def advance_to(self, t: int) -> None:
        """Process every event due before `t` (ns): the clock then reads `t`. Advancing in
        steps processes the same events in the same order as advancing at once."""
        if t > self.clock.now:
            self.clock.run(until=t)

    def run(self, out: str | Path | None = "results", progress=None, run_id: str | None = None):
        """Simulate every session and return the run's `Result`: written to `out/<run_id>/`
        (atomically, with its Liquidity Pulse: `Result.save`), or held in memory when `out` is
        None."""
        started = wallclock.perf_counter()
        self.start(progress)
        with RunCollection() as self._collection:
            self.advance_to(self.calendar.end_ns + 1)
        self._collection = None
        self.conclude()
        return self._finish(out, run_id or self.run_id, started)

    def conclude(self) -> None:
        """After the last close (`advance_to` past it): answers and fills still on their way
        reach their agents, so that what agents report agrees with the ledger (requests can no
        longer reach a venue), agents hear `on_run_end`, and due trades settle."""
        self.clock.run()
        self.model.agents.do("on_run_end")
        self.ledger.settle_due(self.calendar.end_ns)

    @property
    def run_id(self) -> str:
        return f"{self.scenario.name}-seed{self.seed}-{self.scenario.hash[:8]}"

    def run_record(self, run_id: str, frames: dict) -> RunRecord:
        """The finished run as plain values, for its summary: each agent's PnL at the
        scenario's marks (the published valuation, or the books' mids), with its parts
        (`sim.analytics.attribution`)."""
        population_of = {a.account: name for name, pop in self.populations.items() for a in pop}
        faces = {s: i.unit_face_value for s, i in self.instruments.items()}
        if self.scenario.recording.marks == "mid":
            tick_sizes = {s: float(i.tick_size) for s, i in self.instruments.items()}
            valued = mid_marks(frames["fair_values"], frames["book"], faces, tick_sizes)
        else:
            valued = marks(frames["fair_values"], faces)
        books = attribute(
            frames["trades"],
            frames["transfers"],
            valued,
            tick_values={s: i.tick_value for s, i in self.instruments.items()},
            fees={agent.account: agent.fees_paid for agent in self.model.agents},
        )
        agents = []
        for agent in self.model.agents:
            account = self.ledger.account(agent.account)
            book = books[agent.account]
            agents.append(
                {
                    "agent": agent.account,
                    "kind": agent.kind,
                    "population": population_of.get(agent.account, agent.kind),
                    "cash": account.cash + account.pending_cash,
                    "positions_value": book["positions_value"],
                    "capital": book["capital"],
                    "pnl": book["pnl"],
                    **{f"pnl_{part}": book[part] for part in PARTS},
                    "fees": agent.fees_paid,
                    "orders": agent.orders_sent,
                    "fills": agent.fills,
                    **agent.report(),
                }
            )
        groups: dict[str, dict] = {}
        for name, population in self.populations.items():
            for group, values in _population_metrics(population).items():
                if name != self.scenario.kind_of(name):
                    group = f"{group}/{name}"  # a second population of a kind
                groups.setdefault(group, {}).update(values)
        return RunRecord(
            run_id=run_id,
            scenario=self.scenario,
            seed=self.seed,
            trading_days=len(self.calendar.trading_days),
            venues=len(self.venues),
            instruments=self.instruments,
            reference_prices=self.reference_prices,
            agents=agents,
            population_metrics=groups,
            events=dict(self.events),
            ledger=self.ledger.check(),
        )

    def _finish(self, out: str | Path | None, run_id: str, started: float):
        from sim.records import summary
        from sim.records.result import Result
        from sim.records.store import to_json_ready

        self._record_halts()
        frames = self.recorder.take_frames()
        frames["fair_values"] = self._with_breakdown(frames["fair_values"])
        record = self.run_record(run_id, frames)
        agents = summary.agents_frame(record)
        instruments = summary.instruments_frame(record)
        metrics = summary.metrics(record, frames, agents, instruments)
        manifest = summary.manifest(record, wallclock.perf_counter() - started)
        if self.replay is not None:
            manifest["replay"] = self.replay.record()
        _release_model(self.model)
        tables = {**frames, "agents": agents, "instruments": instruments}
        # as the files would hold them: NaN as None, numpy scalars as Python numbers
        result = Result.in_memory(tables, to_json_ready(metrics), to_json_ready(manifest))
        # Saving adds the Liquidity Pulse of the final frames (pulse.parquet) unless disabled,
        # after the manifest took the run's wall time: the simulation's alone.
        return result if out is None else result.save(out, overwrite=True)

    def _record_halts(self) -> None:
        """The halts the scenario's ``venue_halt`` shocks put in force (as `_venue_shock` does)
        and the venues' circuit breakers tripped, one row per instrument, in time order:
        recorded once the run is over."""
        cal = self.calendar
        halts = []
        for shock in self.scenario.shocks:
            if isinstance(shock, VenueHaltShock):
                start = self._shock_time(shock)
                until = min(start + round(shock.minutes * NS_PER_MINUTE), cal.session(shock.day)[1])
                for symbol in shock.symbols or self.venues[shock.venue].symbols:
                    halts.append((start, shock.venue, symbol, until, shock.kind))
        for name, venue in self.venues.items():
            halts += [(t, name, symbol, until, "circuit_breaker")
                      for t, symbol, until in venue.breaker_halts]  # fmt: skip
        for halt in sorted(halts, key=lambda h: h[:3]):  # stable: a shock's before a trip's
            self.recorder.halt(*halt)

    def _with_breakdown(self, fair_values):
        """`fair_values` with each valuation's breakdown (`sim.records.recorder`'s frame doc):
        the pricing engine keeps its state by day and by shock, so what it published is read
        back now. A row published just before a shock at the same time is the state without
        that shock (`t - 1`); a row the breakdown does not reproduce exactly gets nulls."""
        import polars as pl

        columns: dict[str, list] = {name: [] for name in _BREAKDOWN}
        day_index, detail_of = self.calendar.day_index, self.information.valuation_detail
        rows = fair_values.select("time", "instrument", "fair_clean_price", "fair_yield")
        for t, symbol, clean, fair_yield in rows.iter_rows():
            detail = None
            if fair_yield is not None:  # a redeemed or defaulted bond's has no breakdown
                for when in (t, t - 1):
                    try:
                        found = detail_of(symbol, day_index(t), when)
                    except ValueError:
                        found = None
                    if found is not None and found.clean_price == clean:
                        detail = found
                        break
            parts = {} if detail is None else {c.name: c for c in detail.components}
            columns["risk_free_clean_price"].append(
                None if detail is None else detail.risk_free_clean_price
            )
            for name in _COMPONENTS:
                part = parts.get(name)
                columns[f"{name}_bp"].append(None if part is None else part.spread_bp)
                columns[f"{name}_price"].append(None if part is None else part.price_effect)
        return fair_values.with_columns(
            pl.Series(name, values, dtype=pl.Float64) for name, values in columns.items()
        )


_COMPONENTS = ("rating_spread", "liquidity_premium", "model_adjustment")
_BREAKDOWN = (
    "risk_free_clean_price",
    *(f"{name}_{unit}" for name in _COMPONENTS for unit in ("bp", "price")),
)


def run(scenario, seed: int | None = None, out: str | Path | None = "results", progress=None):
    """Run a scenario and return its `Result`: written to `out/<run_id>/`, or held in memory
    when `out` is None (for backtests and sweeps that keep only metrics)."""
    return Simulation(scenario, seed).run(out=out, progress=progress)


def _population_metrics(agents) -> dict:
    """A population's own metric groups, from the class's `population_metrics` if it has one."""
    if not agents:
        return {}
    summarise = getattr(type(agents[0]), "population_metrics", None)
    return summarise(agents) if summarise else {}


def _release_model(model: mesa.Model) -> None:
    """Let a finished run be freed: mesa 3.3 keeps every model in a class-level table of agent
    ids (`mesa.Agent._ids`, mesa issue #3179, fixed upstream in 3.4, which needs Python 3.12),
    so notebooks and sweeps that run many simulations would otherwise grow."""
    ids = getattr(mesa.Agent, "_ids", None)
    if isinstance(ids, dict):
        ids.pop(model, None)
