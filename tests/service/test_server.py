"""The exchange service over real HTTP: `bondlab serve` in a subprocess on a loopback port (the
`live` fixture), its REST API called with httpx. A round trip through every route, invalid
requests answered 4xx with their reason, and role isolation between every pair of accounts."""

from __future__ import annotations

import itertools

import pytest

from tests.service.conftest import BOND, KEYS, LIVE_KEYS
from tests.service.live import cash_effect, wait_for_book

ALL_KEYS = {**KEYS, **LIVE_KEYS}
TRADERS = ["asha", "pro", "maker", "carol"]  # the accounts the isolation test trades for
START_CASH = {"carol": 5_000_000 * 100}  # paise
START_UNITS = {"carol": 50}


def post(client, path: str, body: dict, status: int = 200) -> dict:
    answer = client.post(path, json=body)
    assert answer.status_code == status, answer.text
    return answer.json()


def get(client, path: str, status: int = 200, **params) -> dict | list:
    answer = client.get(path, params=params)
    assert answer.status_code == status, answer.text
    return answer.json()


def test_bonds_quote_book_calendar_and_status(live):
    with live.client(KEYS["asha"]) as asha:
        bonds = get(asha, "/api/bonds")
        ids = [b["id"] for b in bonds]
        assert BOND in ids and len(ids) == len(set(ids))
        assert get(asha, f"/api/bonds/{BOND}") == next(b for b in bonds if b["id"] == BOND)
        venue = wait_for_book(asha, BOND)
        quote = get(asha, f"/api/bonds/{BOND}/quote")
        assert quote["bond"] == BOND and venue["venue"] in [v["venue"] for v in quote["venues"]]
        valuation = quote["valuation"]
        names = [c["name"] for c in valuation["components"]]
        assert "rating_spread" in names and "liquidity_premium" in names
        assert valuation["clean"] > 0 and valuation["liquidity"] is not None
        assert "forecast" in quote  # None until the bond has closes to forecast from
        book = get(asha, f"/api/bonds/{BOND}/book", depth=5)
        assert book["bids"] and book["asks"]
        assert max(p for p, _ in book["bids"]) < min(p for p, _ in book["asks"])
        assert all(q > 0 for _, q in book["bids"] + book["asks"])
        other = next(v for v in bonds[0]["venues"] if v != bonds[0]["venues"][0])
        assert get(asha, f"/api/bonds/{bonds[0]['id']}/book", venue=other)["venue"] == other
        days = get(asha, "/api/calendar")["days"]
        assert [d["day"] for d in days] == [0, 1]
        assert all(d["open"] < d["close"] for d in days) and days[0]["close"] < days[1]["open"]
        status = get(asha, "/api/status")
        assert status["scenario"] == "baseline" and not status["closed"]
        assert days[0]["open"] <= status["time"] < days[1]["close"]
        assert status["journal_records"] > 0


