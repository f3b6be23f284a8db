"""Scenario files: loading, resolution, hashing, overrides and every error message; the agent
kind registry."""

import json
import pickle
import subprocess
import sys
import tomllib
import typing
from datetime import UTC, date, time
from decimal import Decimal
from importlib.metadata import EntryPoint

import pytest
from pydantic import BaseModel, ConfigDict, Field

from sim.scenario import registry
from sim.scenario.config import apply_override
from sim.scenario.model import (
    DayCount,
    ScenarioError,
    Universe,
    generate_universe,
    load_scenario,
    scenario_from_dict,
)
from sim.scenario.registry import AgentKind, agent_kinds, register, unregister
from sim.scenario.universe import RatingName


class CrowdParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    count: int = Field(1, ge=0)


class PoolParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    count: int = Field(1, ge=0)
    buffer_fraction: float = Field(0.2, ge=0, le=1)


# Names of their own, so that installed agent kinds (entry points) never clash with them.
CROWD = AgentKind("test_crowd", CrowdParams, lambda sim, params, seed: [])
POOL = AgentKind("test_pool", PoolParams, lambda sim, params, seed: [])


@pytest.fixture(autouse=True)
def fake_kinds():
    register(CROWD)
    register(POOL)
    yield
    unregister(CROWD.name)
    unregister(POOL.name)


MINIMAL = """\
[run]
name = "mini"
seed = 3

[calendar]
start = 2024-01-02
days = 5

[[instruments]]
symbol = "NHAI-2030"
reference_price = 101.25

[[venues]]
name = "NSE"
"""

FULL = """\
[run]
name = "full"
seed = 1

[calendar]
start = 2024-01-02
days = 20
open = "09:15"
close = "15:30"
holidays = [2024-01-26]

[[instruments]]
symbol = "NHAI-2030"
tick_size = 0.01
lot_size = 1
unit_face_value = 1000
reference_price = 101.25
issuer = "NHAI"
sector = "Infrastructure"
rating = "AAA"
coupon = 0.0726
issue = 2020-03-15
maturity = 2030-03-15
frequency = 2
day_count = "30/360"

[universe]
count = 12
seed = 7

[[venues]]
name = "NSE"
listings = ["*"]
[venues.fees]
maker_bps = 0
taker_bps = 1
[venues.price_band]
limit_pct = 10
halt_pct = 5

[[venues]]
name = "BSE"
listings = ["NHAI-2030"]
[venues.latency]
base_us = 250
jitter_us = 50

[fundamentals]
kind = "bond"

[[shocks]]
kind = "rates_parallel"
day = 3
at = "11:00"
size_bp = 100
path = [[0, 1.0], [5, 0.0]]

[[shocks]]
kind = "panic"
day = 4
intensity = 0.5

[test_pool]
buffer_fraction = 0.25

[test_crowd]
count = 500
"""


def write(tmp_path, text, name="x.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def problems(tmp_path, text, overrides=()):
    """The lines of the ScenarioError that loading ``text`` raises."""
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write(tmp_path, text), overrides)
    assert str(caught.value) == "\n".join(caught.value.problems)
    return list(caught.value.problems)


def one_problem(tmp_path, text, overrides=()):
    lines = problems(tmp_path, text, overrides)
    assert len(lines) == 1, lines
    return lines[0]


# --- loading -----------------------------------------------------------------------------------


def test_minimal_scenario_loads_with_defaults(tmp_path):
    scn = load_scenario(write(tmp_path, MINIMAL))
    assert (scn.name, scn.seed, scn.source) == ("mini", 3, str(tmp_path / "x.toml"))
    assert scn.calendar.start == date(2024, 1, 2)
    assert (scn.calendar.open, scn.calendar.close) == (time(9, 15), time(15, 30))
    (instrument,) = scn.instruments
    assert instrument.tick_size == Decimal("0.01") and instrument.reference_price == Decimal(
        "101.25"
    )
    assert scn.venues[0].listings == ("NHAI-2030",)  # "*" resolved
    assert scn.fundamentals.kind == "mean_reverting"
    assert (scn.recording.book_interval_seconds, scn.recording.book_depth) == (60, 5)
    assert scn.shocks == () and dict(scn.populations) == {}


def test_full_scenario_resolves_everything(tmp_path):
    scn = load_scenario(write(tmp_path, FULL))
    assert len(scn.instruments) == 13 and scn.instruments[0].symbol == "NHAI-2030"
    assert scn.venues[0].listings == tuple(i.symbol for i in scn.instruments)
    assert scn.venues[1].latency.base_us == 250
    assert [s.kind for s in scn.shocks] == ["rates_parallel", "panic"]
    assert scn.shocks[0].at == time(11, 0) and scn.shocks[1].at is None
    assert scn.shocks[0].path == ((0.0, 1.0), (5.0, 0.0))
    assert list(scn.populations) == ["test_pool", "test_crowd"]  # file order
    assert scn.populations["test_pool"] == PoolParams(buffer_fraction=0.25)
    assert scn.populations["test_crowd"].count == 500


