"""Portfolio construction for the allocator: mean-variance under limits, risk parity,
Black-Litterman views and rebalancing with transaction costs.

Pure functions on numpy arrays, with no simulator in sight. A portfolio is a vector ``w`` of
weights, one per bond in the order of ``mu`` and ``cov``, each the fraction of the portfolio's
value held in that bond; what the bonds do not take is cash, ``1 - w.sum()``. Expected returns
``mu`` and the covariance ``cov`` (``Σ``) are per period in one unit (annual fractions, say),
and ``risk_aversion`` (``λ``) is in the matching unit.

    mean_variance    maximise  mu'w - (λ/2) w'Σw
                     subject to  sum(w) = 1 - cash_reserve
                                 w_i >= 0                               (long_only)
                                 |w_i| <= max_weight
                                 sum of |w_i| over a sector <= max_sector
    rebalance        the same, less cost_per_unit_turnover * sum_i |w_i - current_i|: a linear
                     cost on the value traded, as a fraction of it (bps / 1e4)
    risk_parity      long-only weights summing to 1 whose risk contributions w_i (Σw)_i are
                     equal, or proportional to `budgets`
    black_litterman  He and Litterman's (1999) posterior returns and covariance from the
                     market's implied returns and a set of views

The limits cap exposure: for a long-only portfolio they are plain upper bounds on the weights,
and with shorts allowed they cap each position's size and each sector's gross exposure.
`SEED_003_LIMITS` holds seed 003's (10% per bond, 25% per sector, 20% cash).

The optimisers solve a convex problem with cvxpy (Clarabel): their weights and constraints hold
to the solver's tolerance, about 1e-7 in a weight (risk parity is polished to 1e-8 in the risk
shares). A bad argument raises a ValueError naming it and the reason;
a solver that does not reach an optimum raises `PortfolioSolverError` with its status.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from numbers import Real

import numpy as np

SOLVER = "CLARABEL"  # an interior-point solver for the quadratic and exponential cones alike
# Aim at 1e-10, tighter than Clarabel's 1e-8: at 1e-8 a weight meant to stay at its current
# value or at a bound can land 1e-6 away, at 1e-10 about 1e-7. Where rounding stops the solver
# short of that, Clarabel's own tolerances (here the "reduced" ones) are still met and accepted.
SOLVER_OPTIONS = {
    "tol_gap_abs": 1e-10,
    "tol_gap_rel": 1e-10,
    "tol_feas": 1e-10,
    "reduced_tol_gap_abs": 1e-8,
    "reduced_tol_gap_rel": 1e-8,
    "reduced_tol_feas": 1e-8,
    "reduced_tol_ktratio": 1e-6,
}

# Relative to the largest eigenvalue: how negative a PSD covariance's smallest eigenvalue may be
# from rounding, and how small a positive definite one's may be (a condition number of 1e10).
_EIGENVALUE_TOLERANCE = 1e-10


class PortfolioSolverError(RuntimeError):
    """The solver did not reach an optimum (an unbounded or numerically hard problem)."""


@dataclass(frozen=True)
class PortfolioLimits:
    """Limits for `mean_variance` and `rebalance`, passed as their keywords:
    ``mean_variance(mu, cov, 4.0, sector_of=sectors, **SEED_003_LIMITS.as_kwargs())``.

    max_weight   : cap on each bond's weight (None: no cap).
    max_sector   : cap on each sector's total weight (None: no cap; needs `sector_of`).
    cash_reserve : fraction of the portfolio held in cash; the bonds take the rest.
    long_only    : no negative weights.
    """

    max_weight: float | None = None
    max_sector: float | None = None
    cash_reserve: float = 0.0
    long_only: bool = True

    def as_kwargs(self) -> dict[str, float | bool | None]:
        """The limits as keyword arguments of `mean_variance` and `rebalance`."""
        return dataclasses.asdict(self)


SEED_003_LIMITS = PortfolioLimits(max_weight=0.10, max_sector=0.25, cash_reserve=0.20)


@dataclass(frozen=True, eq=False)
class BlackLittermanPosterior:
    """What `black_litterman` returns: feed ``expected_returns`` and ``cov`` to
    `mean_variance` for the posterior weights.

    implied_returns  : the market's equilibrium returns, pi = λ Σ w_mkt.
    expected_returns : the posterior mean, pi moved towards the views.
    cov              : the posterior covariance of returns, Σ plus the posterior mean's own
                       uncertainty (He and Litterman's choice).
    """

    implied_returns: np.ndarray
    expected_returns: np.ndarray
    cov: np.ndarray


def unconstrained_mean_variance(mu, cov, risk_aversion: float) -> np.ndarray:
    """The weights maximising mu'w - (λ/2) w'Σw with no budget and no limits: Σ^-1 mu / λ.
    They need not sum to 1 (the rest is cash, or borrowing when they sum to more)."""
    mu, cov = _returns_and_covariance(mu, cov, definite=True)
    risk_aversion = _positive("risk_aversion", risk_aversion)
    return np.linalg.solve(cov, mu) / risk_aversion


def mean_variance(
    mu,
    cov,
    risk_aversion: float,
    *,
    max_weight: float | None = None,
    sector_of: Sequence[Hashable] | None = None,
    max_sector: float | None = None,
    cash_reserve: float = 0.0,
    long_only: bool = True,
) -> np.ndarray:
    """The weights maximising mu'w - (λ/2) w'Σw under the limits (module docstring).
    `sector_of` names each bond's sector, in the order of `mu`."""
    mu, cov = _returns_and_covariance(mu, cov)
    risk_aversion = _positive("risk_aversion", risk_aversion)
    limits = _Limits.checked(len(mu), max_weight, sector_of, max_sector, cash_reserve, long_only)
    return _optimise("mean_variance", mu, cov, risk_aversion, limits)


def rebalance(
    current,
    mu,
    cov,
    risk_aversion: float,
    cost_per_unit_turnover: float,
    *,
    max_weight: float | None = None,
    sector_of: Sequence[Hashable] | None = None,
    max_sector: float | None = None,
    cash_reserve: float = 0.0,
    long_only: bool = True,
) -> np.ndarray:
    """The weights to trade to from `current`: mean-variance under the limits, net of
    `cost_per_unit_turnover` times the value traded, sum_i |w_i - current_i| (a fraction of
    the portfolio). With no cost it is `mean_variance`'s target; as the cost grows it stays
    at `current` (when `current` meets the limits)."""
    mu, cov = _returns_and_covariance(mu, cov)
    current = _vector("current", current, len(mu), "one weight per bond")
    risk_aversion = _positive("risk_aversion", risk_aversion)
    cost = _non_negative("cost_per_unit_turnover", cost_per_unit_turnover)
    limits = _Limits.checked(len(mu), max_weight, sector_of, max_sector, cash_reserve, long_only)
    return _optimise("rebalance", mu, cov, risk_aversion, limits, current=current, cost=cost)


def risk_parity(cov, *, budgets=None) -> np.ndarray:
    """Long-only weights summing to 1 whose risk contributions w_i (Σw)_i are equal, or in
    proportion to `budgets` (positive, any scale).

    Solved as the convex problem min ½ y'Σy - sum_i b_i log y_i over y > 0, whose optimum has
    y_i (Σy)_i = b_i, then w = y / sum(y) (Spinu 2013; Maillard, Roncalli and Teiletche 2010).
    `cov` must be positive definite."""
    import cvxpy as cp

    _, cov = _returns_and_covariance(None, cov, definite=True)
    n = len(cov)
    if budgets is None:
        budgets = np.full(n, 1.0 / n)
    else:
        budgets = _vector("budgets", budgets, n, "one risk budget per bond")
        if not (budgets > 0).all():
            raise ValueError(f"budgets must all be positive (got {budgets.tolist()})")
        budgets = budgets / budgets.sum()
    # The weights do not depend on the covariance's scale; an O(1) one suits the solver.
    cov = cov / np.trace(cov) * n
    y = cp.Variable(n)
    barrier = 0.5 * cp.quad_form(y, cp.psd_wrap(cov)) - budgets @ cp.log(y)
    y = _polish_risk_parity(
        cov, budgets, _solve("risk_parity", cp.Problem(cp.Minimize(barrier)), y)
    )
    return y / y.sum()


def _polish_risk_parity(cov, budgets, y) -> np.ndarray:
    """Newton steps on the smooth barrier from the solver's optimum. The solver's tolerance
    leaves risk contributions as much as 1e-4 apart; from there Newton converges
    quadratically, to 1e-8 or better within a few steps."""
    for _ in range(10):
        gradient = cov @ y - budgets / y
        step = np.linalg.solve(cov + np.diag(budgets / y**2), gradient)
        while (step >= y).any():  # stay where the logarithm is defined
            step /= 2
        y = y - step
        if np.max(np.abs(step) / y) < 1e-12:
            break
    return y


def black_litterman(
    cov, market_weights, risk_aversion: float, tau: float, P, Q, omega=None
) -> BlackLittermanPosterior:
    """He and Litterman's (1999) posterior from the market portfolio and k views P mu = Q.

    pi = λ Σ w_mkt, and with the prior mu ~ N(pi, τΣ) and views P mu ~ N(Q, Ω):
        mean = [(τΣ)^-1 + P'Ω^-1 P]^-1 [(τΣ)^-1 pi + P'Ω^-1 Q]
        cov  = Σ + [(τΣ)^-1 + P'Ω^-1 P]^-1
    `P` is k x n (a view per row; k may be 0), `Q` has k entries, and `omega` (Ω, k x k)
    defaults to diag(P τΣ P'), He and Litterman's choice. A zero Ω makes the views certain:
    the posterior then meets them exactly."""
    _, cov = _returns_and_covariance(None, cov)
    n = len(cov)
    market_weights = _vector("market_weights", market_weights, n, "one weight per bond")
    risk_aversion = _positive("risk_aversion", risk_aversion)
    tau = _positive("tau", tau)
    P = np.asarray(P, dtype=float)
    if P.ndim != 2 or P.shape[1] != n or not np.isfinite(P).all():
        raise ValueError(
            f"P must be a finite matrix with a row per view and {n} columns, one per bond "
            f"(got shape {P.shape})"
        )
    views = len(P)
    Q = _vector("Q", Q, views, "one value per view (row of P)")
    prior_cov = tau * cov
    view_cov = P @ prior_cov @ P.T
    if omega is None:
        omega = np.diag(np.diag(view_cov))
    else:
        _, omega = _returns_and_covariance(None, omega, name="omega")
        if len(omega) != views:
            raise ValueError(
                f"omega must be {views}x{views}, one row per view (got shape {omega.shape})"
            )
    implied = risk_aversion * cov @ market_weights
    # The Woodbury form of the formulas above: it needs no inverse of Ω, so certain views work.
    disagreement = view_cov + omega
    if views and np.linalg.matrix_rank(disagreement) < views:
        raise ValueError("P must have independent views when omega makes them certain")
    gain = np.linalg.solve(disagreement, P @ prior_cov).T  # τΣP' (PτΣP' + Ω)^-1
    mean = implied + gain @ (Q - P @ implied)
    mean_uncertainty = prior_cov - gain @ P @ prior_cov
    posterior_cov = cov + (mean_uncertainty + mean_uncertainty.T) / 2
    return BlackLittermanPosterior(implied, mean, posterior_cov)


@dataclass(frozen=True)
class _Limits:
    """The checked limits of a mean-variance problem."""

    budget: float  # the weight the bonds take together: 1 - cash_reserve
    max_weight: float | None
    sectors: tuple[list[int], ...]  # each capped sector's bonds, by index
    max_sector: float | None
    long_only: bool

    @classmethod
    def checked(cls, n, max_weight, sector_of, max_sector, cash_reserve, long_only) -> _Limits:
        cash_reserve = _non_negative("cash_reserve", cash_reserve)
        if cash_reserve > 1:
            raise ValueError(f"cash_reserve must be a fraction in [0, 1] (got {cash_reserve!r})")
        budget = 1.0 - cash_reserve
        if max_weight is not None:
            max_weight = _positive("max_weight", max_weight)
        if sector_of is not None and len(sector_of) != n:
            raise ValueError(f"sector_of must name one sector per bond: {n} (got {len(sector_of)})")
        if max_sector is None:
            sectors = ()
        else:
            max_sector = _positive("max_sector", max_sector)
            if sector_of is None:
                raise ValueError("sector_of must name each bond's sector when max_sector is set")
            members = defaultdict(list)
            for index, sector in enumerate(sector_of):
                members[sector].append(index)
            sectors = tuple(members.values())
        bond_cap = math.inf if max_weight is None else max_weight
        rounding = 1e-12  # 3 bonds at 0.3 hold 0.8999999999999999, and that is 0.9
        if bond_cap * n < budget - rounding:
            raise ValueError(
                f"max_weight of {max_weight} on {n} bonds holds at most {bond_cap * n:g}, "
                f"less than the {budget:g} that 1 - cash_reserve puts in bonds"
            )
        if sectors:
            capacity = sum(min(max_sector, bond_cap * len(bonds)) for bonds in sectors)
            if capacity < budget - rounding:
                raise ValueError(
                    f"max_sector of {max_sector} on {len(sectors)} sectors (with max_weight "
                    f"{max_weight}) holds at most {capacity:g}, less than the {budget:g} that "
                    "1 - cash_reserve puts in bonds"
                )
        return cls(budget, max_weight, sectors, max_sector, bool(long_only))


def _optimise(name, mu, cov, risk_aversion, limits, *, current=None, cost=0.0) -> np.ndarray:
    """Maximise the mean-variance utility, less `cost` per unit of turnover from `current`."""
    import cvxpy as cp

    w = cp.Variable(len(mu))
    utility = mu @ w - risk_aversion / 2 * cp.quad_form(w, cp.psd_wrap(cov))
    if current is not None and cost > 0:
        utility = utility - cost * cp.norm1(w - current)
    # Dividing by the size of the terms leaves the optimum alone and makes the solver's
    # tolerances relative: daily returns and variances are 1e-4 and smaller.
    scale = max(np.abs(mu).max(), risk_aversion * np.abs(cov).max(), cost) or 1.0
    exposure = w if limits.long_only else cp.abs(w)
    constraints = [cp.sum(w) == limits.budget]
    if limits.long_only:
        constraints.append(w >= 0)
    if limits.max_weight is not None:
        constraints.append(exposure <= limits.max_weight)
    constraints += [cp.sum(exposure[bonds]) <= limits.max_sector for bonds in limits.sectors]
    return _solve(name, cp.Problem(cp.Maximize(utility / scale), constraints), w)


def _solve(name, problem, variable) -> np.ndarray:
    import cvxpy as cp

    try:
        with warnings.catch_warnings():
            # cvxpy's warning for a solve that met only the reduced tolerances (SOLVER_OPTIONS)
            warnings.filterwarnings("ignore", "Solution may be inaccurate", UserWarning)
            problem.solve(solver=SOLVER, **SOLVER_OPTIONS)
    except cp.error.SolverError as error:
        raise PortfolioSolverError(f"{name}: the solver {SOLVER} failed: {error}") from error
    if problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
        raise PortfolioSolverError(
            f"{name}: the solver {SOLVER} ended with status {problem.status!r}, not an optimum"
        )
    return np.asarray(variable.value, dtype=float)


def _returns_and_covariance(mu, cov, *, definite=False, name="cov"):
    """`mu` (None to skip) and `cov` as float arrays, checked and `cov` symmetrised."""
    cov = np.asarray(cov, dtype=float)
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1] or cov.size == 0:
        raise ValueError(f"{name} must be a non-empty square matrix (got shape {cov.shape})")
    if not np.isfinite(cov).all():
        raise ValueError(f"{name} must be finite (it holds NaN or infinity)")
    largest = np.abs(cov).max()
    if not np.allclose(cov, cov.T, rtol=0.0, atol=1e-12 * largest):
        raise ValueError(f"{name} must be symmetric")
    cov = (cov + cov.T) / 2
    eigenvalues = np.linalg.eigvalsh(cov)
    floor = _EIGENVALUE_TOLERANCE * max(eigenvalues.max(), 0.0)
    if eigenvalues.min() < -floor:
        raise ValueError(
            f"{name} must be positive semidefinite (smallest eigenvalue {eigenvalues.min():.3g})"
        )
    if definite and eigenvalues.min() <= floor:
        raise ValueError(
            f"{name} must be positive definite here (smallest eigenvalue "
            f"{eigenvalues.min():.3g}, largest {eigenvalues.max():.3g})"
        )
    if mu is not None:
        mu = _vector("mu", mu, len(cov), f"one expected return per row of {name}")
    return mu, cov


def _vector(name, values, length, what) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if values.shape != (length,):
        raise ValueError(f"{name} must hold {what}: {length} (got shape {values.shape})")
    if not np.isfinite(values).all():
        raise ValueError(f"{name} must be finite (it holds NaN or infinity)")
    return values


def _positive(name, value) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 < value < math.inf:
        raise ValueError(f"{name} must be a positive number (got {value!r})")
    return float(value)


def _non_negative(name, value) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 <= value < math.inf:
        raise ValueError(f"{name} must be a non-negative number (got {value!r})")
    return float(value)
