"""Zero curves: interpolation, par-yield bootstrapping and Nelson–Siegel–Svensson fits.

Conventions:
- Rates are continuously compounded zero rates, as decimals (0.07 is 7%).
- Time is in years. When a curve prices a bond, the time of each payment is ACT/365F from the
  settle date: ``(payment_date - settle).days / 365`` (see `cashflow_times`).
- Interpolation is on zero rates, ``"linear"`` or ``"monotone_cubic"`` (PCHIP). Outside the
  tenor range the curve is flat: ``zero_rate(t) = rates[0]`` for ``t < tenors[0]`` and
  ``rates[-1]`` beyond the last tenor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sim.pricing.bond import Bond

INTERPOLATIONS = ("linear", "monotone_cubic")


@dataclass(frozen=True)
class ZeroCurve:
    """An immutable continuously-compounded zero curve.

    ``tenors`` (years, strictly increasing, non-negative) and ``rates`` (decimals) are stored as
    tuples of floats, so a curve is hashable and compares by value.
    """

    tenors: tuple[float, ...]
    rates: tuple[float, ...]
    interpolation: str = "linear"
    _interp: Any = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        tenors = np.asarray(self.tenors, dtype=float).ravel()
        rates = np.asarray(self.rates, dtype=float).ravel()
        if tenors.size == 0:
            raise ValueError("a curve needs at least one tenor")
        if tenors.size != rates.size:
            raise ValueError(
                f"tenors and rates differ in length: {tenors.size} tenors, {rates.size} rates"
            )
        if not (np.all(np.isfinite(tenors)) and np.all(np.isfinite(rates))):
            raise ValueError("tenors and rates must be finite")
        if np.any(tenors < 0):
            raise ValueError(f"tenors must be non-negative, got {tenors[tenors < 0].tolist()}")
        if np.any(np.diff(tenors) <= 0):
            raise ValueError("tenors must be strictly increasing (sorted, no duplicates)")
        if self.interpolation not in INTERPOLATIONS:
            raise ValueError(
                f"unknown interpolation {self.interpolation!r}; expected one of {INTERPOLATIONS}"
            )
        object.__setattr__(self, "tenors", tuple(float(x) for x in tenors))
        object.__setattr__(self, "rates", tuple(float(x) for x in rates))
        interp = None
        if self.interpolation == "monotone_cubic" and tenors.size >= 2:
            from scipy.interpolate import PchipInterpolator  # lazy, like every scipy use here

            interp = PchipInterpolator(tenors, rates, extrapolate=False)
        object.__setattr__(self, "_interp", interp)

    @classmethod
    def flat(cls, rate: float, interpolation: str = "linear") -> ZeroCurve:
        """A flat curve at ``rate`` for every tenor."""
        return cls((1.0,), (rate,), interpolation)

    def zero_rate(self, t: float | np.ndarray) -> float | np.ndarray:
        """Zero rate at time(s) ``t`` (years); flat beyond the first and last tenors."""
        t_arr = np.asarray(t, dtype=float)
        tenors = np.asarray(self.tenors)
        rates = np.asarray(self.rates)
        clipped = np.clip(t_arr, tenors[0], tenors[-1])
        out = np.interp(clipped, tenors, rates) if self._interp is None else self._interp(clipped)
        return float(out) if out.ndim == 0 else out

    def discount(self, t: float | np.ndarray) -> float | np.ndarray:
        """Discount factor ``exp(-r(t) t)`` at time(s) ``t`` (years, not negative)."""
        t_arr = np.asarray(t, dtype=float)
        if np.any(t_arr < 0) or not np.all(np.isfinite(t_arr)):
            raise ValueError(f"discount factors need finite times >= 0 years, got {t!r}")
        out = np.exp(-np.asarray(self.zero_rate(t_arr)) * t_arr)
        return float(out) if out.ndim == 0 else out

    def forward(self, t1: float | np.ndarray, t2: float | np.ndarray) -> float | np.ndarray:
        """Continuously-compounded forward rate between ``t1`` and ``t2`` (``t2 > t1``)."""
        a = np.asarray(t1, dtype=float)
        b = np.asarray(t2, dtype=float)
        if np.any(b <= a):
            raise ValueError("forward rates need t2 > t1")
        out = (np.asarray(self.zero_rate(b)) * b - np.asarray(self.zero_rate(a)) * a) / (b - a)
        return float(out) if out.ndim == 0 else out

    def par_yield(self, maturity: float | np.ndarray, frequency: int = 2) -> float | np.ndarray:
        """Coupon rate (periodic, ``frequency`` per year) of a bond priced at par off this curve.

        The bond pays ``c / frequency`` at ``maturity - k / frequency`` (k = 0, 1, ...), times
        after 0, plus 100% at maturity; a first coupon period shorter than ``1/frequency`` is
        treated as a full one (no accrued interest), which is exact for ``maturity`` on the grid.
        """
        _check_frequency(frequency)
        mats = np.asarray(maturity, dtype=float)
        if np.any(mats <= 0):
            raise ValueError("par yields need maturity > 0")
        out = np.array([_par_yield_one(self, m, frequency) for m in mats.ravel()])
        out = out.reshape(mats.shape)
        return float(out) if out.ndim == 0 else out

    def with_rates(self, tenors: Sequence[float], rates: Sequence[float]) -> ZeroCurve:
        """A curve with new nodes and this curve's interpolation."""
        return ZeroCurve(tuple(tenors), tuple(rates), self.interpolation)


