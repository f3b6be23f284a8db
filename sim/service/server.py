"""`bondlab serve`: the exchange service on uvicorn.

    bondlab serve baseline --port 8000 --speed 60 --journal journal/

The accounts come from `--accounts FILE`, else from the journal folder's ``accounts.toml``
(so a restart keeps its keys), else one account of each role is made with fresh keys and
written there (`sim.service.accounts`). With a journal, a restart replays it first
(`sim.service.journal`) and serves on from where the last run stopped.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sim.service.accounts import Accounts, default_accounts, load_accounts

ACCOUNTS_FILE = "accounts.toml"


def resolve_accounts(scenario, accounts: str | Path | None, journal: str | Path | None):
    """The service's accounts and where they came from (a line for the user)."""
    if accounts is not None:
        return load_accounts(accounts), f"accounts from {accounts}"
    kept = None if journal is None else Path(journal) / ACCOUNTS_FILE
    if kept is not None and kept.exists():
        return load_accounts(kept), f"accounts from {kept}"
    made = default_accounts([i.symbol for i in scenario.instruments])
    if kept is None:
        return made, "new accounts (not kept: no --journal)"
    _write_atomically(kept, made.to_toml())
    return made, f"new accounts, written to {kept}"


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, scratch = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.chmod(scratch, 0o600)  # keys: the owner's to read
    os.replace(scratch, path)


def serve(
    scenario,
    accounts: Accounts,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    speed: float = 1.0,
    seed: int | None = None,
    journal: str | Path | None = None,
    announce=print,
) -> None:
    """Build the exchange (replaying `journal`), then serve it until interrupted."""
    import uvicorn

    from sim.service.app import create_app
    from sim.service.exchange import Exchange

    exchange = Exchange(scenario, accounts, seed=seed, journal=journal, speed=speed)
    try:
        status = exchange.status()
        if exchange.replayed:
            time_now = status["time"]
            announce(f"replayed {exchange.replayed} journal records; simulated time {time_now}")
        for account in accounts.account:
            announce(f"  {account.role.value:<13} {account.name:<16} key {account.key}")
        announce(f"serving {status['scenario']} (seed {status['seed']}) at x{speed} on "
                 f"http://{host}:{port} (OpenAPI: /docs)")  # fmt: skip
        config = uvicorn.Config(create_app(exchange), host=host, port=port, log_level="warning",
                                ws="websockets-sansio")  # fmt: skip
        uvicorn.Server(config).run()
    finally:
        exchange.close()
