"""Realism: does the baseline bond market price like one? (issue 14's targets)

Runs `scenarios/baseline.toml` as shipped (20 trading days, no shocks) over seeds 1-5 and
compares what `sim.analytics.realism` measures with the targets and their sources. Each figure
is the median over the seeds of the per-run figure, with the seeds' range.
"""

from __future__ import annotations

import statistics

import polars as pl

SEEDS = (1, 2, 3, 4, 5)
GRADES = ("AAA", "AA", "A", "BBB", "BIG")
SOURCES = """Sources for the ranges:

- Chakravarty and Sarkar (2003), "Trading costs in three U.S. bond markets", Journal of Fixed
  Income 13(1): mean bid-ask spread 21 cents per 100 of par for corporate bonds (8 for
  Treasuries); maturity, trade size and credit rating drive it.
- Edwards, Harris and Piwowar (2007), "Corporate bond market transaction costs and
  transparency", Journal of Finance 62(3): costs fall with trade size; highly rated bonds cost
  less to trade. Schultz (2001), "Corporate bond trading costs: a peek behind the curtain",
  Journal of Finance 56(2): round trips of about 27 cents per 100 of par for institutions, and
  no evidence that lower-rated bonds cost more: on this point the sources disagree, and the
  target follows the issue and Edwards et al.
- The price band: the scenario's venues refuse orders more than 5% from the reference (the
  evaluated price), so no trade may lie beyond it.
- Trading activity by rating: the target follows the issue (lower-rated bonds trade less). It is
  met through an assumption, not a fit: the baseline's retail and value investors pick bonds with
  weights 1, 0.6, 0.35, 0.2 and 0.1 by grade (AAA to below BBB). With equal weights, lower-rated
  bonds traded more (AAA 651, AA 836, A 980, BBB 908 trades per bond), as wider quotes leave
  more room for resting orders to meet. No source with per-grade trade counts for India's
  exchange-traded corporate bonds was found to calibrate the weights.

Where a target is not met:

- The venues' mids differ by 3 to 3.5 ticks (target 2). Retail limit orders resting inside the
  makers' quotes on one venue move its mid; nobody copies them to the other venue, and the
  arbitrageur takes only books that cross after fees. Measured on the reduced baseline of
  `tests/analytics/test_realism.py` (2.5 ticks): makers quoting around the evaluated price
  alone (fair_value_weight 1) leave it at 2.5; retail pricing its orders off the consolidated
  mid of both venues leaves it at 2.5; without retail limit orders (market orders only) it is
  0. Closing it needs makers that match the better venue's touch inside their own width, or
  smart order routing (the strategies issue); neither is modelled.
"""


def measure(seed: int) -> dict:
    import sim
    from sim.analytics import realism
    from sim.scenario import library, load_scenario

    result = sim.run(load_scenario(library.locate("baseline")), seed=seed, out=None)
    gaps = realism.fair_value_gaps(result)
    retail = realism.retail_outcomes(result)
    spreads = realism.quoted_spreads(result)
    return {
        "gap_median_bp": gaps.median(),
        "gap_p99_bp": gaps.quantile(0.99),
        "gap_max_bp": gaps.max(),
        "spreads": spreads,
        "cross_venue_median_ticks": realism.cross_venue_gaps(result).median(),
        "arbitrage_edge_bp": realism.arbitrage_edge(result),
        "retail_trading_loss_share": retail.select((pl.col("trading_pnl") < 0).mean()).item(),
        "retail_loss_share": result.metrics["retail"]["share_with_loss"],
        "retail_corr": retail.select(pl.corr("fills", "trading_pnl")).item(),
        "trades_by_grade": realism.trades_by_grade(result),
    }


def _cell(values: list[float], fmt: str = "{:.1f}") -> str:
    mid = statistics.median(values)
    return f"{fmt.format(mid)} ({fmt.format(min(values))} to {fmt.format(max(values))})"


def run() -> str:
    runs = [measure(seed) for seed in SEEDS]
    grades = sorted({g for r in runs for g in r["spreads"]}, key=GRADES.index)

    def col(key):
        return [r[key] for r in runs]

    def met(ok: bool) -> str:
        return "met" if ok else "**not met**"

    spread_medians = {g: statistics.median(r["spreads"][g] for r in runs) for g in grades}
    ordered = [spread_medians[g] for g in grades]
    trades = {g: statistics.median(r["trades_by_grade"][g] for r in runs) for g in grades}
    falling = list(trades.values()) == sorted(trades.values(), reverse=True)
    rows = [
        ("median \\|trade - fair value\\| (bp)", _cell(col("gap_median_bp")), "<= 20",
         met(statistics.median(col("gap_median_bp")) <= 20)),
        ("99th percentile (bp)", _cell(col("gap_p99_bp")), "<= 200",
         met(max(col("gap_p99_bp")) <= 200)),
        ("largest (bp)", _cell(col("gap_max_bp"), "{:.0f}"), "inside the band (500)",
         met(max(col("gap_max_bp")) <= 500)),
        *[
            (f"median quoted spread, {g} (bp)",
             _cell([r["spreads"][g] for r in runs]),
             "5 to 50" if g in ("AAA", "AA") else "wider than AA",
             met(5 <= spread_medians[g] <= 50) if g in ("AAA", "AA")
             else met(spread_medians[g] > spread_medians.get("AA", 0)))
            for g in grades
        ],
        ("spreads monotone in rating", " < ".join(f"{v:.1f}" for v in ordered), "monotone",
         met(ordered == sorted(ordered))),
        ("median \\|mid NSE - mid BSE\\| (ticks)", _cell(col("cross_venue_median_ticks")),
         "<= 2", met(statistics.median(col("cross_venue_median_ticks")) <= 2)),
        ("arbitrageur's edge (bp of value traded)", _cell(col("arbitrage_edge_bp")), "<= 20",
         met(max(col("arbitrage_edge_bp")) <= 20)),
        ("retail investors with a trading loss", _cell(col("retail_trading_loss_share"), "{:.2f}"),
         "report", ""),
        ("retail investors with a loss (carry included)", _cell(col("retail_loss_share"),
         "{:.3f}"), "report", ""),
        ("corr(trading PnL, fills), retail", _cell(col("retail_corr"), "{:.2f}"), "< 0",
         met(max(col("retail_corr")) < 0)),
        ("trades per bond by grade", ", ".join(f"{g} {trades[g]:.0f}" for g in grades),
         "falling with rating", met(falling)),
    ]  # fmt: skip
    table = "| measure | baseline, seeds 1-5: median (range) | target | |\n|---|---|---|---|\n"
    table += "\n".join(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows)
    return f"## Realism\n\n{__doc__.strip()}\n\n{table}\n\n{SOURCES}"
