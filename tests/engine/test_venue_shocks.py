"""The shocks the venues and the records apply: a venue halt, new circuit-breaker settings and
an FX move, each on a small two-venue, two-bond scenario, with hand-worked times and ticks.

Both bonds are listed at 100.00 (10_000 ticks of 0.01); the fundamental does not move
(sigma_s = 0), so each venue's band is centred on 10_000 ticks all run long. Sessions are
09:30-10:30. Without agents, the tests send orders to the venues themselves, from accounts of
their own, at the simulated time the clock has reached.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from sim.engine.build import trading_calendar
from sim.engine.kernel import Simulation, run
from sim.market.orders import Reason, Status
from sim.scenario.model import load_scenario
from sim.units import NS_PER_MINUTE

SCENARIO = """
[run]
name = "venue_shocks"
seed = 1

[calendar]
start = 2024-01-02
days = {days}
open = "09:30"
close = "10:30"

[[instruments]]
symbol = "ABM"
tick_size = "0.01"
unit_face_value = 100
reference_price = "100.00"

[[instruments]]
symbol = "XYZ"
tick_size = "0.01"
unit_face_value = 100
reference_price = "100.00"

[[venues]]
name = "EXCH"
settlement_lag_days = 0
{exch_band}
[[venues]]
name = "ALT"
settlement_lag_days = 0
[venues.price_band]
limit_pct = 10
halt_pct = 5
halt_minutes = 15

[fundamentals]
kind = "mean_reverting"
sigma_s = 0

[recording]
book_interval_seconds = 60
{shocks}
"""

AGENTS = """
[retail]
count = 30
arrivals_per_day = 10
cash_rupees = 100_000
units = 100

[value]
count = 4
arrival_interval_seconds = 60
observation_noise = 20
units = 200

