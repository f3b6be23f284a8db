"""Nothing acknowledged is lost: a journaled server under load is killed with SIGKILL, then
restarted on the same journal and accounts. Every order it acknowledged is there with at least
the fills it acknowledged, every cancel it acknowledged holds, the replay is reported by
`/api/status`, and the ledger is conserved."""

from __future__ import annotations

import threading
import time

import httpx

from tests.service.conftest import BOND, KEYS, LIVE_KEYS, LOAD_BOND, start_live
from tests.service.live import wait_for_book

LOAD_S = 3.0
TRADERS = ["load0", "load1", "load2"]


def trade(live, name: str, bid: int, ask: int, stop: threading.Event, acked: dict) -> None:
    """Post orders (resting, crossing, at market) and cancels until `stop` or the server
    dies, remembering every answer it acknowledged."""
    orders, cancels = acked["orders"], acked["cancels"]
    n = 0
    with live.client(LIVE_KEYS[name], timeout=10) as client:
        while not stop.is_set():
            n += 1
            kind = n % 4
            if kind == 0:
                body = {"side": "buy", "type": "limit", "price": bid - 50 - n % 40}
            elif kind == 1:
                body = {"side": "sell", "type": "limit", "price": ask + 50 + n % 40}
            elif kind == 2:
                body = {"side": "buy", "type": "market"}
            else:
                body = {"side": "buy", "type": "ioc", "price": ask + 10}
            try:
                answer = client.post(
                    "/api/orders", json={"bond": LOAD_BOND, "qty": 1 + n % 3, **body}
                )
                if answer.status_code != 200:
                    acked["errors"].append((answer.status_code, answer.text))
                    continue
                order = answer.json()
                orders[order["order_id"]] = (name, order)
                if kind == 0 and n % 8 == 0:  # cancel every other resting buy
                    answer = client.post(f"/api/orders/{order['order_id']}/cancel")
                    if answer.status_code == 200:
                        cancels[order["order_id"]] = answer.json()
            except httpx.TransportError:
                return  # killed: what was in flight was never acknowledged


def test_a_server_killed_under_load_restarts_with_every_acknowledged_order(tmp_path, live_accounts):
    first = second = None
    try:
        first = start_live(tmp_path, live_accounts)
        with first.client(LIVE_KEYS["fuzz"]) as fuzz, first.client(KEYS["pro"]) as pro:
            quote = wait_for_book(fuzz, LOAD_BOND)
            # refused requests are journaled and answered with their reason: replayed too
            assert (
                fuzz.post(
                    "/api/lending/offers", json={"cash_rupees": 10**10, "rate_bp": 500}
                ).status_code
                == 409
            )
            offer = fuzz.post("/api/lending/offers", json={"cash_rupees": 100_000, "rate_bp": 500})
            assert offer.status_code == 200
            repo = pro.post("/api/repo/borrow", json={"bond": BOND, "units": 5})
            assert repo.status_code == 200
            assert (
                pro.post("/api/repo/borrow", json={"bond": BOND, "units": 10**6}).status_code == 409
            )
        acked = {"orders": {}, "cancels": {}, "errors": []}
        stop = threading.Event()
        threads = [
            threading.Thread(
                target=trade,
                args=(first, name, quote["bid_ticks"], quote["ask_ticks"], stop, acked),
            )
            for name in TRADERS
        ]
        for thread in threads:
            thread.start()
        time.sleep(LOAD_S)
        first.kill()  # SIGKILL, with requests in flight
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        assert not acked["errors"]
        assert len(acked["orders"]) > 20 and acked["cancels"]
        assert any(order["fills"] for _, order in acked["orders"].values())

        second = start_live(tmp_path, live_accounts)
        with second.client(KEYS["sebi"]) as regulator:
            status = regulator.get("/api/status").json()
            assert status["replayed"] >= len(acked["orders"]) + len(acked["cancels"]) + 4
            for order_id, (name, order) in acked["orders"].items():
                answer = regulator.get(f"/api/orders/{order_id}")
                assert answer.status_code == 200, (order_id, answer.text)
                now = answer.json()
                assert now["account"] == name
                assert now["filled_qty"] >= order["filled_qty"]
                assert now["fills"][: len(order["fills"])] == order["fills"]
                if order_id in acked["cancels"]:
                    assert now["status"] == "cancelled"
            repos = regulator.get("/api/repo").json()
            assert [r["repo_id"] for r in repos] == [repo.json()["repo_id"]]
            check = regulator.get("/api/ledger/check").json()
            assert check["ok"], check["problems"]
    finally:
        for server in (first, second):
            if server is not None:
                server.stop()
