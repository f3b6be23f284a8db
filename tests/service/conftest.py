"""The exchange service's tests share a reduced baseline (two days, small populations, about a
second of simulation) and four accounts with fixed keys, one of each role."""

from __future__ import annotations

import pytest

import sim
from sim.service.accounts import Accounts, ApiAccount, Role

REDUCED = [
    "calendar.days=2",
    "retail.count=100",
    "sip.investors=100",
    "repo.count=0",
    "ai.count=0",
]
BOND = "PSU1-2030-A"
KEYS = {
    "asha": "retail-key-0123456789",
    "pro": "professional-key-0123456789",
    "maker": "market-maker-key-0123456789",
    "sebi": "regulator-key-0123456789",
}


@pytest.fixture(scope="session")
def scenario():
    return sim.load_scenario("baseline", REDUCED)


@pytest.fixture(scope="session")
def accounts(scenario) -> Accounts:
    symbols = [i.symbol for i in scenario.instruments]
    return Accounts(
        account=(
            ApiAccount(name="asha", role=Role.RETAIL, key=KEYS["asha"], cash_rupees=200_000),
            ApiAccount(name="pro", role=Role.PROFESSIONAL, key=KEYS["pro"],
                       cash_rupees=5_000_000, units={BOND: 100}),
            ApiAccount(name="maker", role=Role.MARKET_MAKER, key=KEYS["maker"],
                       cash_rupees=20_000_000, units=dict.fromkeys(symbols, 500), tier="gold",
                       max_spread_ticks=30, min_size=20),
            ApiAccount(name="sebi", role=Role.REGULATOR, key=KEYS["sebi"]),
        )
    )  # fmt: skip


def account(accounts: Accounts, name: str) -> ApiAccount:
    return next(a for a in accounts.account if a.name == name)
