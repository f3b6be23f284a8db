"""Avellaneda-Stoikov against its paper: the quoting rule in the paper's own market model
(`strategies.avellaneda_stoikov.simulate_paper_model`, 20,000 paths, seed 2008) beside the
paper's Tables 1-3 (1,000 paths each), for each risk aversion and both strategies, with the
distance in the paper's standard errors (sd / sqrt(1,000) for a mean, sd / sqrt(2,000) for an
sd, both samples' errors combined)."""

from __future__ import annotations

import math

PATHS = 20_000
SEED = 2008
PAPER_PATHS = 1_000


def run() -> str:
    from strategies.avellaneda_stoikov import (
        PAPER_TABLES,
        AvellanedaStoikovParams,
        simulate_paper_model,
    )

    lines = [
        "## Avellaneda-Stoikov against its paper",
        "",
        f"The rule in the paper's market model ({PATHS:,} paths, seed {SEED}) beside the "
        "paper's Tables 1-3 (Avellaneda and Stoikov 2008; 2006 preprint, section 3.3: "
        "s = 100, sigma = 2, T = 1, dt = 0.005, k = 1.5, A = 140, 1,000 paths). Each cell: "
        "ours / the paper's (distance in standard errors).",
        "",
        "| gamma | strategy | profit | sd(profit) | final q | sd(q) |",
        "|---|---|---|---|---|---|",
    ]
    for (gamma, strategy), paper in PAPER_TABLES.items():
        ours = simulate_paper_model(
            AvellanedaStoikovParams(gamma=gamma), strategy, PATHS, SEED
        ).summary
        cells = []
        for mean, sd, paper_mean, paper_sd in (
            (ours.profit_mean, ours.profit_sd, paper.profit_mean, paper.profit_sd),
            (ours.inventory_mean, ours.inventory_sd, paper.inventory_mean, paper.inventory_sd),
        ):
            se_mean = math.hypot(sd / math.sqrt(PATHS), paper_sd / math.sqrt(PAPER_PATHS))
            se_sd = math.hypot(sd / math.sqrt(2 * PATHS), paper_sd / math.sqrt(2 * PAPER_PATHS))
            cells.append(f"{mean:.2f} / {paper_mean:.2f} ({(mean - paper_mean) / se_mean:+.1f})")
            cells.append(f"{sd:.2f} / {paper_sd:.2f} ({(sd - paper_sd) / se_sd:+.1f})")
        lines.append(f"| {gamma:g} | {strategy} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "The symmetric strategy and most inventory figures agree within sampling error. The "
        "inventory strategy at gamma = 0.5 earns more than the paper reports (and its profit "
        "varies more), and at gamma = 0.01 its final inventory varies more: the paper does not "
        "say what its simulation did differently there, and doubling or fixing the "
        "inventory-risk term of the spread does not reproduce its figures either. The tests "
        "mark these as known departures (tests/strategies/test_avellaneda_stoikov.py).",
    ]
    return "\n".join(lines)