[market_maker]
count = 1
quote_size = 20
units = 2000
requote_seconds = 5
"""

PAR = 10_000  # ticks: both bonds' reference price
BUYER, SELLER = 10_001, 10_002  # the tests' own accounts


def scenario(tmp_path, shocks: str, days: int = 1, agents: str = "", exch_band: str = ""):
    path = tmp_path / "venue_shocks.toml"
    text = SCENARIO.format(days=days, exch_band=exch_band, shocks=shocks) + agents
    path.write_text(text)
    return load_scenario(path)


def simulation(tmp_path, shocks: str, **kwargs) -> Simulation:
    """A simulation without agents whose sessions are scheduled, the tests' two accounts
    admitted to both venues."""
    sim = Simulation(scenario(tmp_path, shocks, **kwargs), seed=1)
    sim._schedule_sessions(None)
    sim.ledger.open_account(BUYER, cash=10**10)
    sim.ledger.open_account(SELLER, units={"ABM": 1_000, "XYZ": 1_000})
    for venue in sim.venues.values():
        venue.register(BUYER)
        venue.register(SELLER)
    return sim


def at(calendar, day: int, clock: str) -> int:
    """The time (ns) of `clock` ("HH:MM") on trading day `day`."""
    return calendar.at(day, datetime.strptime(clock, "%H:%M").time())


def advance(sim: Simulation, t: int) -> int:
    """Run the clock to `t` (events at `t` included) and give the time."""
    sim.clock.run(until=t + 1)
    return t


def send(sim: Simulation, venue: str, symbol: str, side: str, price: int, now: int, qty: int = 1):
    account = BUYER if side == "buy" else SELLER
    return sim.venues[venue].submit(account, symbol, side, qty, price, now=now)


def refused(response, reason: Reason) -> bool:
    return response.status is Status.REJECTED and response.reason is reason


# --- venue_halt -----------------------------------------------------------------------------

HALT_ABM = """
[[shocks]]
kind = "venue_halt"
venue = "EXCH"
day = 0
at = "09:40"
minutes = 10
symbols = ["ABM"]
"""


def test_a_halt_refuses_orders_on_its_venue_and_symbols_for_its_minutes_then_trading_resumes(
    tmp_path,
):
    sim = simulation(tmp_path, HALT_ABM)
    exch = sim.venues["EXCH"]
    now = advance(sim, at(sim.calendar, 0, "09:35"))
    resting = send(sim, "EXCH", "ABM", "buy", PAR - 10, now)
    assert resting.status is Status.ACCEPTED

    now = advance(sim, at(sim.calendar, 0, "09:40"))
    until = now + 10 * NS_PER_MINUTE  # 09:50
    assert exch.halted_until("ABM") == until
    assert refused(send(sim, "EXCH", "ABM", "sell", PAR - 10, now), Reason.HALTED)
    modified = exch.modify(BUYER, "ABM", resting.order_id, qty=2, now=now)
    assert refused(modified, Reason.HALTED)
    # The other bond on that venue, and the same bond on the other venue, trade on.
    assert send(sim, "EXCH", "XYZ", "buy", PAR, now).status is Status.ACCEPTED
    assert send(sim, "EXCH", "XYZ", "sell", PAR, now).status is Status.FILLED
    assert send(sim, "ALT", "ABM", "buy", PAR, now).status is Status.ACCEPTED
    assert send(sim, "ALT", "ABM", "sell", PAR, now).status is Status.FILLED

    now = advance(sim, until - 1)
    assert refused(send(sim, "EXCH", "ABM", "sell", PAR - 10, now), Reason.HALTED)
    # The resting bid stayed, and meets the first sell once the halt is over.
    assert [o.order_id for o in exch.open_orders(BUYER) if o.instrument == "ABM"] == [
        resting.order_id
    ]
    now = advance(sim, until)
    filled = send(sim, "EXCH", "ABM", "sell", PAR - 10, now)
    assert filled.status is Status.FILLED and filled.trades[0].maker_order_id == resting.order_id
    assert exch.halted_until("ABM") == 0 and not exch.book("ABM").halted


def test_a_halt_of_every_listing_ends_at_the_close_and_the_next_session_opens_as_usual(
    tmp_path,
):
    shock = '\n[[shocks]]\nkind = "venue_halt"\nvenue = "EXCH"\nday = 0\nat = "10:20"\n'
    sim = simulation(tmp_path, shock + "minutes = 30\n", days=2)
    now = advance(sim, at(sim.calendar, 0, "10:20"))
    close = at(sim.calendar, 0, "10:30")  # 20 of its 30 minutes would fall after it
    exch = sim.venues["EXCH"]
    assert exch.halted_until("ABM") == exch.halted_until("XYZ") == close
    assert sim.venues["ALT"].halted_until("ABM") == 0
    for symbol in ("ABM", "XYZ"):
        assert refused(send(sim, "EXCH", symbol, "buy", PAR, now), Reason.HALTED)
        assert send(sim, "ALT", symbol, "buy", PAR, now).ok
    now = advance(sim, at(sim.calendar, 1, "09:30"))
    for symbol in ("ABM", "XYZ"):
        assert send(sim, "EXCH", symbol, "buy", PAR, now).status is Status.ACCEPTED


def test_a_halt_keeps_the_end_of_a_longer_one_already_running(tmp_path):
    sim = simulation(tmp_path, "")
    alt = sim.venues["ALT"]
    now = advance(sim, at(sim.calendar, 0, "09:35"))
    # A trade at 10_501, beyond ALT's 5% (10_500), halts ABM there for 15 minutes.
    send(sim, "ALT", "ABM", "sell", 10_501, now)
    assert send(sim, "ALT", "ABM", "buy", 10_501, now).status is Status.FILLED
    alt.halt_instruments(now + NS_PER_MINUTE)
    assert alt.halted_until("ABM") == now + 15 * NS_PER_MINUTE
    assert alt.halted_until("XYZ") == now + NS_PER_MINUTE
    assert refused(send(sim, "ALT", "ABM", "buy", PAR, now + 2 * NS_PER_MINUTE), Reason.HALTED)
    assert send(sim, "ALT", "XYZ", "buy", PAR, now + NS_PER_MINUTE).ok


def test_in_a_run_only_the_halted_market_refuses_during_the_halt_and_it_trades_after(tmp_path):
    scn = scenario(tmp_path, HALT_ABM, agents=AGENTS)
    result = run(scn, seed=2, out=None)
    calendar = trading_calendar(scn.calendar)
    begin, end = at(calendar, 0, "09:40"), at(calendar, 0, "09:50")
    orders = result.orders.with_columns(pl.col(pl.Categorical).cast(pl.String))
    during = orders.filter(pl.col("time").is_between(begin, end, closed="left"))
    halted_market = (pl.col("venue") == "EXCH") & (pl.col("instrument") == "ABM")
    sent = during.filter(halted_market & (pl.col("type") != "cancel"))
    assert sent.height > 20
    assert set(sent["reason"]) == {"halted"} and set(sent["status"]) == {"rejected"}
    others = during.filter(~halted_market)
    assert "halted" not in set(others["reason"])
    for venue, symbol in (("EXCH", "XYZ"), ("ALT", "ABM"), ("ALT", "XYZ")):
        market = others.filter((pl.col("venue") == venue) & (pl.col("instrument") == symbol))
        assert (market["status"] != "rejected").sum() > 5, (venue, symbol)
    trades = result.trades.with_columns(pl.col(pl.Categorical).cast(pl.String))
    halted_trades = trades.filter(halted_market)
    assert halted_trades.filter(pl.col("time").is_between(begin, end, closed="left")).is_empty()
    assert halted_trades.filter(pl.col("time") < begin).height > 2
    assert halted_trades.filter(pl.col("time") >= end).height > 2
    # The quotes resting when the halt began stayed in the book through it.
    book = result.book.with_columns(pl.col(pl.Categorical).cast(pl.String))
    during_book = book.filter(halted_market & pl.col("time").is_between(begin, end))
    assert set(during_book["side"]) == {1, -1}


# --- circuit_breaker ------------------------------------------------------------------------

NARROW_BAND = """
[[shocks]]
kind = "circuit_breaker"
venue = "EXCH"
day = 0
at = "09:40"
limit_pct = 2
halt_pct = 1
halt_minutes = 5
"""

WIDE_BAND = "[venues.price_band]\nlimit_pct = 10\nhalt_pct = 5\nhalt_minutes = 15\n"


@pytest.mark.parametrize("exch_band", ["", WIDE_BAND], ids=["no band before", "a wider band"])
def test_new_circuit_breaker_settings_bound_orders_and_halt_at_their_thresholds(
    tmp_path, exch_band
):
    sim = simulation(tmp_path, NARROW_BAND, exch_band=exch_band)
    exch = sim.venues["EXCH"]
    now = advance(sim, at(sim.calendar, 0, "09:35"))
    # 3% above the reference: inside whatever band the venue had.
    early = send(sim, "EXCH", "ABM", "buy", 10_300, now)
    assert early.status is Status.ACCEPTED
    exch.cancel(BUYER, "ABM", early.order_id, now=now)

    now = advance(sim, at(sim.calendar, 0, "09:40"))
    # 2% of 10_000 is 200 ticks: orders may carry 9_800 to 10_200.
    assert exch.price_limits("ABM") == (9_800, 10_200)
    assert refused(send(sim, "EXCH", "ABM", "buy", 10_201, now), Reason.PRICE_BAND)
    assert refused(send(sim, "EXCH", "ABM", "sell", 9_799, now), Reason.PRICE_BAND)
    inside = send(sim, "EXCH", "ABM", "buy", 10_200, now)
    assert inside.status is Status.ACCEPTED
    exch.cancel(BUYER, "ABM", inside.order_id, now=now)
    lowest = send(sim, "EXCH", "ABM", "sell", 9_800, now)
    assert lowest.status is Status.ACCEPTED
    exch.cancel(SELLER, "ABM", lowest.order_id, now=now)

    # 1% is 100 ticks: a trade at 10_100 does not halt, one at 10_101 halts for 5 minutes.
    send(sim, "EXCH", "ABM", "sell", 10_100, now)
    assert send(sim, "EXCH", "ABM", "buy", 10_100, now).status is Status.FILLED
    assert exch.halted_until("ABM") == 0
    now += 1
    send(sim, "EXCH", "ABM", "sell", 10_101, now)
    assert send(sim, "EXCH", "ABM", "buy", 10_101, now).status is Status.FILLED
    assert exch.halted_until("ABM") == now + 5 * NS_PER_MINUTE
    assert exch.breaker_halts == [(now, "ABM", now + 5 * NS_PER_MINUTE)]  # for the records
    assert refused(send(sim, "EXCH", "ABM", "buy", PAR, now + 5 * NS_PER_MINUTE - 1), Reason.HALTED)
    assert send(sim, "EXCH", "ABM", "buy", PAR, now + 5 * NS_PER_MINUTE).ok
    # The band is still centred on the published value, which trades cannot move.
    assert exch.reference_price("ABM") == PAR
    # The other venue keeps its own band: 10% of 10_000.
    assert sim.venues["ALT"].price_limits("ABM") == (9_000, 11_000)


TRIPWIRE = NARROW_BAND.replace("halt_pct = 1", "halt_pct = 0.1")  # 10 ticks from 100.00


def test_in_a_run_every_circuit_breaker_trip_is_a_recorded_halt(tmp_path):
    result = run(scenario(tmp_path, TRIPWIRE, agents=AGENTS), seed=2, out=None)
    halts = result.halts.with_columns(pl.col(pl.Categorical).cast(pl.String))
    trips = halts.filter(pl.col("cause") == "circuit_breaker")
    assert trips.height >= 2 and halts["time"].is_sorted()
    assert set(trips["venue"]) == {"EXCH"}  # ALT's 5% band is never reached
    assert (trips["until"] - trips["time"] == 5 * NS_PER_MINUTE).all()
    trades = result.trades.with_columns(pl.col(pl.Categorical).cast(pl.String))
    orders = result.orders.with_columns(pl.col(pl.Categorical).cast(pl.String))
    for t, venue, symbol, until in trips.select("time", "venue", "instrument", "until").rows():
        market = (pl.col("venue") == venue) & (pl.col("instrument") == symbol)
        # tripped by a trade at that moment beyond 10 ticks of the band's centre, 100.00
        tripping = trades.filter(market & (pl.col("time") == t))
        assert ((tripping["price"] - PAR).abs() > 10).any()
        sent = orders.filter(
            market & pl.col("time").is_between(t + 1, until, closed="left")
            & (pl.col("type") != "cancel")
        )  # fmt: skip
        assert set(sent["reason"]) <= {"halted"}
        assert trades.filter(
            market & pl.col("time").is_between(t + 1, until, closed="left")
        ).is_empty()


# --- fx -------------------------------------------------------------------------------------

FX_SHOCKS = """
[[shocks]]
kind = "fx"
pair = "USDINR"
day = 1
at = "10:00"
size_pct = 10

