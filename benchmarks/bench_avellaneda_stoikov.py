"""Avellaneda-Stoikov against its paper: the quoting rule in the paper's own market model
(`strategies.avellaneda_stoikov.simulate_paper_model`, 20,000 paths, seed 2008) beside the
published paper's Tables 1-3 (1,000 paths each), for each risk aversion and both strategies,
with the distance in standard errors beyond the paper's rounding: both samples' errors
combined, a mean's sd / sqrt(n), an sd's sd sqrt((kurtosis - 1) / (4n)), as in
tests/strategies/test_avellaneda_stoikov.py."""

from __future__ import annotations

import math

import numpy as np

PATHS = 20_000
SEED = 2008
PAPER_PATHS = 1_000
# Half the last digit the paper prints: profits and sds to 0.1, the mean final q to 0.01.
ROUNDING = {"profit_mean": 0.05, "profit_sd": 0.05, "inventory_mean": 0.005, "inventory_sd": 0.05}
COLUMNS = {
    "profit_mean": "profit",
    "profit_sd": "sd(profit)",
    "inventory_mean": "final q",
    "inventory_sd": "sd(q)",
}


def run() -> str:
    from strategies.avellaneda_stoikov import (
        PAPER_TABLES,
        AvellanedaStoikovParams,
        average_spread,
        simulate_paper_model,
    )

    lines = [
        "## Avellaneda-Stoikov against its paper",
        "",
        f"The rule in the paper's market model ({PATHS:,} paths, seed {SEED}) beside the "
        "published paper's Tables 1-3 (Avellaneda and Stoikov 2008, section 3.3: s = 100, "
        "sigma = 2, T = 1, dt = 0.005, k = 1.5, A = 140, 1,000 paths). Each cell: ours / the "
        "paper's (distance in standard errors beyond the paper's rounding, both samples' errors "
        "combined; an sd's error from our paths' kurtosis).",
        "",
        "| gamma | strategy | average spread | " + " | ".join(COLUMNS.values()) + " |",
        "|---|---|---|---|---|---|---|",
    ]
    worst = (0.0, "")
    for (gamma, strategy), paper in PAPER_TABLES.items():
        params = AvellanedaStoikovParams(gamma=gamma)
        ours = simulate_paper_model(params, strategy, PATHS, SEED)
        cells = [f"{average_spread(params):.2f} / {paper.spread:.2f}"]
        for quantity, sample in (
            ("profit", ours.profit),
            ("inventory", ours.final_inventory.astype(float)),
        ):
            our_sd = getattr(ours.summary, f"{quantity}_sd")
            paper_sd = getattr(paper, f"{quantity}_sd")
            se = math.hypot(our_sd / math.sqrt(PATHS), paper_sd / math.sqrt(PAPER_PATHS))
            for figure, error in (
                (f"{quantity}_mean", se),
                (f"{quantity}_sd", se * math.sqrt((_kurtosis(sample) - 1) / 4)),
            ):
                mine, theirs = getattr(ours.summary, figure), getattr(paper, figure)
                beyond = max(abs(mine - theirs) - ROUNDING[figure], 0.0)
                distance = math.copysign(beyond, mine - theirs) / error if beyond else 0.0
                where = f"{COLUMNS[figure]}, gamma = {gamma:g} {strategy}"
                worst = max(worst, (abs(distance), where))
                cells.append(f"{mine:.2f} / {theirs:.2f} ({distance:+.1f})")
        lines.append(f"| {gamma:g} | {strategy} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"All 24 figures agree within sampling error: the farthest is {worst[0]:.1f} standard "
        f"errors ({worst[1]}). The paper's text, read literally, is the procedure: quotes from "
        "the state at t, each filled with probability min(1, A exp(-k delta) dt), delta from "
        "the mid at t, then the mid's move; the symmetric strategy quotes the inventory "
        "strategy's spread averaged over [0, T]. The October 2006 preprint's tables, with "
        "gamma = 0.5 in place of 1, differ from the published ones, and the preprint's "
        "gamma = 0.5 inventory row (mean profit 33.92) is not reproduced under any reading "
        "tried (our mean profit, 20,000 paths each): fills measured from the mid after its "
        "move 47.3, before it 48.6; the spread's inventory-risk term dropped 20.9, halved "
        "40.7, doubled 41.5; the skew halved 55.1, doubled 17.7, without (T - t) 6.4; spread "
        "term and skew both doubled 31.2 to 31.9, the nearest, but then gamma = 0.1's "
        "inventory profit is 13 to 18 standard errors off the preprint's. The published paper "
        "replaced those tables.",
    ]
    return "\n".join(lines)


def _kurtosis(x: np.ndarray) -> float:
    centred = x - x.mean()
    return float(np.mean(centred**4) / np.mean(centred**2) ** 2)
