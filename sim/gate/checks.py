"""A backtest against the gate's policy: the checks a version must pass to be promoted.

    sharpe             aggregate Sharpe of the pooled daily returns >= min_sharpe
    max_drawdown       aggregate maximum drawdown (a positive fraction) <= max_drawdown
    stress_drawdown    for each stress scenario of the suite, its worst run's drawdown
                       <= stress_max_drawdown
    beats_champion     when a production version exists: the candidate's aggregate Sharpe
                       minus the production version's, on the same scenarios and seeds,
                       >= beat_champion_by

A figure that could not be measured (no returns, zero volatility: NaN) fails its check.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

from sim.gate.policy import GatePolicy


@dataclass(frozen=True)
class Check:
    """One check: the figure, the bound it is held to and which way, and the outcome."""

    name: str
    value: float | None
    bound: float
    rule: Literal[">=", "<="]
    passed: bool

    def describe(self) -> str:
        shown = "not measured" if self.value is None else f"{self.value:.4g}"
        verb = "meets" if self.passed else "misses"
        return f"{self.name} {shown} {verb} {self.rule} {self.bound:g}"


@dataclass(frozen=True)
class Verdict:
    """Every check of one version, and whether it passed them all."""

    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    def failed(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]

    def reason(self) -> str:
        if self.passed:
            return "every check passed"
        return "; ".join(check.describe() for check in self.failed())

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "checks": [asdict(check) for check in self.checks]}


def _check(name: str, value: float | None, bound: float, rule: Literal[">=", "<="]) -> Check:
    if value is None or not math.isfinite(value):
        return Check(name, None, bound, rule, False)
    passed = value >= bound if rule == ">=" else value <= bound
    return Check(name, float(value), bound, rule, passed)


def evaluate(candidate, policy: GatePolicy, champion=None) -> Verdict:
    """`candidate` (a `sim.studies.backtest.Backtest`) against `policy`, and against
    `champion` (the production version's backtest on the same suite) when there is one."""
    limits = policy.thresholds
    aggregate = candidate.aggregate()
    checks = [
        _check("sharpe", aggregate["sharpe_ratio"], limits.min_sharpe, ">="),
        _check("max_drawdown", -aggregate["max_drawdown"], limits.max_drawdown, "<="),
    ]
    for row in candidate.scenario_pnl().filter("stress").iter_rows(named=True):
        name = f"stress_drawdown:{row['scenario']}"
        checks.append(_check(name, -row["worst_max_drawdown"], limits.stress_max_drawdown, "<="))
    if champion is not None:
        if (champion.scenarios, champion.seeds) != (candidate.scenarios, candidate.seeds):
            raise ValueError(
                "champion and challenger must be scored on the same scenarios and seeds: "
                f"{champion.scenarios} {champion.seeds} against "
                f"{candidate.scenarios} {candidate.seeds}"
            )
        margin = aggregate["sharpe_ratio"] - champion.aggregate()["sharpe_ratio"]
        checks.append(_check("beats_champion", margin, limits.beat_champion_by, ">="))
    return Verdict(tuple(checks))