# The defaults the models document in their fields and docstrings, written out: a scenario
# that leaves a field out gets these.
DEFAULT_TABLES = {
    "run": {"name": "mini", "seed": 1},
    "calendar": {
        "start": "2024-01-02",
        "days": 5,
        "open": "09:15",
        "close": "15:30",
        "holidays": [],
    },
    "instruments": [
        {
            "symbol": "NHAI-2030",
            "reference_price": "101.25",
            "tick_size": "0.01",
            "lot_size": 1,
            "unit_face_value": 1000,
        }
    ],
    "venues": [
        {
            "name": "NSE",
            "listings": ["NHAI-2030"],
            "settlement_lag_days": 1,  # T+1
            "market_protection_pct": 5.0,
            "fees": {
                "maker_bps": "0",
                "taker_bps": "1",
                "tiers": {"bronze": "0", "silver": "-0.1", "gold": "-0.2", "platinum": "-0.3"},
            },
            "price_band": {"limit_pct": 10.0, "halt_pct": 5.0, "halt_minutes": 15.0},
            "latency": {"base_us": 100.0, "jitter_us": 0.0},
        }
    ],
    "fundamentals": {  # r_bar: each instrument's reference price
        "kind": "mean_reverting",
        "kappa_per_second": 1.67e-7,
        "sigma_s": 0.0,
        "jump_rate_per_day": 0.0,
        "jump_mean_pct": 0.0,
        "jump_sd_pct": 1.0,
        "observation_noise": 0.0,
    },
    "recording": {"book_interval_seconds": 60, "book_depth": 5, "marks": "fair_value"},
    "shocks": [  # at the open, at full size from the day on; the jump: every symbol
        {"kind": "rates_parallel", "day": 0, "size_bp": 10.0, "path": [[0.0, 1.0]]},
        {
            "kind": "rates_twist",
            "day": 0,
            "short_bp": 10.0,
            "long_bp": -10.0,
            "short_pivot_years": 2.0,
            "long_pivot_years": 10.0,
            "path": [[0.0, 1.0]],
        },
        {
            "kind": "rates_butterfly",
            "day": 0,
            "wings_bp": 10.0,
            "belly_bp": -10.0,
            "short_pivot_years": 2.0,
            "belly_years": 5.0,
            "long_pivot_years": 10.0,
            "path": [[0.0, 1.0]],
        },
        {"kind": "fundamental_jump", "day": 0, "size_pct": -5.0, "path": [[0.0, 1.0]]},
    ],
}

BARE_SHOCKS = """\
[[shocks]]
kind = "rates_parallel"
day = 0
size_bp = 10
[[shocks]]
kind = "rates_twist"
day = 0
short_bp = 10
long_bp = -10
[[shocks]]
kind = "rates_butterfly"
day = 0
wings_bp = 10
belly_bp = -10
[[shocks]]
kind = "fundamental_jump"
day = 0
size_pct = -5
"""


def test_left_out_fields_take_the_documented_defaults(tmp_path):
    text = MINIMAL.replace("seed = 3\n", "") + "[venues.price_band]\n" + BARE_SHOCKS
    assert load_scenario(write(tmp_path, text)).to_dict() == DEFAULT_TABLES


def test_left_out_shock_fields_take_the_documented_defaults(tmp_path):
    bare = [
        {"kind": "spread", "size_bp": 10},
        {"kind": "downgrade", "issuer": "NHAI"},
        {"kind": "default", "issuer": "NHAI"},
        {"kind": "volatility", "multiplier": 2},
        {"kind": "redemption_wave", "hazard_multiplier": 3},
        {"kind": "liquidity_withdrawal", "fraction": 0.5},
        {"kind": "repo_haircut", "add_pct": {"BBB": 10}},
        {"kind": "venue_halt", "venue": "NSE", "minutes": 30},
        {"kind": "fx", "size_pct": 20},
    ]
    text = FULL + "".join(
        "[[shocks]]\nday = 1\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in b.items())
        for b in bare
    ).replace('{"BBB": 10}', "{ BBB = 10 }")
    shocks = load_scenario(write(tmp_path, text)).to_dict()["shocks"][-len(bare) :]
    step = {"day": 1, "path": [[0.0, 1.0]]}
    assert shocks == [  # every rating and sector; the fundamentals' recovery; makers' spreads kept
        {**step, "kind": "spread", "size_bp": 10.0},
        {"day": 1, "kind": "downgrade", "issuer": "NHAI", "notches": 1},
        {**step, "kind": "default", "issuer": "NHAI", "contagion_bp": 0.0},
        {**step, "kind": "volatility", "multiplier": 2.0},
        {**step, "kind": "redemption_wave", "hazard_multiplier": 3.0},
        {
            **step,
            "kind": "liquidity_withdrawal",
            "fraction": 0.5,
            "spread_multiplier": 1.0,
            "lean_bp": 0.0,
        },
        {**step, "kind": "repo_haircut", "add_pct": {"BBB": 10.0}},
        {"day": 1, "kind": "venue_halt", "venue": "NSE", "minutes": 30.0},
        {**step, "kind": "fx", "pair": "USDINR", "size_pct": 20.0},
    ]


def test_bond_fundamentals_defaults(tmp_path):
    assert load_scenario(write(tmp_path, FULL)).to_dict()["fundamentals"] == {
        "kind": "bond",
        "short_rate": 0.065,
        "level_kappa": 0.2,
        "level_vol_bp_per_day": 3.0,
        "slope": 0.01,
        "slope_kappa": 0.3,
        "slope_vol_bp_per_day": 2.0,
        "spread_vol_bp_per_day": 1.5,
        "downgrade_prob_per_year": 0.05,
        "recovery": 0.4,
    }


def test_universe_defaults():
    assert Universe(count=3).model_dump(mode="json") == {
        "count": 3,
        "seed": None,  # run.seed
        "ratings": {"AAA": 0.2, "AA+": 0.2, "AA": 0.2, "A": 0.2, "BBB": 0.2},
        "sectors": ["NBFC", "PSU", "Infrastructure", "Manufacturing"],
        "issuers_per_sector": 2,
        "coupon_range": [0.07, 0.11],
        "maturity_years": [2.0, 10.0],
        "tick_size": "0.01",
        "lot_size": 1,
        "unit_face_value": 1000,
    }


def test_scenario_is_immutable(tmp_path):
    scn = load_scenario(write(tmp_path, FULL))
    with pytest.raises(AttributeError):
        scn.run = None
    with pytest.raises(TypeError):
        scn.populations["test_crowd"] = CrowdParams()
    with pytest.raises(ValueError, match="frozen"):
        scn.calendar.days = 3


def test_scenario_pickles(tmp_path):
    # process pools (sweeps) send scenarios to workers
    scn = load_scenario(write(tmp_path, FULL))
    again = pickle.loads(pickle.dumps(scn))
    assert again == scn and again.to_dict() == scn.to_dict()
    assert again.populations["test_pool"].buffer_fraction == 0.25
    with pytest.raises(TypeError):
        again.populations["test_pool"] = None


# --- the generated universe --------------------------------------------------------------------


