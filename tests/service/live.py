"""A real `bondlab serve` in a subprocess on a free loopback port, for the service's HTTP-level
tests: started with a journal and an accounts file, ready once `/api/status` answers, and
always stopped (SIGTERM, then SIGKILL) by its owner."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

START_TIMEOUT_S = 90.0  # importing the engines under a loaded CI machine takes a while
SPEED = 30.0  # a 6h15 session lasts 12.5 minutes of wall time: no test outlives day 0


# `bondlab serve`, dying with the test process that started it should that one die first (on
# Linux: PR_SET_PDEATHSIG), so that no server outlives an interrupted run
BOOT = "from sim.cli import main; main()"
if sys.platform == "linux":
    BOOT = "import ctypes; ctypes.CDLL(None).prctl(1, 9); " + BOOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LiveServer:
    """One `bondlab serve baseline` process with `overrides`; `key` is any valid API key (to
    ask it whether it is ready)."""

    def __init__(
        self,
        journal: Path,
        accounts: Path,
        log: Path,
        *,
        overrides: list[str],
        key: str,
        speed: float = SPEED,
    ) -> None:
        self.journal, self.accounts, self.log, self.speed = journal, accounts, log, speed
        self.overrides, self.key = overrides, key
        self.process: subprocess.Popen | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        """Start it and wait until it answers (a port taken meanwhile: another one)."""
        for _ in range(3):
            self.port = free_port()
            overrides = [arg for o in self.overrides for arg in ("--set", o)]
            command = [
                sys.executable, "-c", BOOT, "serve", "baseline",
                "--host", "127.0.0.1", "--port", str(self.port), "--speed", str(self.speed),
                "--journal", str(self.journal), "--accounts", str(self.accounts), *overrides,
            ]  # fmt: skip
            with open(self.log, "ab") as log:
                self.process = subprocess.Popen(
                    command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )  # fmt: skip
            if self._wait_ready():
                return self
            self.kill()
            if "address already in use" not in self.log.read_text(errors="replace").lower():
                break
        raise RuntimeError(f"bondlab serve did not start:\n{self.log.read_text(errors='replace')}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            with contextlib.suppress(httpx.HTTPError):
                answer = httpx.get(
                    f"{self.url}/api/status",
                    headers={"X-API-Key": self.key},
                    timeout=2,
                    trust_env=False,  # loopback: never through a proxy
                )
                if answer.status_code == 200:
                    return True
            time.sleep(0.1)
        return False

    def client(self, key: str | None, **options) -> httpx.Client:
        headers = {} if key is None else {"X-API-Key": key}
        options = {"timeout": 30, "trust_env": False, **options}  # loopback: never a proxy
        return httpx.Client(base_url=self.url, headers=headers, **options)

    def kill(self) -> None:
        """SIGKILL: the process dies at once, mid-write if it was writing."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        """A clean stop (SIGTERM), or a kill if it does not stop in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()


def wait_for_book(client: httpx.Client, bond: str, timeout: float = 60.0) -> dict:
    """The bond's first venue quote once its book has a bid and an ask."""
    deadline = time.monotonic() + timeout
    while True:
        venue = client.get(f"/api/bonds/{bond}/quote").json()["venues"][0]
        if venue["bid_ticks"] is not None and venue["ask_ticks"] is not None:
            return venue
        if time.monotonic() > deadline:
            raise AssertionError(f"{bond} has no two-sided book after {timeout} s: {venue}")
        time.sleep(0.2)


def cash_effect(fill: dict) -> int:
    """Paise a fill moves into its account: a buyer pays notional, accrued and fee, a seller
    receives notional and accrued less its fee."""
    gross = fill["notional_paise"] + fill["accrued_paise"]
    return -gross - fill["fee_paise"] if fill["side"] == "buy" else gross - fill["fee_paise"]
