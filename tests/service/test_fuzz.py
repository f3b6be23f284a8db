"""The whole API fuzzed from its own OpenAPI schema (Schemathesis) against the real server
(`live`): valid and invalid requests of every operation, with valid keys so that they get past
authentication. Every response stays within its schema, and none is a 5xx.

The schema is the app's own, built when the tests are collected (one pytest test per
operation, spread over the workers) and checked to be the one the live server serves.
Schemathesis's lazy `from_fixture` loader would fetch it from the server instead, but it does
not run under pytest 9 (it reads `request.node._nodeid`, which pytest 9 removed).

The key of each request is one its operation answers to: the regulator's for the reads only
it may make, the market maker's for its obligations, and a professional client's (``fuzz``,
an account of its own) for the rest. A reduced run is part of CI; the slow one generates
many more examples per operation."""

from __future__ import annotations

import json
import zlib

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from sim.service.app import create_app
from sim.service.exchange import ORDER_TYPES
from tests.service.conftest import BOND, KEYS, LIVE_KEYS, LOAD_BOND

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,  # a request outside the schema is answered 4xx
]
VENUES = ["NSE", "BSE"]  # the baseline's, which list every bond
REGULATOR_READS = {"/api/accounts", "/api/ledger/check"}


def key_for(path: str) -> str:
    if path in REGULATOR_READS:
        return KEYS["sebi"]
    if path == "/api/market-maker/obligations":
        return KEYS["maker"]
    return LIVE_KEYS["fuzz"]


# routes only: no exchange is asked; as JSON has it (status codes are strings)
OPENAPI = json.loads(json.dumps(create_app(None, pace=False).openapi()))
schema = schemathesis.openapi.from_dict(OPENAPI)
# The key is the test's to give (`key_for`), not generated: a negated or missing one would be
# overridden, so a case would be counted invalid that is sent valid. Undeclared query
# parameters are ignored, as most APIs do, and not generated either.
schema.config.generation.update(with_security_parameters=False, allow_extra_parameters=False)
FAST = settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
SLOW = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))


class Target:
    """The live server, and what makes a generated case reach past "no such bond or order"
    into the matching engine: a real bond (not one the other tests on the server trade),
    prices near its value as the order's type needs them, and the ids of orders the fuzz has
    placed."""

    def __init__(self, live) -> None:
        self.url = live.url
        with live.client(KEYS["sebi"]) as regulator:
            traded = (BOND, LOAD_BOND)  # by the other tests on the server
            bonds = [b for b in regulator.get("/api/bonds").json() if b["id"] not in traded]
            self.value = {  # each bond's value in ticks
                b["id"]: round(
                    regulator.get(f"/api/bonds/{b['id']}/quote").json()["valuation"]["clean"]
                    / float(b["tick_size"])
                )
                for b in bonds
            }
        self.orders: list[tuple[str, str]] = []  # (order id, bond)

    def near(self, bond: str, ticks: int | None) -> int:
        """A price within a tick or a hundred of the bond's value, as `ticks` picks it."""
        return self.value[bond] + (ticks or 0) % 201 - 100

    def aim(self, case) -> None:
        """In every other valid case, name a real bond (priced near it) or order. The choices
        are drawn from the case itself, so that Hypothesis replays a failing case exactly (it
        seeds `random` the same for every example, which would make them all alike)."""
        meta, body, path = case.meta, case.body, case.path_parameters or {}
        draw = zlib.crc32(repr((case.path, path, case.query, body)).encode())
        if meta is None or not meta.generation.mode.is_positive or draw % 2:
            return
        bonds, venue = list(self.value), VENUES[draw // 2 % len(VENUES)]
        bond = bonds[draw // 4 % len(bonds)]
        if "bond_id" in path:
            path["bond_id"] = bond
        if "order_id" in path and self.orders:
            path["order_id"], bond = self.orders[draw // 64 % len(self.orders)]
        if case.query and case.query.get("venue") is not None:
            case.query["venue"] = venue
        if case.query and case.query.get("of") is not None:
            case.query["of"] = "fuzz"
        if not isinstance(body, dict):
            return
        if "bond" in body:
            body["bond"] = bond
        if body.get("venue") is not None:
            body["venue"] = venue
        if case.path == "/api/orders":
            _, limit, stop = ORDER_TYPES[body.get("type", "limit")]
            body["price"] = self.near(bond, body.get("price")) if limit else None
            body["stop_price"] = self.near(bond, body.get("stop_price")) if stop else None
        elif case.path.endswith("/modify") and body.get("price") is not None:
            body["price"] = self.near(bond, body["price"])

    def call(self, case) -> None:
        self.aim(case)
        headers = {"X-API-Key": key_for(case.path)}
        answer = case.call_and_validate(
            base_url=self.url, headers=headers, checks=CHECKS, timeout=30
        )
        if case.path == "/api/orders" and answer.status_code == 200:
            order = answer.json()
            self.orders.append((order["order_id"], order["symbol"]))


@pytest.fixture(scope="module")
def target(live) -> Target:
    """The live server, once it is known to serve the schema the cases come from."""
    with live.client(None) as anyone:
        assert anyone.get("/openapi.json").json() == OPENAPI
    return Target(live)


@schema.parametrize()
@FAST
def test_every_operation_answers_within_its_schema_and_never_5xx(case, target):
    target.call(case)


@pytest.mark.slow
@schema.parametrize()
@SLOW
def test_every_operation_at_length(case, target):
    target.call(case)
