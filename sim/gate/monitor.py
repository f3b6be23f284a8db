"""Monitoring the production version: re-scored on a fresh stream, rolled back on degradation.

`monitor(name, stream, policy)` takes the production version's strategy and parameters (its
version's tags, as the gate set them) and scores it on `stream`:

- a finished run's results folder (yesterday's run, say): the strategy goes through its
  recorded market data without the agents that made it (`sim.strategy.replay`), starting
  with ₹10 lakh, its orders filled on paper against the recorded touch;
- otherwise a scenario (a name or a file: a LOBSTER replay day, a stress file): a backtest on
  the policy's seeds.

It compares the daily returns' Sharpe and maximum drawdown with the version's gate figures
under the policy's ``[monitoring]`` rule: degraded when the Sharpe falls more than
`max_sharpe_drop` below the gate's, or the drawdown exceeds `max_drawdown`. Every check is a
"monitor" record of the decision log; on degradation with `auto_rollback`, production rolls
back to the version before (`registry.rollback`, by "monitor"), recorded too. Nightly, from
any scheduler, e.g. cron at 02:00:

    0 2 * * * cd /srv/bondlab && .venv/bin/bondlab monitor alpha --stream results/yesterday
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.analytics import performance
from sim.gate import registry
from sim.gate.policy import GatePolicy

REPLAY_CASH_RUPEES = 1_000_000.0


@dataclass(frozen=True)
class MonitorOutcome:
    """One monitoring check: the version, its figures on the stream against the gate's, and
    what happened (rolled back to a version, or None)."""

    name: str
    version: int
    sharpe: float
    max_drawdown: float  # positive fraction
    gate_sharpe: float
    degraded: bool
    reasons: tuple[str, ...]
    rolled_back_to: int | None


def monitor(
    name: str,
    stream: str | os.PathLike,
    policy: GatePolicy,
    *,
    tracking_uri: str | None = None,
    log_folder: str | os.PathLike | None = None,
) -> MonitorOutcome:
    """Score `name`'s production version on `stream` and act on the policy's rule."""
    uri = registry.tracking_uri(tracking_uri)
    version, tags = registry.production_version(name, tracking_uri=uri)
    strategy, params = tags["strategy"], json.loads(tags.get("params", "{}"))
    returns = _returns(strategy, params, stream, policy)
    sharpe = performance.sharpe_ratio(returns)
    drawdown = abs(performance.max_drawdown(returns))
    gate_sharpe = float(tags.get("gate.sharpe", "nan"))
    rule = policy.monitoring
    reasons = []
    if not math.isfinite(sharpe) or sharpe < gate_sharpe - rule.max_sharpe_drop:
        reasons.append(
            f"sharpe {sharpe:.4g} below the gate's {gate_sharpe:.4g} by more than "
            f"{rule.max_sharpe_drop:g}"
        )
    if drawdown > rule.max_drawdown:
        reasons.append(f"max_drawdown {drawdown:.4g} beyond {rule.max_drawdown:g}")
    log = registry.decision_log(uri, log_folder)
    log.append("monitor", name, version, who="monitor", stream=str(stream), sharpe=sharpe,
               max_drawdown=drawdown, gate_sharpe=gate_sharpe, degraded=bool(reasons),
               reason="; ".join(reasons) or "within the rule", production=version)  # fmt: skip
    rolled_back_to = None
    if reasons and rule.auto_rollback:
        record = registry.rollback(name, who="monitor", tracking_uri=uri,
                                   log_folder=log.path.parent)  # fmt: skip
        rolled_back_to = record["production"]
    return MonitorOutcome(
        name, version, sharpe, drawdown, gate_sharpe, bool(reasons), tuple(reasons),
        rolled_back_to,
    )  # fmt: skip


def _returns(strategy: str, params: dict[str, Any], stream, policy: GatePolicy) -> np.ndarray:
    """The strategy's daily returns on `stream` (see the module doc)."""
    from sim.strategy.loading import build_strategy, load_strategy, strategy_params

    folder = Path(stream)
    if (folder / "manifest.json").is_file():
        from sim.strategy.replay import replay

        cls = load_strategy(strategy)
        checked = strategy_params(cls, params)
        result = replay(build_strategy(cls, checked), folder, params=checked,
                        cash_rupees=REPLAY_CASH_RUPEES)  # fmt: skip
        equity = result.equity["equity"].to_numpy().astype(np.float64)
        before = np.concatenate(([REPLAY_CASH_RUPEES * 100], equity[:-1]))
        return equity / before - 1.0
    from sim.studies.backtest import backtest

    suite = policy.suite
    tested = backtest(strategy, params, [str(stream)], suite.seeds, overrides=suite.overrides)
    return tested.pooled_returns()
