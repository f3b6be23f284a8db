"""The one-page tearsheet of a backtest (`sim.studies.backtest.Backtest`).

Top left, each run's cumulative return by trading day (one line per run, a colour per
scenario); below it, each run's drawdown from its peak equity; below that, each scenario's
P&L (mean over its seeds, the bar from the worst to the best run; stress files hatched). Top
right, the aggregate figures: the pooled daily returns' performance and the means over the
runs; below them VaR and expected shortfall of the pooled daily returns by method; then the
drivers of its decisions, for a strategy that explains them with per-feature contributions
(mean absolute contribution, largest eight). How the figures are measured is noted at the
foot.
"""

from __future__ import annotations

import math
import textwrap

import numpy as np

SHOWN = (  # aggregate figures on the page: (key, label, format)
    ("runs", "runs", "d"),
    ("annual_return", "annual return", ".2%"),
    ("annual_volatility", "annual volatility", ".2%"),
    ("sharpe_ratio", "Sharpe", ".2f"),
    ("sortino_ratio", "Sortino", ".2f"),
    ("max_drawdown", "max drawdown", ".2%"),
    ("calmar_ratio", "Calmar", ".2f"),
    ("hit_rate", "hit rate (days)", ".1%"),
    ("mean_pnl_rupees", "mean P&L (₹)", ",.0f"),
    ("mean_turnover", "mean turnover", ".2f"),
    ("mean_max_inventory_units", "mean max inventory", ",.0f"),
)


def tearsheet(backtest):
    """A matplotlib figure: the backtest on one page."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # lazy: slow to import
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12.0, 8.5))
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(
        3, 2, width_ratios=(1.6, 1.0), hspace=0.5, wspace=0.25, bottom=0.14, top=0.9
    )
    curves, drawdowns = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[1, 0])
    stats, var, pnl = (fig.add_subplot(grid[i, 1]) for i in range(3))
    by_scenario = fig.add_subplot(grid[2, 0])
    _curves(backtest, curves, drawdowns)
    _figures(backtest.aggregate(), stats)
    _var(backtest.var_table(), var)
    _scenario_pnl(backtest.scenario_pnl(), by_scenario)
    _drivers(backtest.drivers(), pnl)
    note = textwrap.fill(
        "Daily returns: equity at each close (cash and positions at the published valuation) "
        "over the close before; pooled over every run in order of scenario and seed. 252 "
        "periods a year, sample sd (empyrical's conventions). VaR and ES are one-day losses "
        f"as a share of equity. Scored on {backtest.scoring}.",
        width=170,
    )
    fig.text(0.02, 0.01, note, fontsize="small", va="bottom")
    seeds = ", ".join(map(str, backtest.seeds))
    fig.suptitle(f"{backtest.strategy}: {', '.join(backtest.scenarios)} (seeds {seeds})")
    return fig


def _colours(names):
    palette = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")
    return {name: palette[i % len(palette)] for i, name in enumerate(dict.fromkeys(names))}


def _curves(backtest, curves, drawdowns) -> None:
    colours = _colours(r.scenario for r in backtest.runs)
    if backtest.walk_forward is not None:  # the first training window: not scored
        for ax in (curves, drawdowns):
            ax.axvspan(0.5, backtest.walk_forward.train_days + 0.5, color="0.92", lw=0)
    labelled = set()
    for run in backtest.runs:
        returns = np.nan_to_num(run.daily["return"].to_numpy())
        wealth = np.cumprod(1.0 + returns)
        days = run.daily["day"].to_numpy() + 1
        label = None if run.scenario in labelled else run.scenario
        labelled.add(run.scenario)
        colour = colours[run.scenario]
        curves.plot(days, (wealth - 1.0) * 100, color=colour, lw=1, alpha=0.8, label=label)
        peak = np.maximum.accumulate(np.concatenate(([1.0], wealth)))[1:]
        drawdowns.plot(days, (wealth / peak - 1.0) * 100, color=colour, lw=1, alpha=0.8)
    curves.axhline(0, color="0.5", lw=0.6)
    curves.set(ylabel="cumulative return (%)", title="equity by run")
    curves.legend(loc="best", fontsize="small")
    drawdowns.set(xlabel="trading day", ylabel="drawdown (%)", title="drawdown by run")


def _figures(aggregate: dict, ax) -> None:
    ax.axis("off")
    rows = []
    for key, label, spec in SHOWN:
        value = aggregate.get(key)
        missing = value is None or (isinstance(value, float) and not math.isfinite(value))
        rows.append([label, "-" if missing else format(value, spec)])
    table = ax.table(cellText=rows, loc="upper center", colWidths=(0.6, 0.4))
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    ax.set_title("aggregate")


def _var(frame, ax) -> None:
    ax.axis("off")
    rows = [
        [method, f"{confidence:.0%}", f"{var:.3%}", f"{es:.3%}"]
        for method, confidence, var, es in frame.select("method", "confidence", "var", "es").rows()
    ]
    table = ax.table(cellText=rows, colLabels=["method", "conf.", "VaR", "ES"], loc="upper center")
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    ax.set_title("one-day VaR and expected shortfall")


def _drivers(frame, ax) -> None:
    if frame.is_empty():
        ax.axis("off")
        ax.text(0.5, 0.5, "no per-feature explanations\nin its decisions", ha="center",
                va="center", color="0.4", transform=ax.transAxes)  # fmt: skip
        return
    top = frame.head(8).reverse()
    ax.barh(top["feature"].to_list(), top["mean_abs_contribution"].to_list(), color="tab:green")
    ax.set(xlabel="mean |contribution| (its prediction's units)", title="drivers of decisions")
    ax.tick_params(axis="y", labelsize="small")


def _scenario_pnl(frame, ax) -> None:
    names = frame["scenario"].to_list()
    mean = np.array(frame["mean_pnl_rupees"].to_list(), dtype=float)
    low = mean - np.array(frame["worst_pnl_rupees"].to_list(), dtype=float)
    high = np.array(frame["best_pnl_rupees"].to_list(), dtype=float) - mean
    bars = ax.bar(names, mean, yerr=[low, high], capsize=4, color="tab:blue", alpha=0.8)
    for bar, stress in zip(bars, frame["stress"].to_list(), strict=True):
        if stress:
            bar.set_hatch("//")
    ax.axhline(0, color="0.5", lw=0.6)
    ax.set(ylabel="P&L (₹)", title="P&L by scenario (stress files hatched)")
    ax.tick_params(axis="x", labelrotation=20)
