"""The Liquidity Pulse: a per-bond liquidity index, an issuer's repayment support and the
combined score, computed from a run's own records, and checked against the liquidity a trade
actually found.

    import sim
    from sim import pulse as lp

    res = sim.Result.load("results/baseline-seed1-...")
    frame = lp.pulse(res)                    # a row per listing and interval: sim.pulse.frame
    figures = lp.validate(res)               # rho against tomorrow's round-trip cost, lead time
    frame = lp.pulse(res, lp.PulseParams(intervals=("1d",)))
    ahead = lp.forecast(res)                 # T+1..T+5 with calibrated 80% bands: forecast

It reads a `sim.Result`'s frames and manifest and nothing else (no engine, no agents), so any
layer above may call it. Modules, one concept each: `params` (weights and settings as data),
`timeline` (sessions and intervals), `snapshots` (books: spread, depth), `makers` (makers
online), `activity` (turnover, last trade, imbalance, SIP pool), `features` (the liquidity
features), `normalise` (rolling windows), `scoring` (0–100, points, drivers, uncertainty),
`liquidity`, `credit` (ratings and probabilities), `altdata`, `repayment`, `sectors`,
`combined`, `frame` (`pulse`), `round_trip` and `validation` (`validate`), `roles` (the
views by role), `forecast_features`, `forecasting` (`forecast`) and `forecast_evaluation`
(`evaluate`).
"""

from sim._lazy import lazy_exports

_EXPORTS = {
    "pulse": "frame",
    "validate": "validation",
    "realised_costs": "validation",
    "liquidity_index": "liquidity",
    "repayment_index": "repayment",
    "PulseParams": "params",
    "PulseWeights": "params",
    "PulseParamsError": "params",
    "forecast": "forecasting",
    "ForecastParams": "forecasting",
    "evaluate": "forecast_evaluation",
    "daily_index": "forecast_features",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