def test_universe_is_deterministic_and_resolved(tmp_path):
    a = load_scenario(write(tmp_path, FULL)).instruments[1:]
    b = load_scenario(write(tmp_path, FULL)).instruments[1:]
    assert a == b and len(a) == 12
    start = date(2024, 1, 2)
    for bond in a:
        assert bond.symbol.startswith(f"{bond.issuer}-{bond.maturity.year}-")
        assert bond.sector in ("NBFC", "PSU", "Infrastructure", "Manufacturing")
        assert bond.rating in ("AAA", "AA+", "AA", "A", "BBB")
        assert 0.07 <= bond.coupon <= 0.11 and round(bond.coupon, 4) == bond.coupon
        assert bond.issue <= start < bond.maturity
        assert 2 <= (bond.maturity - start).days / 365.25 <= 10.1
        assert (bond.issue.month, bond.issue.day) == (bond.maturity.month, bond.maturity.day)
        assert (bond.frequency, bond.day_count in ("30/360", "ACT/365F")) == (2, True)
        assert bond.reference_price % bond.tick_size == 0
        assert 97 < bond.reference_price < 103
    assert len({bond.symbol for bond in a}) == 12
    by_issuer = {}
    for bond in a:  # an issuer has one rating
        assert by_issuer.setdefault(bond.issuer, bond.rating) == bond.rating


def test_universe_seed(tmp_path):
    path = write(tmp_path, FULL)
    base = load_scenario(path)
    assert load_scenario(path, ["run.seed=99"]).instruments == base.instruments  # universe.seed
    assert load_scenario(path, ["universe.seed=8"]).instruments != base.instruments
    no_seed = FULL.replace("seed = 7\n", "")
    path = write(tmp_path, no_seed)
    assert load_scenario(path).instruments != load_scenario(path, ["run.seed=2"]).instruments


# Frozen: a seeded universe is part of what a scenario means, so its bonds must not drift. The
# coupons sit in their ratings' bands of [7%, 11%] (AAA 7-8.2%, AA+ 7.7-8.9%, A 9.1-10.3%, BBB
# 9.8-11%), each issue date is whole years before its maturity and on or before the start.
FROZEN_UNIVERSE = [
    "NBFC2-2032-A BBB 0.1016 2023-06-02 2032-06-02 100.18 30/360",
    "INFRA2-2028-A BBB 0.1041 2021-01-02 2028-01-02 100.35 30/360",
    "INFRA1-2034-A AA+ 0.0845 2021-01-02 2034-01-02 99.36 ACT/365F",
    "PSU2-2027-A AA+ 0.0844 2021-09-02 2027-09-02 100.14 30/360",
    "PSU2-2026-A AA+ 0.0826 2023-04-02 2026-04-02 99.73 ACT/365F",
    "MANUF1-2031-A AAA 0.076 2022-02-02 2031-02-02 99.76 ACT/365F",
    "NBFC1-2027-A A 0.0934 2021-07-02 2027-07-02 99.6 ACT/365F",
    "PSU2-2026-B AA+ 0.0789 2022-01-02 2026-01-02 99.94 ACT/365F",
]


def test_a_seeded_universe_is_frozen():
    bonds = generate_universe(Universe(count=8, seed=7), date(2024, 1, 2), run_seed=1)
    assert [
        f"{b.symbol} {b.rating} {b.coupon} {b.issue} {b.maturity} {b.reference_price} {b.day_count}"
        for b in bonds
    ] == FROZEN_UNIVERSE


def test_symbol_letters_go_on_after_z():
    one_year = Universe(
        count=28, seed=7, sectors=("PSU",), issuers_per_sector=1, maturity_years=(2.0, 2.0)
    )
    bonds = generate_universe(one_year, date(2024, 1, 2), run_seed=1)
    assert [b.symbol for b in bonds] == [f"PSU1-2026-{c}" for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"] + [
        "PSU1-2026-AA",
        "PSU1-2026-AB",
    ]
    # issued 1 to 3 whole years before the start, so that the coupon periods are regular
    assert {b.maturity for b in bonds} == {date(2026, 1, 2)}
    assert {b.issue for b in bonds} == {date(2023, 1, 2), date(2022, 1, 2), date(2021, 1, 2)}


def test_universe_dates_of_a_start_late_in_the_month():
    # 31 January plus a month has no 31st: generated dates fall on the 28th
    bonds = generate_universe(Universe(count=20, seed=7), date(2024, 1, 31), run_seed=1)
    assert {(b.issue.day, b.maturity.day) for b in bonds} == {(28, 28)}
    assert all(b.issue <= date(2024, 1, 31) < b.maturity for b in bonds)


@pytest.mark.parametrize("symbol", ["NBFC2-2032-A", "INFRA2-2028-A", "PSU2-2026-B"])
def test_a_generated_symbol_clashing_with_a_listed_one_is_refused(tmp_path, symbol):
    # FULL's universe generates the FROZEN_UNIVERSE bonds first: the first, second and last
    text = FULL.replace('"NHAI-2030"', f'"{symbol}"')
    assert one_problem(tmp_path, text) == (
        f"{tmp_path / 'x.toml'}: universe: generated '{symbol}' clashes with instruments[0]"
    )


def test_coupons_rise_with_credit_risk():
    # risk is the rank among the ratings drawn from: AAA 0, BBB 1; the coupon is
    # low + (high - low) * (0.7 * risk + 0.3 * uniform), so AAA 8-8.6% and BBB 9.4-10%
    two = Universe(count=40, seed=7, ratings={"AAA": 1, "BBB": 1}, coupon_range=(0.08, 0.1))
    bonds = generate_universe(two, date(2024, 1, 2), run_seed=1)
    assert {b.rating for b in bonds} == {"AAA", "BBB"}
    for b in bonds:
        assert (0.08 <= b.coupon <= 0.086) if b.rating == "AAA" else (0.094 <= b.coupon <= 0.1)
    one = Universe(count=10, seed=7, ratings={"BBB": 1}, coupon_range=(0.08, 0.1))
    assert all(0.08 <= b.coupon <= 0.086 for b in generate_universe(one, date(2024, 1, 2), 1))


