"""``[replay]``: a recorded LOBSTER day whose order flow drives one venue's book, for the
scenario's agents to trade against (`sim.engine.replay` plays it).

    [replay]
    message_file = "data/AMZN_2012-06-21_34200000_57600000_message_1.csv"
    orderbook_file = "data/AMZN_2012-06-21_34200000_57600000_orderbook_1.csv"  # optional
    venue = "EXCH"
    symbol = "ABM"
    price_units_per_tick = 100     # LOBSTER prices are dollars x 10,000: a cent a tick
    price_anchor = 2238500         # $223.85 lands on ABM's reference price
    units_per_share = 1

Files are named relative to the scenario file's folder, or absolutely; loading resolves them
to absolute paths (`resolved`), so the scenario says which files it replays wherever it is
read from (data that came from no file resolves against the working directory). Whether they
exist and read as a level-1 LOBSTER day is checked when a run is built, so that a scenario
travels, and validates, without its data (an installed bondlab ships no LOBSTER files). The
orderbook file is optional: with it, the orders resting before the first message are seeded
from its first row; without it, the book starts empty.

Prices keep the recorded book's shape tick for tick and move its level: a recorded price
``p`` (dollars x 10,000) becomes ``reference + (p - price_anchor) / price_units_per_tick``
ticks, where ``reference`` is the instrument's reference price (where its market opens). A
buy's price is rounded down and a sell's up when that is not whole, so that no replayed
order is more aggressive than it was. ``price_anchor`` defaults to the day's first recorded
price, so the replay opens at the reference price. AMZN on 2012-06-21 onto ABM (reference
100.00, tick 0.01) with a cent a tick: $223.85 is 100.00 and $220.62 is 96.77, so relative
moves are 2.24 times the recorded ones (the ratio of the two price levels).

Sizes: each recorded share is ``units_per_share`` units of the instrument (a multiple of its
lot size).
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field

from sim.scenario.config import ConfigModel, Int


class ReplaySpec(ConfigModel):
    """``[replay]``: which recorded day drives which book, and how its prices and sizes map
    onto the instrument (see the module docstring)."""

    message_file: str
    orderbook_file: str | None = None
    venue: str
    symbol: str
    price_units_per_tick: Int = Field(100, ge=1)
    price_anchor: Int | None = Field(None, ge=1)
    units_per_share: Int = Field(1, ge=1, le=1_000_000)

    def resolved(self, folder: str | Path) -> ReplaySpec:
        """This spec with its files as absolute paths, relative ones taken from `folder`."""
        files = {"message_file": self.message_file, "orderbook_file": self.orderbook_file}
        return self.model_copy(
            update={
                name: os.path.abspath(os.path.join(folder, path))
                for name, path in files.items()
                if path is not None
            }
        )
