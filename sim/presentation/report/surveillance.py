"""The ``surveillance`` section: the alerts of the run's market-abuse detectors, each with its
evidence.

Alerts come as `sim.analytics.surveillance.surveil_result` gives them, one row an alert:
detector (str), agent (int), client (str or null), venue, instrument, start and end (int ns),
score (float), order_ids and trade_ids (lists of int) and evidence (str).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from sim.presentation.report.formats import clock, number
from sim.presentation.report.model import OK, WARN, Section, table

ALERT_COLUMNS = ("detector", "agent", "client", "venue", "instrument", "start", "end", "score",
                 "order_ids", "trade_ids", "evidence")  # fmt: skip
SHOWN_COLUMNS = ("detector", "agent", "client", "venue", "bond", "from", "to", "score",
                 "orders", "trades")  # fmt: skip
MAX_ALERTS = 200  # listed in full, by score; the summary counts them all
MAX_IDS = 8  # order and trade ids listed in an alert's row; the count says the rest


def surveillance_section(alerts: pl.DataFrame) -> Section:
    """The section of `alerts` (the schema above): a count by detector, then each alert with
    its evidence, highest score first."""
    missing = [c for c in ALERT_COLUMNS if c not in alerts.columns]
    if missing:
        raise ValueError(f"alerts frame lacks column(s) {', '.join(missing)}")
    if alerts.is_empty():
        return Section(
            id="surveillance",
            status=OK,
            status_text="no alerts",
            lead=("No detector raised an alert on this run's orders and trades.",),
        )
    summary = (
        alerts.group_by(pl.col("detector").cast(pl.String))
        .agg(
            alerts=pl.len(),
            agents=pl.col("agent").n_unique(),
            top_score=pl.col("score").max(),
        )
        .sort("detector")
    )
    listed = alerts.sort("score", "start", descending=[True, False]).head(MAX_ALERTS)
    rows = [
        (
            str(a["detector"]), number(a["agent"]), a["client"] or "–", str(a["venue"]),
            str(a["instrument"]), clock(a["start"]), clock(a["end"]), number(a["score"], 3),
            _ids(a["order_ids"]), _ids(a["trade_ids"]),
        )
        for a in listed.iter_rows(named=True)
    ]  # fmt: skip
    shown = "" if alerts.height <= MAX_ALERTS else f": the {MAX_ALERTS} highest scores"
    agents = alerts["agent"].n_unique()
    return Section(
        id="surveillance",
        status=WARN,
        status_text=f"{alerts.height} alert{'s' * (alerts.height != 1)}",
        lead=(
            f"{alerts.height} alerts on {agents} account{'s' * (agents != 1)}. Each names the "
            "orders and trades that make its evidence; the score is the pattern's strength.",
        ),
        tables=(
            table(
                ("detector", "alerts", "accounts", "top score"),
                [(d, number(n), number(k), number(s, 3)) for d, n, k, s in summary.iter_rows()],
                caption="Alerts by detector",
            ),
            table(
                SHOWN_COLUMNS,
                rows,
                caption=f"Each alert{shown}, its evidence under it",
                details=[f"Evidence: {text}" for text in listed["evidence"]],
            ),
        ),
        notes=(
            "Times are the run's wall-clock time; order ids are the venue's, trade ids "
            "trades.parquet's.",
        ),
    )


def _ids(ids: Sequence[int] | None) -> str:
    """Up to `MAX_IDS` ids, and how many more."""
    ids = list(ids or ())
    text = ", ".join(map(str, ids[:MAX_IDS]))
    return f"{text} (+{len(ids) - MAX_IDS} more)" if len(ids) > MAX_IDS else text or "–"