def test_generated_bonds_take_the_universes_contract():
    universe = Universe(count=10, seed=7, tick_size="0.25", lot_size=10, unit_face_value=100)
    for b in generate_universe(universe, date(2024, 1, 2), run_seed=1):
        assert (b.tick_size, b.lot_size, b.unit_face_value) == (Decimal("0.25"), 10, 100)
        assert b.reference_price % Decimal("0.25") == 0 and 98 < b.reference_price < 102


def test_the_coarsest_tick_prices_generated_bonds_at_par():
    # a tick of 100 per 100 face: par is one tick, the tick nearest 100 +- noise
    coarse = Universe(count=10, seed=7, tick_size=100)
    bonds = generate_universe(coarse, date(2024, 1, 2), run_seed=1)
    assert {b.reference_price for b in bonds} == {Decimal(100)}


def test_generate_universe_directly():
    minimal = {
        "run": {"name": "u"},
        "calendar": {"start": date(2024, 1, 2), "days": 5},
        "venues": [{"name": "NSE"}],
        "universe": {"count": 40},
    }
    resolved = scenario_from_dict(minimal).instruments
    assert generate_universe(Universe(count=40), date(2024, 1, 2), run_seed=1) == resolved
    other = generate_universe(Universe(count=40), date(2024, 1, 2), run_seed=2)
    assert [b.symbol for b in other] != [b.symbol for b in resolved]


# --- hashing and to_dict ---------------------------------------------------------------------


def test_hash_is_stable_and_follows_values(tmp_path):
    path = write(tmp_path, FULL)
    first, second = load_scenario(path), load_scenario(path)
    assert first.hash == second.hash and len(first.hash) == 64
    assert first == second and len({first, second}) == 1
    assert load_scenario(path, ["test_pool.buffer_fraction=0.3"]).hash != first.hash
    assert load_scenario(path, ["calendar.days=19"]).hash != first.hash
    # the same value written differently is the same scenario
    assert load_scenario(path, ["venues.0.fees.taker_bps=1.0"]).hash == first.hash
    assert load_scenario(path, ["instruments.0.tick_size='0.010'"]).hash == first.hash


def test_the_populations_order_is_part_of_the_hash(tmp_path):
    # It sets their seeds and accounts, so a file with them the other way round is another run.
    swapped = FULL.replace("[test_pool]\nbuffer_fraction = 0.25\n", "") + (
        "\n[test_pool]\nbuffer_fraction = 0.25\n"
    )
    first, second = (
        load_scenario(write(tmp_path, FULL)),
        load_scenario(write(tmp_path, swapped, "y.toml")),
    )
    assert list(first.populations) == ["test_pool", "test_crowd"]
    assert list(second.populations) == ["test_crowd", "test_pool"]
    assert first.to_dict() == second.to_dict() and first.hash != second.hash


def test_a_scenario_equals_only_scenarios(tmp_path):
    scn = load_scenario(write(tmp_path, MINIMAL))
    assert (scn == "x") is False and (scn == scn.hash) is False


def test_scenarios_that_differ_are_unequal_either_way_round(tmp_path):
    path = write(tmp_path, MINIMAL)
    one, other = load_scenario(path), load_scenario(path, ["calendar.days=6"])
    assert one != other and other != one


def test_to_dict_is_json_ready_and_round_trips(tmp_path):
    scn = load_scenario(write(tmp_path, FULL))
    data = scn.to_dict()
    again = scenario_from_dict(json.loads(json.dumps(data)), source="manifest")
    assert again == scn and again.to_dict() == data
    assert data["calendar"] == {
        "start": "2024-01-02",
        "days": 20,
        "open": "09:15",
        "close": "15:30",
        "holidays": ["2024-01-26"],
    }
    instrument = data["instruments"][0]
    assert (instrument["tick_size"], instrument["reference_price"]) == ("0.01", "101.25")
    assert instrument["issue"] == "2020-03-15"
    assert data["shocks"][0]["at"] == "11:00" and "at" not in data["shocks"][1]
    assert "universe" not in data and len(data["instruments"]) == 13
    assert data["test_pool"] == {"count": 1, "buffer_fraction": 0.25}


# --- overrides ---------------------------------------------------------------------------------


def test_overrides_apply(tmp_path):
    path = write(tmp_path, FULL)
    scn = load_scenario(
        path,
        [
            "test_pool.buffer_fraction=0.3",
            "calendar.days=5",
            "venues.0.fees.taker_bps=2",
            "calendar.holidays=[2024-01-03, 2024-01-04]",
            "run.name=other",  # a bare string
            'venues.1.listings=["NHAI-2030"]',
            "calendar.open = 10:00",  # a TOML local time
        ],
    )
    assert scn.populations["test_pool"].buffer_fraction == 0.3
    assert scn.calendar.days == 5 and scn.name == "other"
    assert scn.venues[0].fees.taker_bps == Decimal(2)
    assert scn.calendar.holidays == (date(2024, 1, 3), date(2024, 1, 4))
    assert scn.calendar.open == time(10, 0)


def test_override_adds_a_population(tmp_path):
    scn = load_scenario(write(tmp_path, MINIMAL), ["test_pool.buffer_fraction=0.5"])
    assert scn.populations["test_pool"] == PoolParams(buffer_fraction=0.5)


def test_bad_override_is_named(tmp_path):
    line = one_problem(tmp_path, FULL, ["test_pool.bufer_fraction=0.3"])
    assert line == (
        "--set test_pool.bufer_fraction=0.3: test_pool.bufer_fraction: unknown field "
        "(did you mean buffer_fraction?)"
    )
    line = one_problem(tmp_path, FULL, ["venues.0.fees.taker_bps=-1"])
    assert (
        line == "--set venues.0.fees.taker_bps=-1: venues[0].fees.taker_bps: must be >= 0 (got -1)"
    )
    line = one_problem(tmp_path, MINIMAL, ["nobody.count=2"])
    assert line.startswith("--set nobody.count=2: nobody: no agent kind 'nobody' (known: ")


@pytest.mark.parametrize(
    ("doc", "override", "path"),
    [
        ({"a": {"b": {}}}, "a.b.c=1", ("a", "b", "c")),
        ({"a": {}}, "a.b.c=1", ("a", "b")),
        ({}, "a.b.c=1", ("a",)),
        ({"v": [{"n": 1}]}, "v.0.n=2", ("v", 0, "n")),
    ],
)
def test_an_override_answers_for_its_key_or_the_first_table_it_created(doc, override, path):
    assert apply_override(doc, override) == path
    assert doc in ({"a": {"b": {"c": 1}}}, {"v": [{"n": 2}]})


