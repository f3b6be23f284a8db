"""One run: the kernel that builds a simulation from a scenario and schedules it, the clock,
latency, draws, the participant agents act through, and the market data they see.

    from sim.engine import Simulation, run
"""

from sim._lazy import lazy_exports

_EXPORTS = {
    "Simulation": "kernel",
    "run": "kernel",
    "Participant": "participant",
    "MarketAccess": "access",
    "Clock": "clock",
    "ScalarDraws": "draws",
    "FixedLatency": "latency",
    "JitteredLatency": "latency",
    "latency_from": "latency",
    "MarketData": "market_data",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
