"""bondlab's engine room: order book, venues, ledger, pricing, the simulation kernel, results.

    import sim
    scn = sim.load_scenario("scenarios/baseline.toml")
    res = sim.run(scn, seed=1, out="results")
    res = sim.Result.load(res.path)

`import sim` stays light: these names, and heavy packages (mlflow, lightgbm, cvxpy, fastapi,
dask), are imported only when first used.
"""

__version__ = "0.1.0"

_LAZY = {
    "load_scenario": ("sim.scenario", "load_scenario"),
    "Scenario": ("sim.scenario", "Scenario"),
    "ScenarioError": ("sim.scenario", "ScenarioError"),
    "run": ("sim.kernel", "run"),
    "Simulation": ("sim.kernel", "Simulation"),
    "Result": ("sim.result", "Result"),
}
__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