def test_problems_in_a_table_an_override_created_are_the_overrides(tmp_path):
    line = one_problem(tmp_path, MINIMAL, ["universe.seed=4"])
    assert line == "--set universe.seed=4: universe.count: required"


def test_the_last_override_of_a_key_is_blamed(tmp_path):
    line = one_problem(tmp_path, MINIMAL, ["calendar.days=0", "calendar.days=-1"])
    assert line == "--set calendar.days=-1: calendar.days: must be >= 1 (got -1)"


def test_a_problem_an_override_only_revealed_names_the_file(tmp_path):
    line = one_problem(tmp_path, FULL, ["calendar.days=4"])
    assert line == f"{tmp_path / 'x.toml'}: shocks[1].day: must be < calendar.days (4) (got 4)"


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ("test_pool.buffer_fraction", "expected key.path=value"),
        ("=3", "expected key.path=value"),
        ("calendar..days=3", "expected key.path=value"),
        ("venues.x.name=A", "venues is an array: use an index, not 'x'"),
        ("venues.9.name=A", "venues has no index 9 (2 entries)"),
        ("venues.2.name=A", "venues has no index 2 (2 entries)"),
        ("run.name.first=a", "run.name is a value, not a table"),
    ],
)
def test_malformed_overrides(tmp_path, override, reason):
    assert one_problem(tmp_path, FULL, [override]).startswith(f"--set {override}: {reason}")


# --- error messages ------------------------------------------------------------------------------


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ScenarioError, match=r"nope\.toml: no such file$"):
        load_scenario(tmp_path / "nope.toml")
    with pytest.raises(ScenarioError, match=r"is a directory, not a scenario file$"):
        load_scenario(tmp_path)


