"""The Strategy API (handlers and the context a strategy trades through), its simulated
context, strategies by reference, smart order routing and guardrails around any strategy.

    from sim.strategy import Strategy, Context, Guardrails, route
"""

from sim._lazy import lazy_exports

_EXPORTS = {
    "Strategy": "api",
    "Context": "api",
    "StrategyParticipant": "api",
    "HANDLERS": "api",
    "Book": "api",
    "Valuation": "api",
    "route": "routing",
    "VenueView": "routing",
    "RoutePlan": "routing",
    "ChildOrder": "routing",
    "replay": "replay",
    "WalkForward": "walk_forward",
    "load_strategy": "loading",
    "StrategyError": "loading",
    "Guardrails": "guardrails",
    "value_at_risk": "guardrails",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
