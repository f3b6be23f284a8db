"""Hand-built runs for the Pulse's tests: records written straight into a `Recorder`, with
numbers chosen so that every figure can be worked out on paper.

The calendar is four trading days from Monday 2024-01-01, sessions 09:15-15:30 (6.25 hours).
Prices are in ticks of 0.01, so 10_000 ticks is a price of 100.00. Accounts: 1 retail, 4 the
SIP pool, 5 the SIP cohort, 6 and 7 market makers.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from sim.records.recorder import Recorder
from sim.records.result import Result

OPEN0 = 1_704_100_500 * 10**9  # Monday 2024-01-01 09:15, in ns
DAY = 86_400 * 10**9
MINUTE = 60 * 10**9
HOUR = 60 * MINUTE
SESSION = 375 * MINUTE
OPENS = tuple(OPEN0 + d * DAY for d in range(4))  # Mon-Thu, no holiday
CALENDAR = {"start": "2024-01-01", "days": 4, "open": "09:15", "close": "15:30", "holidays": []}

INSTRUMENTS = pl.DataFrame(
    {
        "symbol": ["SAFE", "RISKY"],
        "tick_size": ["0.01", "0.01"],
        "unit_face_value": [1000, 1000],
        "issuer": ["SAFECO", "RISKCO"],
        "sector": ["PSU", "NBFC"],
        "rating": ["AAA", "BBB"],
        "maturity": [date(2030, 1, 1), date(2024, 1, 3)],  # RISKY matures on day 2
    }
)
AGENTS = pl.DataFrame(
    {
        "agent": [1, 4, 5, 6, 7],
        "kind": ["retail", "sip_pool", "sip", "market_maker", "market_maker"],
    }
)


def at(day: int, minutes: float = 30) -> int:
    """`minutes` after the open of trading day `day`."""
    return OPENS[day] + round(minutes * MINUTE)


def manifest(shocks=(), seed: int = 1) -> dict:
    return {
        "run_id": "hand",
        "seed": seed,
        "scenario": {"run": {"name": "hand", "seed": seed}, "calendar": CALENDAR,
                     "shocks": list(shocks)},
    }  # fmt: skip


def result(rec: Recorder, *, instruments=INSTRUMENTS, agents=AGENTS, shocks=()) -> Result:
    """A run held in memory from what `rec` recorded."""
    frames = rec.frames()
    return Result.in_memory(
        {**frames, "agents": agents, "instruments": instruments}, {}, manifest(shocks)
    )


def snapshot(rec: Recorder, time: int, instrument: str, bids, asks, venue: str = "NSE") -> None:
    """A book snapshot: `bids` and `asks` are (price, qty) pairs, best first."""
    rec.book(time, venue, instrument, bids, asks)
