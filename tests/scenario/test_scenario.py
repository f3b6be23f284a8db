"""Scenario files: loading, resolution, hashing, overrides and every error message; the agent
kind registry."""

import json
import pickle
import subprocess
import sys
import typing
from datetime import date, time
from decimal import Decimal
from importlib.metadata import EntryPoint

import pytest
from pydantic import BaseModel, ConfigDict, Field

from sim.scenario import registry
from sim.scenario.model import (
    DayCount,
    RatingName,
    ScenarioError,
    Universe,
    generate_universe,
    load_scenario,
    scenario_from_dict,
)
from sim.scenario.registry import AgentKind, agent_kinds, register, unregister


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
    ("override", "reason"),
    [
        ("test_pool.buffer_fraction", "expected key.path=value"),
        ("=3", "expected key.path=value"),
        ("calendar..days=3", "expected key.path=value"),
        ("venues.x.name=A", "venues is an array: use an index, not 'x'"),
        ("venues.9.name=A", "venues has no index 9 (2 entries)"),
        ("run.name.first=a", "run.name is a value, not a table"),
    ],
)
def test_malformed_overrides(tmp_path, override, reason):
    assert one_problem(tmp_path, FULL, [override]).startswith(f"--set {override}: {reason}")


# --- error messages ------------------------------------------------------------------------------


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ScenarioError, match=r"nope\.toml: no such file$"):
        load_scenario(tmp_path / "nope.toml")
    with pytest.raises(ScenarioError, match="is a directory"):
        load_scenario(tmp_path)


def test_toml_syntax_error_names_line_and_column(tmp_path):
    line = one_problem(tmp_path, MINIMAL.replace("days = 5", "days = = 5"))
    assert line.startswith(f"{tmp_path / 'x.toml'}: line 7, column 8: invalid TOML (")


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
        ('kind = "panic"', 'kind = "panik"', "shocks[1]: unknown kind 'panik' (expected one of "),
        ('kind = "bond"', 'kind = "bnd"', "fundamentals: unknown kind 'bnd' (expected one of "),
        ('kind = "bond"', "short_rat = 0.05", "fundamentals: needs a kind (one of 'mean_rev"),
        ("size_bp = 100", "size_bps = 100", "shocks[0].size_bps: unknown field (did you mean si"),
        ("path = [[0, 1.0], [5, 0.0]]", "path = [[5, 1.0], [0, 0.0]]", "shocks[0].path: day off"),
        ('listings = ["NHAI-2030"]', 'listings = ["NHAI-2031"]', "venues[1].listings[0]: unkno"),
        ('name = "BSE"', 'name = "NSE"', "venues[1].name: duplicate venue name 'NSE'"),
        ("count = 12", "count = 0", "universe.count: must be >= 1 (got 0)"),
        ("start = 2024-01-02", "start = 9999-01-04", "calendar.start: must be <= 2200-12-31"),
        ("seed = 7", 'ratings = { AAA = 1, "Z" = 1 }', "universe.ratings.Z: not an allowed key"),
        ("maker_bps = 0", "tiers = { gold = -2 }", "venues[0].fees.tiers.gold: a rebate of 2 bp"),
        ("[venues.fees]", "fees = 3\n[venues.nope]", "venues[0].fees: must be a table (got 3)"),
        ('issuer = "NHAI"', "", 'instruments[0]: issuer required when fundamentals.kind = "bond"'),
        ("issue = 2020-03-15", "issue = 2024-03-15", "instruments[0].issue: must be on or before"),
    ],
)
def test_error_names_file_field_and_reason(tmp_path, old, new, expected):
    assert old in FULL
    lines = problems(tmp_path, FULL.replace(old, new, 1))
    assert all(line.startswith(f"{tmp_path / 'x.toml'}: ") for line in lines)
    assert any(line.startswith(f"{tmp_path / 'x.toml'}: {expected}") for line in lines), lines
    assert len(lines) <= 2  # a misspelt field is also a missing one


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
