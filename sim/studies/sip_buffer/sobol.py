"""Global sensitivity of the absorption rate: Sobol indices estimated with SALib.

Each factor is a scenario key swept over a range (uniform); integer keys are rounded. The
design is SALib's Saltelli scheme on a scrambled Sobol sequence without second-order terms:
``N (D + 2)`` points for D factors and a base sample of N (a power of 2). Each point is one run
(a sweep's explicit ``points=``); a run's absorption is its output Y. SALib's estimators give,
per factor, the first-order index S1 (the share of Var(Y) the factor explains alone) and the
total index ST (alone and through its interactions), each with the half-width of its
`confidence` interval by bootstrap over the design's rows. A factor whose ST is near 0 does not
matter over its range; ST much above S1 means it acts through interactions.

What the estimates hold: the ranges chosen here, one seed per point (the market's own noise
then counts as unexplained variance, lowering every S1), and N small enough to run in minutes,
so the intervals are wide; a factor's rank is meaningful where the intervals do not overlap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl


@dataclass(frozen=True)
class Factor:
    """A scenario key varied uniformly over [low, high]; `integer` keys are rounded."""

    key: str
    low: float
    high: float
    label: str
    integer: bool = False


# The levers of the issue, around the study market's values (buffer 0.2, hazard 0.1, stress
# multiplier 5, quotes of 50 units, 1,000 investors).
FACTORS = (
    Factor("sip.buffer_fraction", 0.0, 0.5, "buffer share"),
    Factor("sip.exit_hazard_per_year", 0.05, 0.3, "redemption hazard (calm, per year)"),
    Factor("sip.stress_multiplier", 0.0, 10.0, "stress multiplier (hazard per unit of panic)"),
    Factor("market_maker.quote_size", 10, 200, "market-maker depth (units a side)", True),
    Factor("sip.investors", 250, 4000, "SIP cohort size (investors)", True),
)


def problem(factors: Sequence[Factor] = FACTORS) -> dict:
    """SALib's problem: names and bounds."""
    return {
        "num_vars": len(factors),
        "names": [f.key for f in factors],
        "bounds": [[f.low, f.high] for f in factors],
    }


def design(base_samples: int, factors: Sequence[Factor] = FACTORS, seed: int = 0) -> np.ndarray:
    """The Saltelli design, ``N (D + 2)`` rows of factor values (``N`` = `base_samples`, a
    power of 2)."""
    from SALib.sample import sobol  # lazy: SALib is an extra (bondlab[study])

    if base_samples < 2 or base_samples & (base_samples - 1):
        raise ValueError(f"base_samples: expected a power of 2 >= 2, got {base_samples}")
    return sobol.sample(
        problem(factors), base_samples, calc_second_order=False, scramble=True, seed=seed
    )


def points(rows: np.ndarray, factors: Sequence[Factor] = FACTORS) -> list[dict]:
    """The design's rows as sweep points, ``{key: value}``, integer keys rounded."""
    return [
        {f.key: round(v) if f.integer else float(v) for f, v in zip(factors, row, strict=True)}
        for row in rows
    ]


def analyze(
    outputs: np.ndarray,
    factors: Sequence[Factor] = FACTORS,
    *,
    confidence: float = 0.95,
    resamples: int = 1000,
    seed: int = 0,
) -> pl.DataFrame:
    """S1 and ST with their interval half-widths, one row per factor, ranked by ST (then
    S1), for the outputs of `design`'s rows in order. NaN outputs are refused: fill them first."""
    from SALib.analyze import sobol  # lazy: SALib is an extra (bondlab[study])

    outputs = np.asarray(outputs, float)
    if not np.all(np.isfinite(outputs)):
        raise ValueError("outputs: every run needs a finite value")
    with np.errstate(divide="ignore", invalid="ignore"):  # outputs without variance: NaN
        found = sobol.analyze(
            problem(factors),
            outputs,
            calc_second_order=False,
            num_resamples=resamples,
            conf_level=confidence,
            seed=seed,
        )
    table = pl.DataFrame(
        {
            "factor": [f.key for f in factors],
            "label": [f.label for f in factors],
            "low": [float(f.low) for f in factors],
            "high": [float(f.high) for f in factors],
            "S1": np.asarray(found["S1"], float),
            "S1_conf": np.asarray(found["S1_conf"], float),
            "ST": np.asarray(found["ST"], float),
            "ST_conf": np.asarray(found["ST_conf"], float),
        }
    )
    return table.sort(["ST", "S1"], descending=True).with_row_index("rank", offset=1)


def ishigami(rows: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    """The Ishigami function on [-pi, pi]^3, whose Sobol indices are known in closed form
    (`ishigami_indices`): the standard check of a Sobol estimator."""
    x1, x2, x3 = rows[:, 0], rows[:, 1], rows[:, 2]
    return np.sin(x1) + a * np.sin(x2) ** 2 + b * x3**4 * np.sin(x1)


def ishigami_indices(a: float = 7.0, b: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """(S1, ST) of the Ishigami function, from its variance decomposition (Ishigami and Homma
    1990; Saltelli et al. 2008, Global Sensitivity Analysis, section 4.6)."""
    pi = np.pi
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
    total = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / total, np.array([v1 + v13, v2, v13]) / total
