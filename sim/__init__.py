"""bondlab's engine room, in layered packages (lowest first; imports point only downwards):

    pricing, market      bond maths; the exchange (books, venues, ledger) with no clock or agents
    scenario, analytics  scenario files to a Scenario; metrics computed from a run's frames
    fundamentals, records  value over time (the scenario's shocks); recording and results
    engine               one run: kernel, clock, latency, participants, market data
    strategy             the Strategy API, its simulated context, routing, guardrails
    studies              many runs: calibration of stress files, backtests, sweeps
    gate                 the deployment gate: policy, checks, the decision log
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

from sim._lazy import lazy_exports

_EXPORTS = {
    "load_scenario": "scenario",
    "Scenario": "scenario",
    "ScenarioError": "scenario",
    "run": "engine",
    "Simulation": "engine",
    "Result": "records",
    "plots": "presentation.plots",
    "compare": "presentation.compare",
    "backtest": "studies.backtest",
    "sweep": "studies.sweep",
}
__all__ = ["__version__", *_EXPORTS]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, extra_names=("__version__",))
