"""The contract every agent kind keeps, checked for each registered kind (as scikit-learn's
`check_estimator` checks every estimator): it builds from its parameters' defaults, runs a small
scenario, reports numbers only, and reaches the run through nothing but its participant.

"Nothing but its participant" is checked two ways. Structurally: the `MarketAccess` agents are
handed is slotted, has a pinned set of public names, each a method of its own, and none of them
hands out a ledger, a venue, a book, the simulation or the model; nor does anything an agent keeps
in its own attributes. Statically: no module of the agent library names the run's insides.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
from pathlib import Path

import mesa
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import agents
from sim.engine.access import MarketAccess
from sim.engine.clock import Clock
from sim.engine.kernel import Simulation
from sim.engine.latency import FixedLatency
from sim.engine.market_data import MarketData
from sim.engine.participant import Participant
from sim.market.book import OrderBook
from sim.market.ledger import Account, Ledger, LedgerError
from sim.market.venue import Venue
from sim.scenario.model import load_scenario
from sim.scenario.registry import agent_kinds
from sim.scenario.shocks import PanicShock
from tests.helpers.scenarios import SMALL_SCENARIO

SUBJECT = "contract_subject"  # the population of the kind under test
FORBIDDEN_TYPES = (Simulation, mesa.Model, Ledger, Account, Venue, OrderBook, MarketData, Clock)
# Attribute names that lead into the run past the participant: the simulation and its parts.
FORBIDDEN_NAMES = {"sim", "_sim", "ledger", "venues", "fundamental", "market_data", "env", "model"}
FORBIDDEN_IMPORTS = {"Simulation", "Ledger", "Account", "Venue", "OrderBook", "MarketData", "Model"}
AGENT_MODULES = sorted(Path(agents.__file__).parent.glob("*.py"))

# What agent code may ask of the run, all of it (a new name is a decision: review it here).
PUBLIC = {
    "now",
    "session",
    "day_index",
    "trading_days",
    "symbols",
    "listings",
    "trades_on",
    "instrument",
    "tick_value",
    "lot_size",
    "reference_price",
    "rating",
    "fair_value",
    "valuation",
    "valuation_detail",
    "terms",
    "observe_fundamental",
    "mark",
    "unit_value",
    "accrued_interest",
    "shock_level",
    "open_account",
    "deposit",
    "transfer",
    "pass_on_coupon",
    "record_log",
    "record_decision",
}


def contract_scenario(tmp_path: Path, kind: str) -> Path:
    """The small scenario's market (T+1, two days) and one population of `kind`, all defaults."""
    path = tmp_path / f"contract_{kind}.toml"
    path.write_text(SMALL_SCENARIO.format(days=2, lag=1) + f'\n[{SUBJECT}]\nkind = "{kind}"\n')
    return path


def reached(value, depth: int = 3, seen: set | None = None) -> list[str]:
    """What of `value` (looking `depth` levels into containers and objects' attributes) is a
    piece of the run's insides. Participants and the access itself are checked on their own."""
    seen = set() if seen is None else seen
    if isinstance(value, FORBIDDEN_TYPES):
        return [type(value).__name__]
    if depth == 0 or id(value) in seen or isinstance(value, Participant | MarketAccess):
        return []
    if isinstance(value, str | bytes | int | float | np.ndarray | np.generic | type(None)):
        return []
    seen.add(id(value))
    if isinstance(value, dict):
        children = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple | set | frozenset):
        children = list(value)
    elif inspect.ismethod(value):
        children = [value.__self__]
    elif isinstance(value, functools.partial):
        children = [value.func, *value.args, *value.keywords.values()]
    elif inspect.isfunction(value):  # what a closure or lambda holds
        children = [cell.cell_contents for cell in value.__closure__ or ()]
    elif dataclasses.is_dataclass(value) or hasattr(value, "__dict__"):
        children = list(getattr(value, "__dict__", {}).values())
        children += [
            getattr(value, s) for s in getattr(value, "__slots__", ()) if hasattr(value, s)
        ]
    else:
        return []
    return [name for child in children for name in reached(child, depth - 1, seen)]


@pytest.fixture(scope="module", params=sorted(agent_kinds()))
def contract_run(request, tmp_path_factory):
    """The kind's population built from defaults and run through the contract scenario."""
    kind = request.param
    tmp_path = tmp_path_factory.mktemp(kind)
    sim = Simulation(load_scenario(contract_scenario(tmp_path, kind)), seed=3)
    population = sim.populations[SUBJECT]
    kept = {agent: reached(own_attributes(agent)) for agent in population}  # as built
    result = sim.run(out=tmp_path / "out")
    return kind, sim, population, kept, result