def _check_frequency(frequency: int) -> None:
    if frequency not in (1, 2, 4, 12):
        raise ValueError(f"frequency must be 1, 2, 4 or 12 payments a year, got {frequency!r}")


def _par_coupon_times(maturity: float, frequency: int) -> np.ndarray:
    n = max(1, math.ceil(maturity * frequency - 1e-9))
    times = maturity - np.arange(n)[::-1] / frequency
    return times[times > 1e-12]


def _par_yield_one(curve: ZeroCurve, maturity: float, frequency: int) -> float:
    times = _par_coupon_times(maturity, frequency)
    dfs = np.asarray(curve.discount(times))
    return float(frequency * (1.0 - dfs[-1]) / dfs.sum())


def par_bond_price(curve: ZeroCurve, maturity: float, coupon: float, frequency: int = 2) -> float:
    """Price per 100 face of a bond paying ``coupon`` on the grid used by `ZeroCurve.par_yield`."""
    _check_frequency(frequency)
    times = _par_coupon_times(maturity, frequency)
    dfs = np.asarray(curve.discount(times))
    return float(100.0 * (coupon / frequency * dfs.sum() + dfs[-1]))


def cashflow_times(bond: Bond, settle: date) -> tuple[np.ndarray, np.ndarray]:
    """ACT/365F times (years from ``settle``) and amounts (per 100 face) of a bond's cash flows."""
    dates, amounts = bond.cashflows(settle)
    times = np.array([(d - settle).days / 365.0 for d in dates], dtype=float)
    return times, np.asarray(amounts, dtype=float)


def price_cashflows(
    curve: ZeroCurve, times: np.ndarray, amounts: np.ndarray, spread: float = 0.0
) -> float:
    """Present value ``sum CF_i DF(t_i) exp(-spread t_i)`` (spread continuous, decimal)."""
    dfs = np.asarray(curve.discount(times)) * np.exp(-spread * np.asarray(times))
    return float(np.dot(amounts, dfs))


def dirty_price_on_curve(curve: ZeroCurve, bond: Bond, settle: date, spread: float = 0.0) -> float:
    """Dirty price per 100 face of ``bond`` off ``curve`` plus a constant continuous ``spread``."""
    times, amounts = cashflow_times(bond, settle)
    return price_cashflows(curve, times, amounts, spread)


# --- bootstrapping -------------------------------------------------------------------------


def bootstrap_par_curve(
    tenors: Sequence[float],
    par_yields: Sequence[float],
    frequency: int = 2,
    interpolation: str = "linear",
) -> ZeroCurve:
    """Zero curve that reprices a par bond at each tenor to 100.

    ``par_yields[i]`` is the coupon (periodic, ``frequency`` per year) of a bond maturing at
    ``tenors[i]`` that prices at par, on the coupon grid of `ZeroCurve.par_yield`. Linear curves
    are bootstrapped node by node; a monotone-cubic curve is non-local (a new node bends the
    previous interval), so its nodes are then solved jointly, starting from the linear solution.
    """
    _check_frequency(frequency)
    t = np.asarray(tenors, dtype=float)
    y = np.asarray(par_yields, dtype=float)
    if t.size != y.size:
        raise ValueError(
            f"tenors and par_yields differ in length: {t.size} tenors, {y.size} par yields"
        )
    if t.size == 0:
        raise ValueError("bootstrapping needs at least one par yield")
    if np.any(t <= 0):
        raise ValueError("par-bond tenors must be positive")
    if np.any(np.diff(t) <= 0):
        raise ValueError("tenors must be strictly increasing (sorted, no duplicates)")
    if interpolation not in INTERPOLATIONS:
        raise ValueError(
            f"unknown interpolation {interpolation!r}; expected one of {INTERPOLATIONS}"
        )

    rates: list[float] = []
    for i in range(t.size):

        def error(r: float, i: int = i) -> float:
            trial = ZeroCurve(tuple(t[: i + 1]), (*rates, r), "linear")
            return par_bond_price(trial, t[i], y[i], frequency) - 100.0

        rates.append(_solve_rate(error, y[i], t[i]))
    curve = ZeroCurve(tuple(t), tuple(rates), "linear")
    if interpolation == "monotone_cubic":
        curve = _joint_solve(t, y, np.asarray(rates), frequency)
    worst = max(
        abs(par_bond_price(curve, m, c, frequency) - 100.0) for m, c in zip(t, y, strict=True)
    )
    if worst > 1e-9:
        raise ValueError(f"bootstrap did not converge: worst par-bond error {worst:.3g} per 100")
    return curve


