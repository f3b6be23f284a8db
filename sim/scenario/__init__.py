"""Scenario files: TOML in, an immutable `Scenario` out, validated against the sections and
the registered agent kinds. Nothing here imports the engine.

    from sim.scenario import load_scenario
"""

from sim._lazy import lazy_exports

_EXPORTS = {
    "load_scenario": "model",
    "Scenario": "model",
    "ScenarioError": "model",
    "scenario_from_dict": "model",
    "AgentKind": "registry",
    "agent_kinds": "registry",
    "register": "registry",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