def own_attributes(agent) -> dict:
    """An agent's attributes but for mesa's `model` (every mesa agent's link to its registry)
    and the participant's private ports: the participant's side of the door, which the static
    scan below keeps agent code from naming."""
    return {k: v for k, v in vars(agent).items() if k not in {"model", "_ports"}}


# --- the contract, for every kind ---------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(agent_kinds()))
def test_parameters_have_defaults(name):
    params_model = agent_kinds()[name].params
    assert params_model() == params_model.model_validate({})  # every field has a default


def test_builds_from_defaults_and_runs(contract_run):
    kind, _, population, _, result = contract_run
    assert population, f"{kind}: the defaults build no agents"
    assert all(isinstance(agent, Participant) for agent in population)
    assert result.metrics["ledger"]["conserved"]
    rows = result.agents.filter(result.agents["population"] == SUBJECT)
    assert rows.height == len(population)


def test_reports_numbers_only(contract_run):
    """Every agent's `report()` is a dict of names to Python ints and floats (None for a
    figure with nothing to measure yet, written as null): no bools, strings, arrays or NumPy
    scalars, which would change agents.parquet's column types from run to run."""
    kind, sim, *_ = contract_run
    for agent in sim.model.agents:
        report = agent.report()
        assert isinstance(report, dict), (kind, agent.kind)
        bad = {k: v for k, v in report.items() if type(v) not in (int, float, type(None))}
        assert not bad, f"{agent.kind}: report() gives non-numbers {bad}"
        assert all(type(k) is str for k in report), agent.kind


def test_agents_keep_nothing_of_the_run_but_their_participant(contract_run):
    """What an agent holds in its own attributes, as built and after the run, leads to no
    ledger, venue, book, clock, market data, simulation or model."""
    kind, _, population, kept, _ = contract_run
    for agent in population:
        assert not kept[agent], f"{kind}: built holding {kept[agent]}"
        held = reached(own_attributes(agent))
        assert not held, f"{kind}: holds {held} after the run"


# --- the door: MarketAccess -------------------------------------------------------------------


@pytest.fixture
def fresh(tmp_path):
    """A built run of the small scenario (its value investors as the subject) and its door."""
    sim = Simulation(load_scenario(contract_scenario(tmp_path, "value")), seed=1)
    return sim, MarketAccess(sim)


def newcomer(access: MarketAccess, **endowment) -> Participant:
    """A bare participant with an account (every agent of a run needs one)."""
    participant = Participant(access, np.random.default_rng(0), FixedLatency(0))
    access.open_account(participant, **endowment)
    return participant


def test_access_is_slotted_and_its_public_names_are_pinned(fresh):
    _, access = fresh
    assert "__slots__" in vars(MarketAccess) and not hasattr(access, "__dict__")
    public = {name for name in dir(access) if not name.startswith("_")}
    assert public == PUBLIC
    for name in public:  # methods of its own, never another object's bound method
        attribute = getattr(access, name)
        assert inspect.ismethod(attribute) and attribute.__self__ is access, name
        assert attribute.__func__ is vars(MarketAccess)[name], name


def test_nothing_the_access_answers_is_the_runs_insides(fresh, tmp_path):
    """Every public method, called as agents call it, answers with nothing that is (or holds)
    a ledger, account, venue, book, clock, market data, simulation or model."""
    sim, access = fresh
    a, b = sim.populations[SUBJECT][0], sim.populations["value"][0]
    # The platform's services, while agents are built...
    services = {
        "open_account": (Participant(access, np.random.default_rng(0), FixedLatency(0)),),
        "deposit": (a, 100),
        "transfer": (a, b, 100),
        "pass_on_coupon": (a, b, 100, "ABM"),
        "record_log": (a, "a line", ""),
        "record_decision": (a, 0, "EXCH", "ABM", 1, "{}"),
    }
    answers = {name: getattr(access, name)(*args) for name, args in services.items()}
    sim.run(out=tmp_path / "out")  # ...and what agents read, once valuations are published
    reads = {
        "now": (),
        "session": (0,),
        "day_index": (access.now(),),
        "trading_days": (),
        "symbols": (),
        "listings": (),
        "trades_on": ("ABM", 1),
        "instrument": ("ABM",),
        "tick_value": ("ABM",),
        "lot_size": ("ABM",),
        "reference_price": ("ABM",),
        "rating": ("ABM", 1),
        "fair_value": ("ABM",),
        "valuation": ("ABM",),
        "valuation_detail": ("ABM",),
        "terms": ("ABM",),
        "observe_fundamental": ("ABM", 1.0, np.random.default_rng(0)),
        "mark": ("ABM",),
        "unit_value": ("ABM",),
        "accrued_interest": ("ABM",),
        "shock_level": (PanicShock, 1),
    }
    answers |= {name: getattr(access, name)(*args) for name, args in reads.items()}
    assert set(answers) == PUBLIC
    for name, answer in answers.items():
        assert not reached(answer), f"{name} hands out {reached(answer)}"