def test_unreadable_files(tmp_path):
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write(tmp_path, MINIMAL) / "y.toml")
    assert caught.value.problems == (
        f"{tmp_path / 'x.toml' / 'y.toml'}: cannot read (Not a directory)",
    )
    path = tmp_path / "latin.toml"
    path.write_bytes(b'[run]\nname = "\xe9"\n')
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert caught.value.problems == (f"{path}: not UTF-8 text (byte 14)",)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            MINIMAL.replace("days = 5", "days = = 5"),
            "line 7, column 8: invalid TOML (invalid value)",
        ),
        (
            MINIMAL + "[recording",  # tomllib gives no line at the end of the document
            "invalid TOML (expected ']' at the end of a table declaration (at end of document))",
        ),
    ],
)
def test_toml_syntax_errors_name_the_reason_and_where(tmp_path, text, reason):
    assert one_problem(tmp_path, text) == f"{tmp_path / 'x.toml'}: {reason}"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("taker_bps = 1", "taker_bps = -1", "venues[0].fees.taker_bps: must be >= 0 (got -1)"),
        ("days = 20", "dayz = 20", "calendar.dayz: unknown field (did you mean days?)"),
        ("days = 20", "days = 20.5", "calendar.days: must be a valid integer (got 20.5)"),
        ('name = "full"', 'name = "Full Run"', "run.name: must match ^[a-z0-9_-]+$"),
        ('close = "15:30"', 'close = "09:00"', "calendar.close: must be after open (09:15)"),
        ('open = "09:15"', 'open = "9.15"', 'calendar.open: must be a time of day "HH:MM"'),
        ("[test_crowd]", "[test_crowed]", "test_crowed: no agent kind 'test_crowed' (did you"),
        ("count = 500", "cont = 500", "test_crowd.cont: unknown field (did you mean count?)"),
        (
            "unit_face_value = 1000",
            "unit_face_value = 1",
            "instruments[0].tick_size: one tick (0.01 per 100 face) on a unit of 1 rupees face "
            "is 0.01 paise; it must be whole paise",
        ),
        (
            "reference_price = 101.25",
            "reference_price = 101.255",
            "instruments[0].reference_price: must be on the tick grid, a multiple of 0.01 "
            "(got 101.255)",
        ),
        (
            "issue = 2020-03-15",
            "issue = 2030-03-15",
            "instruments[0].maturity: must be after issue (2030-03-15) (got 2030-03-15)",
        ),
        ('rating = "AAA"', 'rating = "AAB"', "instruments[0].rating: must be 'AAA', 'AA+'"),
        ('"30/360"', '"30/365"', "instruments[0].day_count: must be '30/360', '30E/360'"),
        ("frequency = 2", "frequency = 3", "instruments[0].frequency: must be 1, 2 or 4"),
        ("day = 4", "day = 20", "shocks[1].day: must be < calendar.days (20) (got 20)"),
        ('at = "11:00"', 'at = "16:00"', "shocks[0].at: must be within the session 09:15-15:30"),
        ("halt_pct = 5", "halt_pct = 12", "venues[0].price_band.halt_pct: must be <= limit_pct"),
        ("intensity = 0.5", "intensity = 1.5", "shocks[1].intensity: must be <= 1 (got 1.5)"),
        (
            'kind = "panic"',
            'kind = "panik"',
            "shocks[1]: unknown kind 'panik' (expected one of 'rates_parallel', 'rates_twist', "
            "'rates_butterfly', 'spread', 'downgrade', 'default', 'fundamental_jump', "
            "'volatility', 'panic', 'participation', 'redemption_wave', 'liquidity_withdrawal', "
            "'repo_haircut', 'venue_halt', 'circuit_breaker', 'fx')",
        ),
        (
            'kind = "bond"',
            'kind = "bnd"',
            "fundamentals: unknown kind 'bnd' "
            "(expected one of 'mean_reverting', 'bond', 'replay')\n",
        ),
        (
            'kind = "bond"',
            "short_rat = 0.05",
            "fundamentals: needs a kind (one of 'mean_reverting', 'bond', 'replay')\n",
        ),
        ("size_bp = 100", "size_bps = 100", "shocks[0].size_bps: unknown field (did you mean si"),
        ("path = [[0, 1.0], [5, 0.0]]", "path = [[5, 1.0], [0, 0.0]]", "shocks[0].path: day off"),
        (
            'listings = ["NHAI-2030"]',
            'listings = ["NHAI-2031"]',
            "venues[1].listings[0]: unknown instrument 'NHAI-2031' (did you mean NHAI-2030?)",
        ),
        (
            'listings = ["NHAI-2030"]',
            'listings = ["X"]',
            "venues[1].listings[0]: unknown instrument 'X'\n",  # nothing close
        ),
        (
            "intensity = 0.5",
            'intensity = 0.5\n[[shocks]]\nkind = "fundamental_jump"\nday = 0\nsize_pct = 5\n'
            'symbols = ["NHAI-2030", "NHAI-2031"]',
            "shocks[2].symbols[1]: unknown instrument 'NHAI-2031' (did you mean NHAI-2030?)",
        ),
        (
            "[test_pool]",
            '[[instruments]]\nsymbol = "NHAI-2030"\nreference_price = 100\n[test_pool]',
            "instruments[1].symbol: duplicate of instruments[0] ('NHAI-2030')",
        ),
        (
            'open = "09:15"',
            'open = "24:00"',
            "calendar.open: must be a time of day \"HH:MM\" (got '24:00')",
        ),
        (
            'close = "15:30"',
            'close = "23:60"',
            "calendar.close: must be a time of day \"HH:MM\" (got '23:60')",
        ),
        (
            'open = "09:15"',
            "open = 09:15:30",  # a TOML local time
            'calendar.open: must be a time of day "HH:MM" (got datetime.time(9, 15, 30))',
        ),
        (
            'close = "15:30"',
            'close = "09:15"',
            "calendar.close: must be after open (09:15) (got 09:15)",
        ),
        ("day = 4", "day = 21", "shocks[1].day: must be < calendar.days (20) (got 21)"),
        (
            'at = "11:00"',
            'at = "15:30"',
            "shocks[0].at: must be within the session 09:15-15:30 (got 15:30)",
        ),
        (
            'at = "11:00"',
            'at = "09:14"',
            "shocks[0].at: must be within the session 09:15-15:30 (got 09:14)",
        ),
        (
            "path = [[0, 1.0], [5, 0.0]]",
            "path = [[0, 1.0], [0, 0.0]]",
            "shocks[0].path: day offsets must be >= 0 and increasing (got [0.0, 0.0])",
        ),
        (
            "path = [[0, 1.0], [5, 0.0]]",
            "path = [[-1, 1.0]]",
            "shocks[0].path: day offsets must be >= 0 and increasing (got [-1.0])",
        ),
        (
            "maturity = 2030-03-15",
            "maturity = 2024-01-02",
            "instruments[0].maturity: must be after calendar.start (2024-01-02)\n",
        ),
        (
            "seed = 7",
            "ratings = { AAA = 0, BBB = 0 }",
            "universe.ratings: needs a positive weight\n",
        ),
        (
            "seed = 7",
            'sectors = ["Housing Finance", "Housing"]',
            "universe.sectors[1]: needs letters or digits that start a symbol prefix of its own "
            "(got 'Housing', prefix 'HOUSI')",
        ),
        (
            "seed = 7",
            'sectors = ["NBFC", "--"]',
            "universe.sectors[1]: needs letters or digits that start a symbol prefix of its own "
            "(got '--', prefix '')",
        ),
        (
            "seed = 7",
            "coupon_range = [0.1, 0.09]",
            "universe.coupon_range: needs low <= high <= 0.5 (got [0.1, 0.09])",
        ),
        (
            "seed = 7",
            "coupon_range = [0.1, 0.51]",
            "universe.coupon_range: needs low <= high <= 0.5 (got [0.1, 0.51])",
        ),
        (
            "seed = 7",
            "maturity_years = [5, 4]",
            "universe.maturity_years: needs low <= high <= 50 (got [5.0, 4.0])",
        ),
        (
            "seed = 7",
            "maturity_years = [5, 51]",
            "universe.maturity_years: needs low <= high <= 50 (got [5.0, 51.0])",
        ),
        ('name = "BSE"', 'name = "NSE"', "venues[1].name: duplicate venue name 'NSE'"),
        ("count = 12", "count = 0", "universe.count: must be >= 1 (got 0)"),
        ("start = 2024-01-02", "start = 9999-01-04", "calendar.start: must be <= 2200-12-31"),
        ("seed = 7", 'ratings = { AAA = 1, "Z" = 1 }', "universe.ratings.Z: not an allowed key"),
        (
            "maker_bps = 0",
            "tiers = { gold = -2 }",
            "venues[0].fees.tiers.gold: a rebate of 2 bp exceeds taker_bps (1) (got -2)\n",
        ),
        ("days = 20", "days = 20.0", "calendar.days: must be a valid integer (got 20.0)"),
        ("days = 20", "days = true", "calendar.days: must be a valid integer (got True)"),
        ("days = 20", "days = [20]", "calendar.days: must be a valid integer\n"),
        (
            'listings = ["NHAI-2030"]',
            'listings = "NHAI-2030"',
            "venues[1].listings: must be an array (got 'NHAI-2030')",
        ),
        ("[venues.fees]", "fees = 3\n[venues.nope]", "venues[0].fees: must be a table (got 3)"),
        ('issuer = "NHAI"', "", 'instruments[0]: issuer required when fundamentals.kind = "bond"'),
        ("issue = 2020-03-15", "issue = 2024-03-15", "instruments[0].issue: must be on or before"),
    ],
)
def test_error_names_file_field_and_reason(tmp_path, old, new, expected):
    assert old in FULL
    lines = problems(tmp_path, FULL.replace(old, new, 1))
    assert all(line.startswith(f"{tmp_path / 'x.toml'}: ") for line in lines)
    # a reason ending in "\n" is the whole reason
    assert any(f"{line}\n".startswith(f"{tmp_path / 'x.toml'}: {expected}") for line in lines), (
        lines
    )
    assert len(lines) <= 2  # a misspelt field is also a missing one


