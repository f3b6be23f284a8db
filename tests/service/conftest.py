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


# --- a real server: `bondlab serve` in a subprocess, over HTTP on loopback -------------------

LOAD_BOND = "INFRA1-2030-A"  # the one the load and kill tests trade on the live servers
LIVE_KEYS = {  # accounts the live server has besides the four above, one per concern
    "carol": "carol-professional-key-0123456789",  # the REST round trip, reconciled
    "dave": "dave-retail-key-0123456789",  # its own fills on its own stream
    "fuzz": "fuzz-professional-key-0123456789",  # the schema fuzz
    **{f"load{i}": f"load-{i}-professional-key-0123456789" for i in range(4)},  # the load test
}


@pytest.fixture(scope="session")
def live_accounts(scenario, accounts) -> Accounts:
    """The four accounts and one account per HTTP-level concern, so that tests sharing a
    server do not trade each other's cash, units or books: `BOND` is the REST and stream
    tests', `LOAD_BOND` the load test's, and the fuzz holds and trades every other bond."""
    others = {i.symbol: 100 for i in scenario.instruments if i.symbol not in (BOND, LOAD_BOND)}
    extra = (
        ApiAccount(name="carol", role=Role.PROFESSIONAL, key=LIVE_KEYS["carol"],
                   cash_rupees=5_000_000, units={BOND: 50}),
        ApiAccount(name="dave", role=Role.RETAIL, key=LIVE_KEYS["dave"], cash_rupees=500_000),
        ApiAccount(name="fuzz", role=Role.PROFESSIONAL, key=LIVE_KEYS["fuzz"],
                   cash_rupees=1_000_000, units=others),
        *(
            ApiAccount(name=f"load{i}", role=Role.PROFESSIONAL, key=LIVE_KEYS[f"load{i}"],
                       cash_rupees=50_000_000, units={LOAD_BOND: 2_000})
            for i in range(4)
        ),
    )  # fmt: skip
    return Accounts(account=(*accounts.account, *extra))


def start_live(folder, accounts: Accounts):
    """A `LiveServer` on `accounts`, its journal, accounts file and log in `folder`."""
    from tests.service.live import LiveServer

    accounts_file = folder / "accounts.toml"
    if not accounts_file.exists():
        accounts_file.write_text(accounts.to_toml(), encoding="utf-8")
    server = LiveServer(folder / "journal", accounts_file, folder / "server.log",
                        overrides=REDUCED, key=KEYS["sebi"])  # fmt: skip
    return server.start()


@pytest.fixture(scope="session")
def live(tmp_path_factory, live_accounts):
    """One real server (uvicorn, journaled) shared by the HTTP-level tests of a worker."""
    folder = tmp_path_factory.mktemp("live")
    server = None
    try:
        server = start_live(folder, live_accounts)
        yield server
    finally:
        if server is not None:
            server.stop()