def test_transfers_are_checked_and_journaled_as_the_ledgers_are(fresh, tmp_path):
    sim, access = fresh
    buyer, seller = newcomer(access, cash=10_000), newcomer(access, units={"ABM": 5})
    access.transfer(buyer, seller, 3_000, "ABM", 2)  # the buyer pays, the seller delivers
    assert (buyer.free_cash(), buyer.position("ABM")) == (7_000, 2)
    assert (seller.free_cash(), seller.position("ABM")) == (3_000, 3)
    with pytest.raises(LedgerError, match="exceeds free cash"):
        access.transfer(buyer, seller, 7_001)
    with pytest.raises(LedgerError, match="exceeds free units"):
        access.transfer(buyer, seller, 0, "ABM", 4)
    result = sim.run(out=tmp_path / "out")
    moves = result.transfers.filter(result.transfers["kind"] == "transfer")
    assert moves.select("source", "target", "cash", "instrument", "qty").rows() == [
        (buyer.account, seller.account, 3_000, "ABM", 2)
    ]


def test_a_participant_keeps_the_door_under_these_names(fresh):
    _, access = fresh
    participant = newcomer(access)
    assert {name for name in vars(participant) if name.startswith("_")} <= PORTS


def test_a_participant_takes_only_the_access(fresh):
    sim, _ = fresh
    with pytest.raises(TypeError, match="takes a MarketAccess, not Simulation"):
        Participant(sim, np.random.default_rng(0), FixedLatency(0))


@pytest.fixture(scope="module")
def one_bp_venue(tmp_path_factory):
    """The small scenario's venue (a 1 bp taker fee) and a participant on it, never run."""
    sim = Simulation(load_scenario(contract_scenario(tmp_path_factory.mktemp("fee"), "value")))
    return sim.venues["EXCH"], sim.populations["value"][0]


@given(cash=st.integers(-10, 10**13), price=st.integers(1, 10**6), qty=st.integers(1, 10**5))
def test_buy_cost_is_the_venues_lock_and_affordable_its_inverse(one_bp_venue, cash, price, qty):
    """`buy_cost` is what the venue locks; `affordable` the largest order whose lock fits,
    whatever the fee's rounding (at 1 bp, fractions of a paisa a unit)."""
    venue, agent = one_bp_venue
    assert agent.buy_cost("EXCH", "ABM", qty, price) == venue.buy_lock("ABM", qty, price)
    most = agent.affordable("EXCH", "ABM", price, cash)
    assert most >= 0 and venue.buy_lock("ABM", most + 1, price) > cash
    assert most == 0 or venue.buy_lock("ABM", most, price) <= cash


# --- the agent library, read ------------------------------------------------------------------


# The underscored names of the door's two sides: the access's slots and what a participant keeps
# of it (`test_a_participant_keeps_the_door_under_these_names` holds this list to the truth).
PORTS = {*MarketAccess.__slots__, "_market", "_ports"}


def violations(source: str) -> list[str]:
    """Where agent code names the run's insides: an attribute (or a getattr-style string) in
    FORBIDDEN_NAMES or a port of the door, or an import of the classes behind them."""
    names = FORBIDDEN_NAMES | PORTS
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in names:
            found.append(f"line {node.lineno}: .{node.attr}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr", "delattr")
            and len(node.args) > 1
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in names
        ):
            found.append(f"line {node.lineno}: {node.func.id}(..., {node.args[1].value!r})")
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name in FORBIDDEN_IMPORTS:
                    found.append(f"line {node.lineno}: imports {alias.name}")
        elif isinstance(node, ast.Import) and any(a.name == "mesa" for a in node.names):
            found.append(f"line {node.lineno}: imports mesa")
    return found


def test_the_scan_sees_what_it_looks_for():
    assert violations("x = self.sim.ledger.account(1)") == ["line 1: .ledger", "line 1: .sim"]
    assert violations("getattr(self.desk, 'fundamental')") == [
        "line 1: getattr(..., 'fundamental')"
    ]
    assert violations("self._ports.venues") == ["line 1: .venues", "line 1: ._ports"]
    assert violations("from sim.market.venue import Venue") == ["line 1: imports Venue"]
    assert violations("self.market.mark(s) * self.market.tick_value(s)") == []


@pytest.mark.parametrize("path", AGENT_MODULES, ids=lambda p: p.name)
def test_agent_code_names_nothing_of_the_run_but_its_participant(path):
    assert violations(path.read_text()) == [], path.name
