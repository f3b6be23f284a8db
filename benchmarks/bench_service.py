"""The exchange service under load: orders a second and their latency, with the journal (every
request fsync'd before it is answered) against without it.

`bondlab serve` runs the reduced baseline (two days, small populations, no repo desk or AI
agent) at x30 on loopback; `CLIENTS` threads, each its own account and HTTP connection, post
orders (a resting limit, a crossing IOC, a market order, in turn) for `SECONDS`. Client and
server share the machine's cores, as they would on one host. The two sides are interleaved,
`REPEATS` times each; the table gives medians over the repeats.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from sim.service.accounts import Accounts, ApiAccount, Role

REDUCED = ["calendar.days=2", "retail.count=100", "sip.investors=100", "repo.count=0", "ai.count=0"]
BOND = "INFRA2-2030-A"
CLIENTS = 4
SECONDS = 5.0
REPEATS = 3


def _accounts() -> Accounts:
    return Accounts(
        account=tuple(
            ApiAccount(
                name=f"load{i}",
                role=Role.PROFESSIONAL,
                key=f"load-{i}-key-0123456789",
                cash_rupees=50_000_000,
                units={BOND: 5_000},
            )
            for i in range(CLIENTS)
        )
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(folder: Path, journal: bool) -> tuple[subprocess.Popen, str]:
    accounts = folder / "accounts.toml"
    accounts.write_text(_accounts().to_toml())
    port = _free_port()
    command = [
        sys.executable,
        "-c",
        "from sim.cli import main; main()",
        "serve",
        "baseline",
        "--port",
        str(port),
        "--speed",
        "30",
        "--accounts",
        str(accounts),
        *[arg for o in REDUCED for arg in ("--set", o)],
    ]
    if journal:
        command += ["--journal", str(folder / "journal")]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    key = {"X-API-Key": _accounts().account[0].key}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            quote = httpx.get(f"{url}/api/bonds/{BOND}/quote", headers=key, timeout=2).json()
            if quote["venues"][0]["ask_ticks"] is not None:
                return process, url
        except (httpx.HTTPError, KeyError, ValueError):
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("bondlab serve did not start")


def _load(url: str) -> tuple[float, list[float]]:
    """Orders a second over all clients, and every order's latency (ms)."""
    latencies: list[list[float]] = [[] for _ in range(CLIENTS)]
    quote = httpx.get(
        f"{url}/api/bonds/{BOND}/quote", headers={"X-API-Key": _accounts().account[0].key}
    ).json()["venues"][0]
    bid, ask = quote["bid_ticks"], quote["ask_ticks"]
    stop = time.monotonic() + SECONDS

    def client(i: int) -> None:
        bodies = [
            {"side": "buy", "type": "limit", "price": bid - 30},
            {"side": "buy", "type": "ioc", "price": ask + 5},
            {"side": "sell", "type": "market"},
        ]
        key = {"X-API-Key": _accounts().account[i].key}
        with httpx.Client(base_url=url, headers=key, timeout=30) as http:
            n = 0
            while time.monotonic() < stop:
                started = time.perf_counter()
                http.post("/api/orders", json={"bond": BOND, "qty": 1, **bodies[n % 3]})
                latencies[i].append((time.perf_counter() - started) * 1e3)
                n += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [x for part in latencies for x in part]
    return len(every) / SECONDS, every


def run() -> str:
    figures: dict[bool, list[tuple[float, float, float]]] = {True: [], False: []}
    for _ in range(REPEATS):
        for journal in (True, False):  # interleaved
            with tempfile.TemporaryDirectory() as scratch:
                process, url = _serve(Path(scratch), journal)
                try:
                    rate, latencies = _load(url)
                finally:
                    process.terminate()
                    process.wait(timeout=30)
            cuts = statistics.quantiles(latencies, n=100)
            figures[journal].append((rate, cuts[49], cuts[98]))
    rows = []
    for journal in (True, False):
        rate, p50, p99 = (statistics.median(col) for col in zip(*figures[journal], strict=True))
        rows.append(f"| {'on' if journal else 'off'} | {rate:,.0f} | {p50:.1f} | {p99:.1f} |")
    on, off = (statistics.median(r for r, _, _ in figures[j]) for j in (True, False))
    return "\n".join(
        [
            "## The exchange service under load",
            "",
            f"`bondlab serve` (reduced baseline at x30) on loopback, {CLIENTS} client threads "
            f"each posting orders for {SECONDS:.0f} s (a resting limit, a crossing IOC, a market "
            f"order in turn), client and server on the same {os.cpu_count()} cores; journal on and "
            f"off "
            f"interleaved, medians of {REPEATS} (`benchmarks/bench_service.py`).",
            "",
            "| journal | orders/s | p50 latency (ms) | p99 latency (ms) |",
            "|---|---:|---:|---:|",
            *rows,
            "",
            f"The journal (an fsync before each answer) costs {1 - on / off:.0%} of the "
            "throughput.",
        ]
    )
