"""bondlab's engine room, in layered packages (lowest first; imports point only downwards):

    pricing, market      bond maths; the exchange (books, venues, ledger) with no clock or agents
    scenario, analytics  scenario files to a Scenario; metrics computed from a run's frames
    fundamentals, records  value over time (the scenario's shocks); recording and results
    engine               one run: kernel, clock, latency, participants, market data
    strategy             the Strategy API, its simulated context, guardrails
    cli                  the `bondlab` command

The contract is in pyproject.toml (import-linter); `make lint` checks it.

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
    "run": ("sim.engine", "run"),
    "Simulation": ("sim.engine", "Simulation"),
    "Result": ("sim.records", "Result"),
    "plots": ("sim.presentation.plots", None),
}
__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        loaded = importlib.import_module(module)
        return loaded if attribute is None else getattr(loaded, attribute)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