[[shocks]]
kind = "fx"
pair = "GBPUSD"
day = 1
size_pct = -12
path = {kind = "ramp", days = 4}

[[shocks]]
kind = "fx"
pair = "USDINR"
day = 4
at = "10:15"
size_pct = -50
"""


@pytest.fixture(scope="module")
def fx_runs(tmp_path_factory):
    """(the FX scenario, its run held in memory, the same run saved, a run without the FX
    shocks written to disk), all with one seed."""
    tmp = tmp_path_factory.mktemp("fx")
    scn = scenario(tmp, FX_SHOCKS, days=6, agents=AGENTS)
    in_memory = run(scn, seed=3, out=None)
    calm = run(scenario(tmp, "", days=6, agents=AGENTS), seed=3, out=tmp / "runs")
    return scn, in_memory, in_memory.save(tmp / "saved"), calm


def test_fx_rates_follow_their_shocks_paths_and_compound(fx_runs):
    scn, in_memory, saved, _ = fx_runs
    calendar = trading_calendar(scn.calendar)
    start = calendar.start_ns
    closes = [at(calendar, day, "10:30") for day in range(6)]
    # USDINR: +10% at once on day 1 at 10:00; then halved (x 0.5) on day 4 at 10:15.
    expected_usdinr = [
        (start, 1.0),
        (closes[0], 1.0),
        (at(calendar, 1, "10:00"), 1.1),
        (closes[1], 1.1),
        (closes[2], 1.1),
        (closes[3], 1.1),
        (at(calendar, 4, "10:15"), 0.55),
        (closes[4], 0.55),
        (closes[5], 0.55),
    ]
    # GBPUSD: -12% reached over 4 trading days from day 1's open, 3% a day, flat after.
    expected_gbpusd = [
        (start, 1.0),
        (closes[0], 1.0),
        (at(calendar, 1, "09:30"), 1.0),
        (closes[1], 1.0),
        (closes[2], 0.97),
        (closes[3], 0.94),
        (closes[4], 0.91),
        (closes[5], 0.88),
    ]
    for result in (in_memory, saved):
        rows = result.fx.with_columns(pl.col("pair").cast(pl.String)).rows()
        for pair, expected in (("USDINR", expected_usdinr), ("GBPUSD", expected_gbpusd)):
            got = [(t, rate) for t, name, rate in rows if name == pair]
            assert [t for t, _ in got] == [t for t, _ in expected], pair
            assert [r for _, r in got] == pytest.approx([r for _, r in expected], rel=1e-12), pair
        assert len(rows) == len(expected_usdinr) + len(expected_gbpusd)
    assert "fx.parquet" in saved.manifest["files"]
    schema = {"time": pl.Int64, "pair": pl.Categorical, "rate": pl.Float64}
    assert dict(saved.fx.schema) == schema


def test_an_fx_shock_changes_nothing_but_the_fx_record(fx_runs):
    _, in_memory, _, calm = fx_runs
    assert calm.trades.height > 100
    for name in ("orders", "trades", "quotes", "book", "fair_values", "transfers", "agents"):
        assert in_memory.frame(name).equals(calm.frame(name)), name
    # A run without an FX shock writes no fx file; its `fx` has the frame's columns, no rows.
    assert "fx.parquet" not in calm.manifest["files"]
    assert calm.fx.is_empty() and calm.fx.schema == in_memory.fx.schema