def _solve_rate(error: Any, guess: float, tenor: float) -> float:
    from scipy.optimize import brentq

    lo, hi = guess - 0.05, guess + 0.05
    for _ in range(20):
        if error(lo) * error(hi) < 0:
            return float(brentq(error, lo, hi, xtol=1e-15, rtol=1e-15, maxiter=200))
        lo, hi = lo - 0.1, hi + 0.1
    raise ValueError(f"bootstrap found no zero rate for the par bond at tenor {tenor:g}")


def _joint_solve(t: np.ndarray, y: np.ndarray, start: np.ndarray, frequency: int) -> ZeroCurve:
    def errors(r: np.ndarray) -> np.ndarray:
        trial = ZeroCurve(tuple(t), tuple(r), "monotone_cubic")
        return np.array(
            [par_bond_price(trial, m, c, frequency) - 100.0 for m, c in zip(t, y, strict=True)]
        )

    from scipy.optimize import root

    sol = root(errors, start, method="hybr", options={"xtol": 1e-15})
    if not sol.success and np.max(np.abs(errors(sol.x))) > 1e-9:
        raise ValueError(f"monotone-cubic bootstrap did not converge: {sol.message}")
    return ZeroCurve(tuple(t), tuple(sol.x), "monotone_cubic")


# --- Nelson–Siegel–Svensson ----------------------------------------------------------------


@dataclass(frozen=True)
class NSSParams:
    """Nelson–Siegel–Svensson parameters (rates in decimals, ``tau1``/``tau2`` in years)."""

    beta0: float
    beta1: float
    beta2: float
    beta3: float
    tau1: float
    tau2: float

    def as_array(self) -> np.ndarray:
        return np.array([self.beta0, self.beta1, self.beta2, self.beta3, self.tau1, self.tau2])


def _nss_loadings(t: np.ndarray, tau1: float, tau2: float) -> np.ndarray:
    """The four NSS factor loadings at ``t``; the ``t -> 0`` limits are (1, 1, 0, 0)."""
    t = np.maximum(np.asarray(t, dtype=float), 1e-10)
    x1, x2 = t / tau1, t / tau2
    e1, e2 = np.exp(-x1), np.exp(-x2)
    slope = -np.expm1(-x1) / x1
    curve2 = -np.expm1(-x2) / x2
    return np.stack([np.ones_like(t), slope, slope - e1, curve2 - e2], axis=-1)


def nss_zero_rate(t: float | np.ndarray, params: NSSParams) -> float | np.ndarray:
    """NSS continuously-compounded zero rate at time(s) ``t``.

    ``r(t) = b0 + b1 (1-e^{-t/τ1})/(t/τ1) + b2 [(1-e^{-t/τ1})/(t/τ1) - e^{-t/τ1}]
    + b3 [(1-e^{-t/τ2})/(t/τ2) - e^{-t/τ2}]``; ``r(0) = b0 + b1``.
    """
    if params.tau1 <= 0 or params.tau2 <= 0:
        raise ValueError("NSS decay parameters tau1 and tau2 must be positive")
    load = _nss_loadings(np.asarray(t, dtype=float), params.tau1, params.tau2)
    out = load @ params.as_array()[:4]
    return float(out) if np.ndim(out) == 0 else out


def nss_curve(
    params: NSSParams, tenors: Sequence[float] | None = None, interpolation: str = "monotone_cubic"
) -> ZeroCurve:
    """A `ZeroCurve` sampling the NSS curve at ``tenors`` (default: 0.25 to 40 years)."""
    grid = np.asarray(tenors if tenors is not None else _DEFAULT_GRID, dtype=float)
    return ZeroCurve(tuple(grid), tuple(np.atleast_1d(nss_zero_rate(grid, params))), interpolation)


_DEFAULT_GRID = (0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 20, 25, 30, 40)
# Bounds: betas in plausible rate units, decay times between a month and 30 years.
_LOWER = np.array([-0.05, -0.30, -0.50, -0.50, 0.05, 0.05])
_UPPER = np.array([0.40, 0.30, 0.50, 0.50, 30.0, 30.0])
_TAU_STARTS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0)


@dataclass(frozen=True)
class NSSFit:
    """Result of an NSS fit: parameters, the sampled curve and the root-mean-square residual."""

    params: NSSParams
    curve: ZeroCurve
    rmse: float


