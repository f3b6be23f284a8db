"""Surveillance scored on planted abuse: precision and recall of each detector over seeds.

``scenarios/surveillance_planted.toml`` puts a spoofer, a wash trader and a close marker among
honest agents. Each seed's run is surveilled (`sim.analytics.surveillance.surveil_result`) and
each detector's alerts are scored against the agents' kinds in agents.parquet:

- an alert is a true positive when its agent is a planted abuser of a kind the detector
  targets (`TARGETS`), and a false positive otherwise (an honest agent, or an abuser of
  another kind);
- precision is true positives over alerts (null without alerts);
- recall is the share of the planted abusers it targets that it flagged at least once (null
  when it targets none); day recall the share of their active days (a day with a trade of
  theirs) on which one of their alerts starts.

    scores = planted_scores(seeds=range(1, 11))   # a row per seed and detector
    table = precision_recall(scores)              # pooled over the seeds, a row per detector
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import polars as pl

from sim.analytics.surveillance import (
    DETECTOR_NAMES,
    SurveillanceParams,
    surveil_result,
)
from sim.engine.kernel import run
from sim.scenario.model import load_scenario
from sim.units import NS_PER_DAY

PLANTED_SCENARIO = "surveillance_planted"
# Which planted kinds each detector is meant to find; the others target nobody planted here.
TARGETS: dict[str, tuple[str, ...]] = {
    "spoofing": ("spoofer",),
    "layering": ("spoofer",),
    "wash_trade": ("wash_trader",),
    "marking_the_close": ("close_marker",),
    "quote_stuffing": (),
    "momentum_ignition": (),
    "mm_obligation": (),
}
PLANTED_KINDS = ("spoofer", "wash_trader", "close_marker")

SCORE_SCHEMA = {
    "detector": pl.String(),
    "targets": pl.String(),
    "planted": pl.Int64(),
    "found": pl.Int64(),
    "alerts": pl.Int64(),
    "true_positives": pl.Int64(),
    "false_positives": pl.Int64(),
    "flagged_honest": pl.List(pl.Int64),
    "active_days": pl.Int64(),
    "flagged_days": pl.Int64(),
}


def score_run(alerts: pl.DataFrame, agents: pl.DataFrame, trades: pl.DataFrame) -> pl.DataFrame:
    """One run's scores, a row per detector (`SCORE_SCHEMA` and `precision_recall`'s ratios):
    ``planted`` abusers it targets, those ``found``, its ``alerts``, ``true_positives``,
    ``false_positives``, ``flagged_honest`` (the agents not planted that it flagged),
    ``active_days`` and ``flagged_days`` of the abusers it targets."""
    kinds = dict(agents.select("agent", pl.col("kind").cast(pl.String)).iter_rows())
    planted = {agent for agent, kind in kinds.items() if kind in PLANTED_KINDS}
    active = _active_days(trades)
    rows = []
    for detector in DETECTOR_NAMES:
        targets = {agent for agent, kind in kinds.items() if kind in TARGETS[detector]}
        mine = alerts.filter(pl.col("detector") == detector)
        flagged = mine["agent"].to_list()
        hits = mine.filter(pl.col("agent").is_in(list(targets)))
        hit_days = set(hits.select("agent", day=pl.col("start") // NS_PER_DAY).iter_rows())
        target_days = {(agent, day) for agent, day in active if agent in targets}
        rows.append({
            "detector": detector,
            "targets": ", ".join(TARGETS[detector]),
            "planted": len(targets),
            "found": len(targets & set(flagged)),
            "alerts": len(flagged),
            "true_positives": hits.height,
            "false_positives": len(flagged) - hits.height,
            "flagged_honest": sorted(set(flagged) - planted),
            "active_days": len(target_days),
            "flagged_days": len(hit_days & target_days),
        })  # fmt: skip
    return _with_ratios(pl.DataFrame(rows, schema=SCORE_SCHEMA))


def planted_scores(
    seeds: Iterable[int] = (1, 2, 3),
    *,
    scenario: str = PLANTED_SCENARIO,
    overrides: Sequence[str] = (),
    params: SurveillanceParams | None = None,
) -> pl.DataFrame:
    """`score_run` of the planted scenario at each seed (run in memory, one after another),
    with a ``seed`` column first."""
    spec = load_scenario(scenario, overrides)
    scores = []
    for seed in seeds:
        result = run(spec, seed=seed, out=None)
        alerts = surveil_result(result, params=params)
        scores.append(
            score_run(alerts, result.agents, result.trades).select(
                pl.lit(seed, pl.Int64).alias("seed"), pl.all()
            )
        )
    return pl.concat(scores)


def precision_recall(scores: pl.DataFrame) -> pl.DataFrame:
    """`planted_scores` pooled over its seeds, a row per detector: the counts summed,
    ``flagged_honest`` the agents flagged in any seed, and ``precision``, ``recall`` and
    ``day_recall`` of the sums."""
    counts = [c for c, t in SCORE_SCHEMA.items() if t == pl.Int64()]
    pooled = scores.group_by("detector", "targets", maintain_order=True).agg(
        pl.col(counts).sum(),
        seeds=pl.len(),
        flagged_honest=pl.col("flagged_honest").explode().drop_nulls().unique().sort(),
    )
    columns = [c for c in SCORE_SCHEMA if c != "detector"]
    return _with_ratios(pooled).select(
        "detector", "seeds", *columns, "precision", "recall", "day_recall"
    )


def _with_ratios(scores: pl.DataFrame) -> pl.DataFrame:
    def ratio(numerator: str, denominator: str) -> pl.Expr:
        return pl.when(pl.col(denominator) > 0).then(pl.col(numerator) / pl.col(denominator))

    return scores.with_columns(
        precision=ratio("true_positives", "alerts"),
        recall=ratio("found", "planted"),
        day_recall=ratio("flagged_days", "active_days"),
    )


def _active_days(trades: pl.DataFrame) -> set[tuple[int, int]]:
    """(agent, day) for every agent and day with a trade of its, either side."""
    days = pl.col("time") // NS_PER_DAY
    sides = [trades.select(agent=pl.col(f"{role}_agent"), day=days) for role in ("maker", "taker")]
    return set(pl.concat(sides).unique().iter_rows())