def test_orders_of_every_type_cancel_modify_and_a_portfolio_that_reconciles(live):
    """carol trades only here: her portfolio is her endowment plus the fills acknowledged."""
    with live.client(LIVE_KEYS["carol"]) as carol:
        venue = wait_for_book(carol, BOND)
        bid, ask = venue["bid_ticks"], venue["ask_ticks"]
        acknowledged = {}

        def order(status=200, **body):
            answer = post(carol, "/api/orders", {"bond": BOND, **body}, status)
            acknowledged[answer["order_id"]] = answer
            return answer

        bought = order(side="buy", qty=2, type="market")
        assert bought["status"] == "filled" and bought["filled_qty"] == 2
        assert bought["fills"] and all(f["liquidity"] == "taker" for f in bought["fills"])
        sold = order(side="sell", qty=1, type="market")
        assert sold["status"] == "filled" and sold["fills"][0]["side"] == "sell"

        resting = order(side="buy", qty=3, type="limit", price=bid - 150)
        assert resting["status"] == "open" and resting["filled_qty"] == 0
        modified = post(carol, f"/api/orders/{resting['order_id']}/modify",
                        {"price": bid - 160, "qty": 4})  # fmt: skip
        assert modified["modify"] == "none" and modified["status"] == "open"
        assert (modified["price"], modified["qty"]) == (bid - 160, 4)
        portfolio = get(carol, "/api/portfolio")
        assert [o["order_id"] for o in portfolio["open_orders"]] == [resting["order_id"]]
        cancelled = post(carol, f"/api/orders/{resting['order_id']}/cancel", {})
        assert cancelled["status"] == "cancelled" and cancelled["cancel"] == "none"
        again = post(carol, f"/api/orders/{resting['order_id']}/cancel", {})
        assert again["status"] == "cancelled" and again["cancel"] == "unknown_order"

        ioc = order(side="buy", qty=1, type="ioc", price=bid - 150)
        assert ioc["status"] == "cancelled" and ioc["filled_qty"] == 0
        fok = order(side="buy", qty=1, type="fok", price=bid - 150)
        assert fok["status"] in {"rejected", "cancelled"} and fok["filled_qty"] == 0
        crossing = order(side="buy", qty=1, type="ioc", price=ask + 20)
        assert crossing["filled_qty"] == 1
        stop = order(side="buy", qty=1, type="stop", stop_price=ask + 300)
        stop_limit = order(side="sell", qty=1, type="stop_limit", stop_price=bid - 300,
                           price=bid - 310)  # fmt: skip
        for waiting in (stop, stop_limit):
            assert waiting["status"] == "open" and waiting["filled_qty"] == 0
            assert post(carol, f"/api/orders/{waiting['order_id']}/cancel", {})["cancel"] == "none"
        refused = order(side="buy", qty=1_000_000, type="market")
        assert refused["status"] == "rejected" and refused["reason"] == "insufficient_cash"

        fills = []
        for order_id, answer in acknowledged.items():
            now = get(carol, f"/api/orders/{order_id}")
            assert now["account"] == "carol" and now["order_id"] == order_id
            assert now["fills"] == answer["fills"]  # every fill acknowledged, none added
            assert now["status"] in {"filled", "cancelled", "rejected"}
            fills += now["fills"]
        portfolio = get(carol, "/api/portfolio")
        assert portfolio["open_orders"] == []
        assert portfolio["cash_paise"] == START_CASH["carol"] + sum(map(cash_effect, fills))
        assert portfolio["fees_paid_paise"] == sum(f["fee_paise"] for f in fills)
        net = sum(f["qty"] if f["side"] == "buy" else -f["qty"] for f in fills)
        (position,) = [p for p in portfolio["positions"] if p["bond"] == BOND]
        assert position["units"] == START_UNITS["carol"] + net == 52
        assert portfolio["total_value_paise"] == (
            portfolio["cash_paise"] + portfolio["positions_value_paise"]
        )


def test_a_sip_plan_invests_its_first_instalment_at_once(live):
    with live.client(KEYS["asha"]) as asha:
        wait_for_book(asha, BOND)
        plan = post(asha, "/api/portfolio/sip",
                    {"bond": BOND, "amount_rupees": 20_000, "interval_days": 5})  # fmt: skip
        assert plan["account"] == "asha" and plan["symbol"] == BOND and plan["next_day"] == 5
        assert len(plan["orders"]) == 1 and 0 < plan["invested"] <= 20_000 * 100
        first = get(asha, f"/api/orders/{plan['orders'][0]}")
        assert first["order_type"] == "ioc" and first["filled_qty"] > 0
        plans = get(asha, "/api/portfolio/sip")
        assert plan["plan_id"] in [p["plan_id"] for p in plans]


def test_cash_lent_against_bonds_opens_a_repo(live):
    with live.client(KEYS["maker"]) as maker, live.client(KEYS["pro"]) as pro:
        wait_for_book(pro, BOND)
        lend = {"cash_rupees": 200_000, "rate_bp": 650, "haircut_pct": 10, "term_days": 1}
        offer = post(maker, "/api/lending/offers", lend)
        assert offer["lender"] == "maker" and offer["cash"] == 200_000 * 100
        assert offer["offer_id"] in [o["offer_id"] for o in get(pro, "/api/lending/offers")]
        before = get(pro, "/api/portfolio")
        repo = post(pro, "/api/repo/borrow",
                    {"bond": BOND, "units": 10, "offer_id": offer["offer_id"]})  # fmt: skip
        assert (repo["borrower"], repo["lender"], repo["status"]) == ("pro", "maker", "open")
        assert 0 < repo["loan"] <= offer["cash"] and repo["units"] == 10
        after = get(pro, "/api/portfolio")
        assert after["cash_paise"] - before["cash_paise"] == repo["loan"]
        units = {p["bond"]: p["units"] for p in after["positions"]}
        was = {p["bond"]: p["units"] for p in before["positions"]}
        assert units.get(BOND, 0) == was[BOND] - 10
        assert repo["repo_id"] in [r["repo_id"] for r in get(pro, "/api/repo")]
        assert repo["repo_id"] in [r["repo_id"] for r in get(maker, "/api/repo")]
        left = next(o for o in get(pro, "/api/lending/offers") if o["offer_id"] == repo["offer_id"])
        assert left["cash"] == offer["cash"] - repo["loan"]