def test_values_on_the_edges_are_accepted(tmp_path):
    text = (
        FULL.replace('open = "09:15"', "open = 09:15:00")  # a TOML local time
        .replace('close = "15:30"', 'close = "23:59"')
        .replace('at = "11:00"', 'at = "09:15"')  # at the open
        .replace("issue = 2020-03-15", "issue = 2024-01-02")  # on the start
        .replace("maturity = 2030-03-15", "maturity = 2024-01-03")
        .replace("seed = 7", "seed = 7\ncoupon_range = [0.1, 0.1]\nmaturity_years = [50, 50]")
    )
    scn = load_scenario(write(tmp_path, text))
    assert (scn.calendar.open, scn.calendar.close) == (time(9, 15), time(23, 59))
    assert scn.shocks[0].at == time(9, 15)
    listed, *generated = scn.instruments
    assert (listed.issue, listed.maturity) == (date(2024, 1, 2), date(2024, 1, 3))
    assert {(b.coupon, b.maturity) for b in generated} == {(0.1, date(2074, 1, 2))}


@pytest.mark.parametrize(
    "value",
    [time(9, 15, 30), time(9, 15, 0, 1), time(9, 15, tzinfo=UTC), "9:15", "09:15:00"],
)
def test_a_time_of_day_is_hours_and_minutes_only(value):
    data = tomllib.loads(MINIMAL)
    data["calendar"]["open"] = value
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict(data)
    assert caught.value.problems == (
        f'scenario: calendar.open: must be a time of day "HH:MM" (got {value!r})',
    )


@pytest.mark.parametrize(
    ("text", "override", "expected"),
    [
        (
            MINIMAL,
            "fundamentals.sigma_s=inf",
            "fundamentals.sigma_s: must be a finite number (got inf)",
        ),
        (
            MINIMAL,
            "fundamentals.observation_noise=nan",
            "fundamentals.observation_noise: must be a finite number (got nan)",
        ),
        (
            FULL,
            "shocks.1.path=[[0, inf]]",
            "shocks[1].path[0][1]: must be a finite number (got inf)",
        ),
        (
            FULL,
            "shocks.1.path=[[0, -inf]]",
            "shocks[1].path[0][1]: must be a finite number (got -inf)",
        ),
        (
            FULL,
            "shocks.1.path=[[nan, 1]]",
            "shocks[1].path[0][0]: must be a finite number (got nan)",
        ),
        (
            FULL,
            "universe.coupon_range=[0.07, nan]",
            "universe.coupon_range[1]: must be a finite number (got nan)",
        ),
        (
            MINIMAL,
            "instruments.0.reference_price='nan'",
            "instruments[0].reference_price: must be a finite number (got 'nan')",
        ),
    ],
)
def test_inf_and_nan_are_refused(tmp_path, text, override, expected):
    # an override into MINIMAL's [fundamentals] creates the table, which then needs its kind
    setup = ["fundamentals.kind=mean_reverting"] if text is MINIMAL else []
    assert one_problem(tmp_path, text, [*setup, override]) == f"--set {override}: {expected}"


class Leg(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    size: int = 1


class LegsParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    legs: dict[str, Leg] = Field(default_factory=dict)
    ladder: list[Leg] = Field(default_factory=list)


def test_an_unknown_field_under_a_table_or_array_of_tables_gets_a_hint(tmp_path):
    # agent kinds from other packages may use dicts and lists of models
    register(AgentKind("test_legs", LegsParams, lambda sim, params, seed: []))
    try:
        lines = problems(
            tmp_path, MINIMAL + "[test_legs.legs.short]\nsise = 2\n[[test_legs.ladder]]\nsise = 3\n"
        )
    finally:
        unregister("test_legs")
    assert [line.split(": ", 1)[1] for line in lines] == [
        "test_legs.legs.short.sise: unknown field (did you mean size?)",
        "test_legs.ladder[0].sise: unknown field (did you mean size?)",
    ]


def test_an_unknown_field_under_an_optional_table_gets_a_hint(tmp_path):
    line = one_problem(tmp_path, MINIMAL + "[venues.price_band]\nhalt_minute = 15\n")
    assert line.endswith(
        ": venues[0].price_band.halt_minute: unknown field (did you mean halt_minutes?)"
    )


class Circle(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: typing.Literal["circle"] = "circle"
    radius: int = 1


class Square(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: typing.Literal["square"] = "square"
    side: int = 1


class ShapeParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    shape: Circle | Square | None = Field(None, discriminator="kind")


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            "kind = 'triangle'",
            "test_shape.shape: unknown kind 'triangle' (expected one of 'circle', 'square')",
        ),
        ("radius = 2", "test_shape.shape: needs a kind (one of 'circle', 'square')"),
        (
            "kind = 'circle'\nradios = 2",
            "test_shape.shape.radios: unknown field (did you mean radius?)",
        ),
    ],
)
def test_an_optional_tagged_union_gets_the_messages_of_a_required_one(tmp_path, table, expected):
    register(AgentKind("test_shape", ShapeParams, lambda sim, params, seed: []))
    try:
        line = one_problem(tmp_path, MINIMAL + f"[test_shape.shape]\n{table}\n")
    finally:
        unregister("test_shape")
    assert line == f"{tmp_path / 'x.toml'}: {expected}"


def test_unknown_population_lists_known_kinds(tmp_path):
    line = one_problem(tmp_path, MINIMAL + "[foo]\ncount = 1\n")
    assert line.startswith(f"{tmp_path / 'x.toml'}: foo: no agent kind 'foo' (known: ")
    assert "test_crowd" in line and "test_pool" in line


def test_a_second_population_of_a_kind_names_its_kind(tmp_path):
    path = tmp_path / "x.toml"
    crowds = "[test_crowd]\ncount = 2\n[big_crowd]\nkind = 'test_crowd'\ncount = 7\n"
    path.write_text(MINIMAL + crowds)
    scn = load_scenario(path)
    assert list(scn.populations) == ["test_crowd", "big_crowd"]
    assert scn.populations["big_crowd"].count == 7
    assert scn.kind_of("big_crowd") == "test_crowd" and scn.kind_of("test_crowd") == "test_crowd"
    assert scn.to_dict()["big_crowd"] == {"kind": "test_crowd", "count": 7}
    again = scenario_from_dict(scn.to_dict())
    assert again == scn and again.kind_of("big_crowd") == "test_crowd"
    assert pickle.loads(pickle.dumps(scn)).kinds == {"big_crowd": "test_crowd"}


