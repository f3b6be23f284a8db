"""The shipped strategies in the baseline: each backtested over the full 20 days on seed 1
with its default parameters and ₹10 lakh (the market maker with 200 units of each bond to
quote from), one row each: what it traded, what it made and where the P&L came from
(agents.parquet's attribution: carry, valuation, trading, fees), its daily Sharpe and
drawdown, and the run's wall time."""

from __future__ import annotations

import time

SEED = 1
STRATEGIES = {  # ref: extra [strategy] fields
    "strategies.buy_and_hold:BuyAndHold": {},
    "strategies.mean_reversion:MeanReversion": {},
    "strategies.momentum:Momentum": {},
    "strategies.stat_arb:StatArb": {},
    "strategies.avellaneda_stoikov:AvellanedaStoikov": {"units": 200},
    "strategies.lgbm_alpha:LgbmAlpha": {},
    "strategies.allocator:Allocator": {},
}
READING = (
    "Read as a trader would: the market makers quote around the evaluated price, so the "
    "Avellaneda-Stoikov maker earns the spread (its trading P&L) on top of the carry of the"
    " bonds it quotes from, with its inventory bounded; buy and hold and the allocator earn"
    " carry and give up about a fifth of it crossing the spread to get invested; mean "
    "reversion buys real discounts to fair value but pays the spread and fees to exit; "
    "momentum and stat arb trade on intraday moves smaller than the spread and lose it; the"
    " LightGBM signal is right more often than not but rarely by more than the spread."
)
SHOWN = (
    "orders", "fills", "pnl_rupees", "pnl_carry_rupees", "pnl_valuation_rupees",
    "pnl_trading_rupees", "pnl_fees_rupees", "sharpe_ratio", "max_drawdown", "turnover",
    "max_inventory_units",
)  # fmt: skip


def run() -> str:
    from sim.studies.backtest import backtest

    lines = [
        "## Strategies in the baseline",
        "",
        f"Each shipped strategy backtested in `baseline` (20 trading days, seed {SEED}), default "
        "parameters, ₹10 lakh and no bonds to start with (the Avellaneda-Stoikov maker: 200 "
        "units of each bond to quote from). P&L in rupees at the evaluated prices, with its "
        "parts; Sharpe and drawdown of the daily returns (`benchmarks/bench_strategies.py`).",
        "",
        "| strategy | " + " | ".join(SHOWN) + " | run s |",
        "|---|" + "---|" * (len(SHOWN) + 1),
    ]
    for ref, host in STRATEGIES.items():
        started = time.perf_counter()
        figures = backtest(ref, {}, ["baseline"], (SEED,), host=host).runs[0].figures
        seconds = time.perf_counter() - started
        cells = [_cell(figures[name]) for name in SHOWN]
        lines.append(f"| `{ref.rpartition(':')[2]}` | " + " | ".join(cells) + f" | {seconds:.0f} |")
    return "\n".join([*lines, "", READING])


def _cell(value) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"
