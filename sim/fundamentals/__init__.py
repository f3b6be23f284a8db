"""Fundamental values per instrument: what an instrument is "really" worth at a time.

Two processes share one small interface (`Fundamental`): ``value(symbol, t_ns)`` is the value
per 100 face at ``t_ns`` and ``apply_shock(shock, t_ns)`` lets scenario shocks move it.

- `MeanRevertingFundamental`: the equity-style oracle of ABIDES (an Ornstein–Uhlenbeck value
  with compound-Poisson "megashocks"), used for calibration against ABIDES' RMSC04.
- `BondFundamental`: bond fair values from the pricing engine, driven by a daily curve factor
  model, a common credit-spread factor and rare downgrades.

Both are deterministic functions of the generator they are built with: the values do not depend
on how often or in which order they are queried (each symbol and each stretch of time draws from
its own stream). Shocks are a scenario's specs (`sim.scenario.model`): each process applies
the kinds that concern it and ignores the rest; the bond process also takes the pricing
engine's curve moves (`sim.pricing.curve_shocks`) directly.

Modules: `base` (the interface and shared checks), `mean_reverting` and `bond`.
"""

from sim.fundamentals.base import Fundamental
from sim.fundamentals.bond import TRADING_DAYS_PER_YEAR, BondFactorParams, BondFundamental
from sim.fundamentals.mean_reverting import MeanRevertingFundamental

__all__ = [
    "TRADING_DAYS_PER_YEAR",
    "BondFactorParams",
    "BondFundamental",
    "Fundamental",
    "MeanRevertingFundamental",
]