def test_naming_the_kind_of_a_kinds_own_table_changes_nothing(tmp_path):
    plain = tmp_path / "a.toml"
    plain.write_text(MINIMAL + "[test_crowd]\ncount = 2\n")
    explicit = tmp_path / "b.toml"
    explicit.write_text(MINIMAL + "[test_crowd]\nkind = 'test_crowd'\ncount = 2\n")
    assert load_scenario(plain).hash == load_scenario(explicit).hash


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ("[crowd2]\nkind = 'nope'\n", "crowd2.kind: no agent kind 'nope' (known: "),
        ("[crowd2]\nkind = 3\n", "crowd2.kind: no agent kind '3' (known: "),
        (
            "[test_pool]\nkind = 'test_crowd'\n",
            "test_pool.kind: [test_pool] is the test_pool population; a test_crowd population",
        ),
        ("[Crowd2]\nkind = 'test_crowd'\n", "Crowd2: a population name is lower case letters"),
        ("[crowd2]\nkind = 'test_crowd'\ncount = -1\n", "crowd2.count: "),
    ],
)
def test_named_population_errors(tmp_path, table, expected):
    line = one_problem(tmp_path, MINIMAL + table)
    assert line.startswith(f"{tmp_path / 'x.toml'}: {expected}"), line


def test_a_population_must_be_a_table(tmp_path):
    line = one_problem(tmp_path, "test_crowd = 3\n" + MINIMAL)
    assert line == f"{tmp_path / 'x.toml'}: test_crowd: must be a table (got 3)"


def test_an_array_whose_only_entry_fails_is_not_also_called_empty(tmp_path):
    line = one_problem(tmp_path, MINIMAL.replace('name = "NSE"', 'name = "N S E"'))
    assert (
        line == f"{tmp_path / 'x.toml'}: venues[0].name: must match ^[A-Za-z0-9_-]+$ (got 'N S E')"
    )


def test_an_empty_array_is_reported_beside_problems_deeper_in_a_later_entry(tmp_path):
    text = MINIMAL + 'listings = []\n\n[[venues]]\nname = "BSE"\n[venues.fees]\ntaker_bps = -1\n'
    assert problems(tmp_path, text) == [
        f"{tmp_path / 'x.toml'}: venues[0].listings: must not be empty",
        f"{tmp_path / 'x.toml'}: venues[1].fees.taker_bps: must be >= 0 (got -1)",
    ]


def test_every_problem_is_reported(tmp_path):
    text = (
        FULL.replace("taker_bps = 1", "taker_bps = -1")
        .replace("days = 20", "days = 0")
        .replace("intensity = 0.5", "intensity = 2")
        .replace("count = 500", "count = -5")
        .replace("[test_pool]", "[test_pol]")
    )
    lines = problems(tmp_path, text)
    assert [line.split(": ")[1] for line in lines] == [
        "calendar.days",
        "venues[0].fees.taker_bps",
        "shocks[1].intensity",
        "test_pol",
        "test_crowd.count",
    ]


def test_missing_sections_and_no_instruments(tmp_path):
    lines = problems(tmp_path, "[run]\nname = 'a'\n")
    assert [line.split(": ", 1)[1] for line in lines] == ["calendar: required", "venues: required"]
    no_instruments = MINIMAL.replace('symbol = "NHAI-2030"\nreference_price = 101.25\n', "")
    no_instruments = no_instruments.replace("[[instruments]]\n", "")
    assert one_problem(tmp_path, no_instruments).endswith(
        "instruments: at least one instrument is needed ([[instruments]] or [universe])"
    )


def test_constants_match_the_pricing_engine():
    from sim import pricing

    assert typing.get_args(RatingName) == tuple(r.value for r in pricing.Rating)
    assert typing.get_args(DayCount) == pricing.CONVENTIONS


def test_loading_a_scenario_stays_light():
    heavy = "{'scipy', 'numba', 'sim.pricing'}"
    code = f"import sim.scenario.model, sys; print(sorted({heavy} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- the registry ------------------------------------------------------------------------------


def test_register_rules():
    register(CROWD)  # the same kind again is fine
    with pytest.raises(ValueError, match="already registered"):
        register(AgentKind("test_crowd", PoolParams, CROWD.build))
    with pytest.raises(ValueError, match="must match"):
        AgentKind("Bad Name", CrowdParams, CROWD.build)
    with pytest.raises(TypeError, match="pydantic model"):
        AgentKind("odd", dict, CROWD.build)
    with pytest.raises(TypeError, match="callable"):
        AgentKind("odd", CrowdParams, None)
    assert agent_kinds()["test_pool"] is POOL
    unregister("test_pool")
    assert "test_pool" not in agent_kinds()


ENTRY_KIND = AgentKind("test_entry", CrowdParams, lambda sim, params, seed: [])


def test_entry_points_are_loaded_once(monkeypatch):
    points = [EntryPoint("test_entry", f"{__name__}:ENTRY_KIND", registry.ENTRY_POINT_GROUP)]
    calls = []

    def fake_entry_points(group):
        calls.append(group)
        return points

    monkeypatch.setattr(registry, "entry_points", fake_entry_points)
    monkeypatch.setattr(registry, "_entry_points_loaded", False)
    try:
        assert agent_kinds()["test_entry"] is ENTRY_KIND
        agent_kinds()
        assert calls == [registry.ENTRY_POINT_GROUP]
    finally:
        unregister("test_entry")


def test_entry_point_must_be_an_agent_kind(monkeypatch):
    points = [EntryPoint("test_wrong", f"{__name__}:CrowdParams", registry.ENTRY_POINT_GROUP)]
    monkeypatch.setattr(registry, "entry_points", lambda group: points)
    monkeypatch.setattr(registry, "_entry_points_loaded", False)
    with pytest.raises(TypeError, match="must be an AgentKind named 'test_wrong'"):
        agent_kinds()
    with pytest.raises(TypeError):  # and keeps saying so
        agent_kinds()
