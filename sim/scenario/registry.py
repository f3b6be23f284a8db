"""Agent kinds as plugins: a scenario's populations name kinds registered here.

`sim` never imports the agent library (dependencies point strategies -> agents -> sim), so
agent kinds come to it. A package declares each kind as an entry point of the group
``bondlab.agents`` whose name is the kind's name and whose object is an `AgentKind`::

    [project.entry-points."bondlab.agents"]
    retail = "agents.retail:KIND"

Code that is not installed as a package (tests, notebooks) calls `register` directly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points

from pydantic import BaseModel

ENTRY_POINT_GROUP = "bondlab.agents"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

_kinds: dict[str, AgentKind] = {}
_entry_points_loaded = False


@dataclass(frozen=True)
class AgentKind:
    """One kind of agent a scenario can populate.

    name : the population table that configures it (``[retail]``), e.g. "retail" or "sip".
    params : the pydantic model of that table (a frozen model with ``extra="forbid"`` keeps
        scenarios immutable and catches misspelt parameters).
    build : ``build(market, params, seed_sequence) -> list of participants``, called by the
        kernel with the run's `sim.engine.access.MarketAccess` and the population's own
        `numpy.random.SeedSequence`. A clash with the rest of the scenario (a bond no venue
        lists, say) raises `sim.errors.ConfigurationError`, which the user sees as one line;
        anything else it raises is a bug.
    """

    name: str
    params: type[BaseModel]
    build: Callable

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError(f"agent kind name must match {_NAME.pattern}, got {self.name!r}")
        if not (isinstance(self.params, type) and issubclass(self.params, BaseModel)):
            raise TypeError(f"agent kind {self.name!r}: params must be a pydantic model class")
        if not callable(self.build):
            raise TypeError(f"agent kind {self.name!r}: build must be callable")


def register(kind: AgentKind) -> None:
    """Make ``kind`` available to scenarios. Registering an equal kind again does nothing;
    a different kind under a taken name raises ValueError."""
    if not isinstance(kind, AgentKind):
        raise TypeError(f"register() takes an AgentKind, got {type(kind).__name__}")
    known = _kinds.get(kind.name)
    if known is not None and known != kind:
        raise ValueError(
            f"agent kind {kind.name!r} is already registered with params {_qualname(known)}; "
            f"cannot register it again with params {_qualname(kind)}"
        )
    _kinds[kind.name] = kind


def _qualname(kind: AgentKind) -> str:
    return f"{kind.params.__module__}.{kind.params.__qualname__}"


def unregister(name: str) -> None:
    """Forget the kind called ``name`` (a test's clean-up); unknown names are ignored."""
    _kinds.pop(name, None)


def agent_kinds() -> dict[str, AgentKind]:
    """Every registered kind by name, sorted; entry points are loaded on the first call."""
    global _entry_points_loaded
    if not _entry_points_loaded:
        for point in entry_points(group=ENTRY_POINT_GROUP):
            kind = point.load()
            if not isinstance(kind, AgentKind) or kind.name != point.name:
                raise TypeError(
                    f"entry point {point.name} = {point.value!r} in group {ENTRY_POINT_GROUP!r} "
                    f"must be an AgentKind named {point.name!r}"
                )
            register(kind)
        _entry_points_loaded = True  # only now: a plugin that fails to load keeps failing loudly
    return dict(sorted(_kinds.items()))
