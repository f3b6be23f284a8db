"""The sections on the populations a regulator watches: ``sip`` (how much of the investors'
early exits the liquidity pool absorbed), ``market-makers`` (the makers' compliance with their
tiers' quoting obligations) and ``repo`` (margin calls and forced sales).

Figures come from metrics.json, where each population keeps its own group (``sip``,
``market_makers``, ``repo``; a second population of a kind adds ``<group>/<population>``), and
from agents.parquet; the stress window's shares from `sim.analytics.stress`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from sim.presentation.report.formats import metric, metric_label, number, percent
from sim.presentation.report.model import OK, WARN, Section, table

TIER_COLUMNS = ("tier", "makers", "books", "session hours", "breach periods",
                "breach hours", "time in breach")  # fmt: skip
MAKER_COLUMNS = ("agent", "population", "tier", "obligation", "presence",
                 "mean quoted spread (ticks)", "inventory (units)")  # fmt: skip


def metric_groups(metrics: Mapping[str, Any], group: str) -> dict[str, dict[str, Any]]:
    """The groups of metrics.json named `group` or ``<group>/<population>``, by that name."""
    return {
        name: dict(values)
        for name, values in sorted(metrics.items())
        if (name == group or name.startswith(f"{group}/")) and isinstance(values, Mapping)
    }


def _groups_table(groups: Mapping[str, Mapping[str, Any]], caption: str):
    """One row a figure, one column a group."""
    keys = sorted({key for values in groups.values() for key in values})
    rows = [(metric_label(k), *(metric(k, g.get(k)) for g in groups.values())) for k in keys]
    return table(("figure", *groups), rows, caption=caption)


def sip_section(metrics: Mapping[str, Any], outcomes: Mapping[str, Any]) -> Section:
    """SIP absorption: the share of the exit units investors asked to sell that the pool
    bought, over the run and in the stress window, with the cohorts' own figures."""
    groups = metric_groups(metrics, "sip")
    if not groups:
        return Section(id="sip", lead=("The run has no SIP cohort.",))
    lead = []
    for name, g in groups.items():
        lead.append(
            f"{name}: the pool absorbed {percent(g.get('absorption_rate_units'))} of the exit "
            f"units investors asked to sell ({number(g.get('exit_units_absorbed'))} of "
            f"{number(g.get('exit_units_requested'))}; {number(g.get('exit_units_sold'))} "
            f"sold on the book) over {number(g.get('exits'))} exits."
        )
    window = outcomes.get("sip_absorption_window")
    if outcomes.get("shock_day") is not None:
        lead.append(f"In the stress window it absorbed {percent(window)} of the exit units.")
    return Section(
        id="sip",
        lead=tuple(lead),
        tables=(_groups_table(groups, "The SIP cohorts and their pool, over the run"),),
        notes=(
            "Absorption in units: units the pool bought over units investors asked to sell "
            "early; an exit still open at the end is in neither.",
        ),
    )


def market_makers_section(
    metrics: Mapping[str, Any],
    agents: pl.DataFrame,
    scenario: Mapping[str, Any],
    compliance: pl.DataFrame,
) -> Section:
    """Market makers against their tiers' obligations (spread within ``max_spread_ticks``,
    each side at least ``min_size``): by tier, the share of session time their quotes in the
    book were in breach, from the records (`compliance`: surveillance's
    `tier_compliance`); and each maker's presence as it measured its own quotes (metrics.json),
    which a quote the venue refused does not lower. `scenario` is the manifest's resolved
    scenario, which holds each population's tier."""
    presence = {
        key: value
        for values in metric_groups(metrics, "market_makers").values()
        for key, value in values.items()
    }
    makers = agents.filter(pl.col("kind").cast(pl.String) == "market_maker").sort("agent")
    if makers.is_empty():
        return Section(id="market-makers", lead=("The run has no market makers.",))
    rows = []
    for row in makers.iter_rows(named=True):
        params = scenario.get(str(row["population"])) or {}
        obligation = (f"spread ≤ {params.get('max_spread_ticks')} ticks, "
                      f"≥ {params.get('min_size')} units a side")  # fmt: skip
        rows.append((
            number(row["agent"]), str(row["population"]), str(params.get("tier") or "none"),
            obligation, percent(presence.get(f"maker_{row['agent']}_presence")),
            number(row.get("mean_quoted_spread_ticks"), 3), number(row.get("inventory")),
        ))  # fmt: skip
    tiers = [
        (t["tier"], number(t["makers"]), number(t["books"]), number(t["session_hours"], 1),
         number(t["breach_periods"]), number(t["breach_hours"], 2),
         percent(t["breach_share"]))
        for t in compliance.iter_rows(named=True)
    ]  # fmt: skip
    worst = compliance["breach_share"].max() if compliance.height else None
    status = None if worst is None else (OK if worst == 0 else WARN)
    return Section(
        id="market-makers",
        status=status,
        status_text="" if worst is None else f"most time in breach {percent(worst)}",
        lead=(
            f"{len(rows)} market makers. By tier, the time their quotes in the book missed "
            "their obligations, rebuilt from their orders and fills (a side missing, the "
            "spread too wide or a side too small, for longer than a requote's gap); each "
            "maker's presence is the share of its own quote checks at which it met them.",
        ),
        tables=(
            table(TIER_COLUMNS, tiers, caption="Compliance by tier, from the records"),
            table(MAKER_COLUMNS, rows, caption="Each market maker, as it measured itself"),
        ),
        notes=(
            "A maker's presence counts the quotes it meant to post: one the venue refused (say, "
            "an ask for units it had not yet received) lowers the records' figure, not its "
            "own. The breaches themselves are surveillance alerts (mm_obligation).",
        ),
    )


def repo_section(
    metrics: Mapping[str, Any], agents: pl.DataFrame, outcomes: Mapping[str, Any]
) -> Section:
    """Margin calls and forced sales: the repo lenders' figures over the run, the units sold
    in the stress window, and each account that was called or sold out."""
    groups = metric_groups(metrics, "repo")
    if not groups:
        return Section(id="repo", lead=("The run has no repo book.",))
    lead = [
        f"{name}: {number(g.get('margin_calls'))} margin calls, "
        f"{number(g.get('calls_unmet'))} unmet; {number(g.get('forced_sale_orders'))} forced-"
        f"sale orders selling {number(g.get('forced_sale_units'))} units of collateral."
        for name, g in groups.items()
    ]
    if outcomes.get("shock_day") is not None:
        sold = number(outcomes.get("forced_sale_units_window"))
        lead.append(f"In the stress window lenders sold {sold} units in forced sales.")
    tables = [_groups_table(groups, "The repo book, over the run")]
    columns = [c for c in ("repo_margin_calls", "repo_forced_sale_units") if c in agents.columns]
    if columns:
        called = agents.filter(pl.any_horizontal(pl.col(c).fill_null(0) > 0 for c in columns))
        tables.append(
            table(
                ("agent", "kind", "margin calls", "forced-sale units", "open repos"),
                [
                    (number(r["agent"]), str(r["kind"]), number(r.get("repo_margin_calls")),
                     number(r.get("repo_forced_sale_units")), number(r.get("repo_open")))
                    for r in called.sort("agent").iter_rows(named=True)
                ],
                caption="Accounts with a margin call or a forced sale",
            )
        )  # fmt: skip
    return Section(
        id="repo",
        lead=tuple(lead),
        tables=tuple(tables),
        notes=(
            "From metrics.json (repo) and agents.parquet; the window's forced sales from the "
            "trades (sim.analytics.stress).",
        ),
    )
