"""A reduced load test over loopback (`live`): N concurrent clients submit orders for a few
seconds. None is lost or answered 5xx, each client's fills reconcile with its portfolio, and
the ledger is conserved. Throughput and latency are measured and printed (``pytest -s``), never
asserted: a CI machine's speed is not the service's correctness."""

from __future__ import annotations

import statistics
import threading
import time

from tests.service.conftest import KEYS, LIVE_KEYS, LOAD_BOND
from tests.service.live import cash_effect, wait_for_book

CLIENTS = [f"load{i}" for i in range(4)]
LOAD_S = 3.0
START_CASH = 50_000_000 * 100  # paise, as `live_accounts` gives each
START_UNITS = 2_000


def submit(live, name: str, bid: int, ask: int, until: float, out: dict) -> None:
    """Orders as fast as answers come: resting on both sides, crossing, at market."""
    latencies, orders, failures = [], [], []
    n = 0
    with live.client(LIVE_KEYS[name]) as client:
        while time.monotonic() < until:
            n += 1
            body = (
                {"side": "buy", "type": "limit", "price": bid - 20 - n % 30},
                {"side": "sell", "type": "limit", "price": ask + 20 + n % 30},
                {"side": "buy", "type": "ioc", "price": ask + 5},
                {"side": "sell", "type": "market"},
            )[n % 4]
            started = time.perf_counter()
            answer = client.post("/api/orders", json={"bond": LOAD_BOND, "qty": 1 + n % 2, **body})
            latencies.append(time.perf_counter() - started)
            if answer.status_code != 200:
                failures.append((answer.status_code, answer.text))
            else:
                orders.append(answer.json())
    out[name] = (latencies, orders, failures)


def test_concurrent_clients_lose_no_order_and_their_fills_reconcile(live):
    with live.client(KEYS["sebi"]) as regulator:
        quote = wait_for_book(regulator, LOAD_BOND)
        out: dict = {}
        until = time.monotonic() + LOAD_S
        started = time.perf_counter()
        threads = [
            threading.Thread(
                target=submit, args=(live, name, quote["bid_ticks"], quote["ask_ticks"], until, out)
            )
            for name in CLIENTS
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        elapsed = time.perf_counter() - started
        assert set(out) == set(CLIENTS)
        assert [f for _, _, failures in out.values() for f in failures] == []
        latencies = sorted(s for lat, _, _ in out.values() for s in lat)
        submitted = sum(len(orders) for _, orders, _ in out.values())
        assert submitted == len(latencies) > 0

        for name in CLIENTS:
            _, orders, _ = out[name]
            with live.client(LIVE_KEYS[name]) as client:
                for order in client.get("/api/portfolio").json()["open_orders"]:
                    assert client.post(f"/api/orders/{order['order_id']}/cancel").status_code == 200
                fills = []
                for order in orders:  # none lost: each is there, with what it acknowledged
                    answer = client.get(f"/api/orders/{order['order_id']}")
                    assert answer.status_code == 200, answer.text
                    now = answer.json()
                    assert now["fills"][: len(order["fills"])] == order["fills"]
                    fills += now["fills"]
                portfolio = client.get("/api/portfolio").json()
            assert portfolio["open_orders"] == []
            assert portfolio["cash_paise"] == START_CASH + sum(map(cash_effect, fills)), name
            net = sum(f["qty"] if f["side"] == "buy" else -f["qty"] for f in fills)
            units = {p["bond"]: p["units"] for p in portfolio["positions"]}
            assert units.get(LOAD_BOND, 0) == START_UNITS + net, name
        check = regulator.get("/api/ledger/check").json()
        assert check["ok"], check["problems"]

    p50, p99 = (latencies[int(q * (len(latencies) - 1))] * 1e3 for q in (0.5, 0.99))
    print(
        f"\nload: {len(CLIENTS)} clients, {submitted} orders in {elapsed:.2f} s = "
        f"{submitted / elapsed:.0f} orders/s; latency p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
        f"mean {statistics.fmean(latencies) * 1e3:.2f} ms"
    )