def test_a_market_maker_sees_its_obligations_and_no_one_else_does(live):
    with live.client(KEYS["maker"]) as maker:
        duties = get(maker, "/api/market-maker/obligations")
        assert duties["account"] == "maker" and duties["tier"] == "gold"
        assert (duties["max_spread_ticks"], duties["min_size"]) == (30, 20)
        assert set(duties["maker_fee_bps"]) == {"NSE", "BSE"}
        for market in duties["markets"]:
            assert 0 <= market["met"] <= market["checks"]
    for name, key in ALL_KEYS.items():
        if name != "maker":
            with live.client(key) as other:
                answer = other.get("/api/market-maker/obligations")
                assert answer.status_code == 403 and answer.json()["detail"], name


MARKET_BUY = {"bond": BOND, "side": "buy", "qty": 1, "type": "market"}
NO_ORDER = "NSE-999999999"
BAD_REQUESTS = [  # (key, method, path, body or raw text, status, a word of the reason)
    ("carol", "post", "/api/orders", "{not json", 422, "JSON"),
    ("carol", "post", "/api/orders", "", 422, "body"),
    ("carol", "post", "/api/orders", {**MARKET_BUY, "bond": "NOPE-2099"}, 404, "no bond"),
    ("carol", "post", "/api/orders", {**MARKET_BUY, "qty": -5}, 422, "greater than 0"),
    ("carol", "post", "/api/orders", {**MARKET_BUY, "qty": 0}, 422, "greater than 0"),
    ("carol", "post", "/api/orders", {**MARKET_BUY, "qty": "many"}, 422, "number"),
    ("carol", "post", "/api/orders", {**MARKET_BUY, "qty": "3"}, 422, "number"),
    ("carol", "post", "/api/orders", {**MARKET_BUY, "qty": True}, 422, "number"),
    ("carol", "post", "/api/orders", {**MARKET_BUY, "qty": 1.5}, 422, "fractional"),
    ("carol", "post", "/api/orders", {**MARKET_BUY, "post_only": "yes"}, 422, "true or false"),
    (
        "carol",
        "post",
        "/api/lending/offers",
        {"cash_rupees": 1, "rate_bp": 1, "haircut_pct": False},
        422,
        "number",
    ),
    ("carol", "post", "/api/orders", {**MARKET_BUY, "side": "hold"}, 422, "side"),
    ("carol", "post", "/api/orders", {**MARKET_BUY, "type": "limit"}, 422, "needs price"),
    ("carol", "post", "/api/orders", {**MARKET_BUY, "price": 9000}, 422, "takes no price"),
    ("carol", "post", "/api/orders", {**MARKET_BUY, "type": "stop"}, 422, "needs stop_price"),
    ("carol", "post", "/api/orders", {**MARKET_BUY, "venue": "LSE"}, 404, "does not list"),
    ("carol", "post", "/api/orders", {**MARKET_BUY, "colour": "red"}, 422, "extra inputs"),
    ("carol", "post", f"/api/orders/{NO_ORDER}/cancel", {}, 404, "no order"),
    ("carol", "post", f"/api/orders/{NO_ORDER}/modify", {"qty": 1}, 404, "no order"),
    ("carol", "get", f"/api/orders/{NO_ORDER}", None, 404, "no order"),
    ("carol", "get", "/api/bonds/NOPE-2099", None, 404, "no bond"),
    ("carol", "get", "/api/bonds/NOPE-2099/quote", None, 404, "no bond"),
    ("carol", "get", f"/api/bonds/{BOND}/book?depth=0", None, 422, "greater than or equal"),
    ("carol", "get", f"/api/bonds/{BOND}/book?venue=LSE", None, 404, "does not list"),
    ("carol", "get", "/api/portfolio?of=asha", None, 404, "no account"),
    ("carol", "post", "/api/portfolio/sip", {"bond": BOND, "amount_rupees": -1}, 422, "greater"),
    (
        "carol",
        "post",
        "/api/lending/offers",
        {"cash_rupees": 10**10, "rate_bp": 500},
        409,
        "exceeds free cash",
    ),
    ("carol", "post", "/api/repo/borrow", {"bond": BOND, "units": 10**6}, 409, "free"),
    (
        "carol",
        "post",
        "/api/repo/borrow",
        {"bond": BOND, "units": 1, "offer_id": 10**9},
        409,
        "no offer",
    ),
    ("sebi", "get", "/api/portfolio", None, 403, "may not trade"),
    (None, "get", "/api/status", None, 401, "API key"),
    (None, "post", "/api/orders", MARKET_BUY, 401, "API key"),
    ("wrong-key-0123456789", "get", "/api/portfolio", None, 401, "API key"),
    ("wrong-key-0123456789", "get", "/api/bonds", None, 401, "API key"),
]