def _fit(residuals: Any, linear_start: Any) -> tuple[np.ndarray, float]:
    """Multi-start bounded least squares from a deterministic grid of (tau1, tau2) pairs."""
    from scipy.optimize import least_squares

    best_x, best_cost = None, math.inf
    for tau1 in _TAU_STARTS:
        for tau2 in _TAU_STARTS:
            if tau2 <= tau1:
                continue
            x0 = np.clip(np.r_[linear_start(tau1, tau2), tau1, tau2], _LOWER + 1e-9, _UPPER - 1e-9)
            sol = least_squares(
                residuals, x0, bounds=(_LOWER, _UPPER), xtol=1e-15, ftol=1e-15, gtol=1e-15
            )
            if sol.cost < best_cost:
                best_x, best_cost = sol.x, sol.cost
    assert best_x is not None
    return best_x, best_cost


def fit_nss(tenors: Sequence[float], zero_rates: Sequence[float]) -> NSSFit:
    """Fit NSS parameters to observed zero rates by least squares on the rates."""
    t = np.asarray(tenors, dtype=float)
    z = np.asarray(zero_rates, dtype=float)
    if t.size != z.size:
        raise ValueError(f"tenors and zero_rates differ in length: {t.size} vs {z.size}")
    if t.size < 6:
        raise ValueError(f"an NSS fit needs at least 6 points (6 parameters), got {t.size}")
    if np.any(t <= 0):
        raise ValueError("NSS fit tenors must be positive")

    def residuals(x: np.ndarray) -> np.ndarray:
        return _nss_loadings(t, x[4], x[5]) @ x[:4] - z

    def linear_start(tau1: float, tau2: float) -> np.ndarray:
        return np.linalg.lstsq(_nss_loadings(t, tau1, tau2), z, rcond=None)[0]

    x, cost = _fit(residuals, linear_start)
    params = NSSParams(*(float(v) for v in x))
    return NSSFit(params, nss_curve(params), math.sqrt(2 * cost / t.size))


def fit_nss_to_bonds(bonds: Sequence[Bond], settle: date, clean_prices: Sequence[float]) -> NSSFit:
    """Fit NSS parameters to bond prices, minimising approximate yield errors.

    Each price error is divided by the bond's dollar duration off a flat curve, so the fit
    weighs bonds by yield (a 1 bp miss counts the same for a 1-year and a 30-year bond).
    ``rmse`` is in those approximate yield units (decimals).
    """
    if len(bonds) != len(clean_prices):
        raise ValueError(
            f"bonds and clean_prices differ in length: {len(bonds)} vs {len(clean_prices)}"
        )
    if len(bonds) < 6:
        raise ValueError(f"an NSS fit needs at least 6 bonds (6 parameters), got {len(bonds)}")
    flows = [cashflow_times(b, settle) for b in bonds]
    dirty = np.array([p + b.accrued(settle) for b, p in zip(bonds, clean_prices, strict=True)])
    # One row per bond, padded with zero amounts, so each residual evaluation is one array op.
    width = max(tm.size for tm, _ in flows)
    times = np.ones((len(bonds), width))
    amounts = np.zeros((len(bonds), width))
    for i, (tm, a) in enumerate(flows):
        times[i, : tm.size], amounts[i, : tm.size] = tm, a
    # Weights and the linear start come from a flat 7% curve: only a scale for the errors.
    flat_pv = amounts * np.exp(-0.07 * times)
    scale = (flat_pv * times).sum(axis=1)
    mid_times = scale / flat_pv.sum(axis=1)
    approx_yields = np.array(
        [_cont_yield(t, a, p) for t, a, p in zip(times, amounts, dirty, strict=True)]
    )

    def residuals(x: np.ndarray) -> np.ndarray:
        zero = _nss_loadings(times, x[4], x[5]) @ x[:4]
        return ((amounts * np.exp(-zero * times)).sum(axis=1) - dirty) / scale

    def linear_start(tau1: float, tau2: float) -> np.ndarray:
        # Crude start: each bond's continuous yield read as a zero rate at its duration.
        return np.linalg.lstsq(_nss_loadings(mid_times, tau1, tau2), approx_yields, rcond=None)[0]

    x, cost = _fit(residuals, linear_start)
    params = NSSParams(*(float(v) for v in x))
    return NSSFit(params, nss_curve(params), math.sqrt(2 * cost / len(bonds)))


def _cont_yield(times: np.ndarray, amounts: np.ndarray, dirty: float) -> float:
    from scipy.optimize import brentq

    def f(y: float) -> float:
        return float(np.dot(amounts, np.exp(-y * times))) - dirty

    return float(brentq(f, -0.5, 2.0))