@pytest.mark.parametrize(("who", "method", "path", "body", "status", "says"), BAD_REQUESTS)
def test_invalid_requests_get_a_4xx_with_the_reason(live, who, method, path, body, status, says):
    with live.client(ALL_KEYS.get(who, who)) as client:
        if isinstance(body, str):
            answer = client.request(method, path, content=body,
                                    headers={"Content-Type": "application/json"})  # fmt: skip
        else:
            answer = client.request(method, path, json=body)
    assert answer.status_code == status, answer.text
    assert says.lower() in str(answer.json()["detail"]).lower()


def test_a_key_never_reaches_another_accounts_orders_portfolio_or_fills(live):
    """Each trading account places a filled order and a resting one; for every ordered pair
    of accounts, the one's key finds nothing of the other's: not its orders (read, cancel,
    modify), not its portfolio, fills, repos or plans. The regulator reads them all and
    trades nothing."""
    clients = {name: live.client(ALL_KEYS[name]) for name in [*TRADERS, "sebi"]}
    try:
        venue = wait_for_book(clients["asha"], BOND)
        own: dict[str, list[str]] = {}
        for name in TRADERS:
            filled = post(clients[name], "/api/orders",
                          {"bond": BOND, "side": "buy", "qty": 1, "type": "market"})  # fmt: skip
            resting = post(clients[name], "/api/orders", {"bond": BOND, "side": "buy", "qty": 1,
                           "type": "limit", "price": venue["bid_ticks"] - 200})  # fmt: skip
            refused = post(clients[name], "/api/orders", {"bond": BOND, "side": "buy",
                           "qty": 10**8, "type": "market"})  # fmt: skip
            assert filled["fills"] and resting["status"] == "open"
            assert refused["status"] == "rejected"
            own[name] = [filled["order_id"], resting["order_id"], refused["order_id"]]
        for a, b in itertools.permutations(TRADERS, 2):
            mine, theirs = clients[a], own[b]
            for order_id in theirs:
                seen = mine.get(f"/api/orders/{order_id}")
                assert seen.status_code == 404, (a, b, order_id, seen.text)
                for action, body in (("cancel", {}), ("modify", {"qty": 2})):
                    answer = mine.post(f"/api/orders/{order_id}/{action}", json=body)
                    assert answer.status_code == 404, (a, b, action, answer.text)
            assert mine.get("/api/portfolio", params={"of": b}).status_code == 404
            assert mine.get("/api/accounts").status_code == 403
            assert mine.get("/api/ledger/check").status_code == 403
            portfolio = get(mine, "/api/portfolio")
            assert portfolio["account"] == a
            shown = [o["order_id"] for o in portfolio["open_orders"]]
            assert not set(shown) & set(theirs)
            for order in portfolio["open_orders"]:
                assert all(f["order_id"] == order["order_id"] for f in order["fills"])
            assert all(p["account"] == a for p in get(mine, "/api/portfolio/sip"))
            assert all(a in (r["borrower"], r["lender"]) for r in get(mine, "/api/repo"))
        # each resting order is still open: no other key cancelled or modified it
        for name in TRADERS:
            resting = get(clients[name], f"/api/orders/{own[name][1]}")
            assert resting["status"] == "open" and resting["qty"] == 1
            assert resting["account"] == name
            assert post(clients[name], f"/api/orders/{own[name][1]}/cancel", {})["cancel"] == "none"

        regulator = clients["sebi"]
        for name in TRADERS:
            for order_id in own[name]:
                assert get(regulator, f"/api/orders/{order_id}")["account"] == name
            assert get(regulator, "/api/portfolio", of=name)["account"] == name
        names = {row["name"] for row in get(regulator, "/api/accounts")}
        assert names == set(ALL_KEYS)
        assert get(regulator, "/api/ledger/check")["ok"]
        assert {r["account"] for r in get(regulator, "/api/portfolio/sip")} <= set(ALL_KEYS)
        writes = [
            ("/api/orders", {"bond": BOND, "side": "buy", "qty": 1, "type": "market"}),
            (f"/api/orders/{own['asha'][1]}/cancel", {}),
            (f"/api/orders/{own['asha'][1]}/modify", {"qty": 2}),
            ("/api/portfolio/sip", {"bond": BOND, "amount_rupees": 1_000}),
            ("/api/lending/offers", {"cash_rupees": 1_000, "rate_bp": 500}),
            ("/api/repo/borrow", {"bond": BOND, "units": 1}),
        ]
        journaled = get(regulator, "/api/status")["journal_records"]
        for path, body in writes:
            answer = regulator.post(path, json=body)
            assert answer.status_code == 403 and "does not trade" in answer.json()["detail"]
        assert get(regulator, "/api/status")["journal_records"] >= journaled  # clock steps only
    finally:
        for client in clients.values():
            client.close()
