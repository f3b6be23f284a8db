"""The Liquidity Pulse against realised liquidity (issue 21): the index's validation and its
T+1..T+5 forecasts, on full-length runs of the baseline and the five stress files.

- Validation (`sim.pulse.validate`): seed 1 of every scenario, and seed 2 of the two weakest
  (taper_tantrum_2013 and covid_2020) out of sample.
- Forecasts (`sim.pulse.forecasting.forecast`, `sim.pulse.forecast_evaluation.evaluate`) of
  seed 1's daily index, walk-forward, trained three ways: on the run's own history alone; with
  a library of the other five scenarios' runs (seeds 2-4: the scenario forecast is never
  seen); with a library of the same scenario's seeds 2-4 (the same script of shocks, other
  draws).

Runs are kept in `CACHE`, a folder per run id (which holds the scenario's hash: a changed file
is run again; after changing the engine, delete the folder), and are made one at a time: 24
runs, about 30 minutes on 2 cores when none is cached. The section takes about 20 more on a
shared 2-core machine (the library of the other scenarios, 6 minutes, the most).

    python -m benchmarks.bench_pulse      # print the section
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

SCENARIOS = ("baseline", "gfc_2008", "taper_tantrum_2013", "brexit_2016", "ilfs_2018", "covid_2020")
CALM = ("baseline", "brexit_2016")
OUT_OF_SAMPLE = ("taper_tantrum_2013", "covid_2020")
TEST_SEED = 1
LIBRARY_SEEDS = (2, 3, 4)
VENUES = ("NSE", "BSE")
COVERAGE_GOAL = (0.75, 0.85)
CACHE = Path(tempfile.gettempdir()) / "bondlab-bench-pulse"
SETUPS = {
    "own": "the run's own history alone",
    "other scenarios": "+ a library of the other five scenarios, seeds 2-4 (15 runs)",
    "same scenario": "+ a library of the same scenario, seeds 2-4 (3 runs)",
}


def _result(name: str, seed: int):
    """Seed `seed` of scenario `name`, from the cache or run now (and cached)."""
    import sim

    scenario = sim.load_scenario(name)
    folder = CACHE / f"{scenario.name}-seed{seed}-{scenario.hash[:8]}"
    if not (folder / "manifest.json").exists():
        sim.run(scenario, seed=seed, out=CACHE)
    return sim.Result.load(folder)


def _library(setup: str, name: str, histories: dict) -> list:
    if setup == "own":
        return []
    if setup == "other scenarios":
        return [histories[o, s] for s in LIBRARY_SEEDS for o in SCENARIOS if o != name]
    return [histories[name, s] for s in LIBRARY_SEEDS]


def _frame_cost(name: str) -> dict:
    """The whole Pulse frame of seed 1 of `name` in a process of its own: seconds, rows and
    the process's peak resident memory (the run's frames read in included)."""
    folder = _result(name, TEST_SEED).path
    code = (
        "import json, resource, time, sim\n"
        "from sim.pulse import pulse\n"
        f"result = sim.Result.load({str(folder)!r})\n"
        "started = time.perf_counter()\n"
        "frame = pulse(result)\n"
        "seconds = time.perf_counter() - started\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20\n"
        "print(json.dumps({'seconds': seconds, 'rows': frame.height, 'peak_gb': peak}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run() -> str:
    from sim.pulse import validate
    from sim.pulse.forecast_evaluation import evaluate
    from sim.pulse.forecast_features import daily_index
    from sim.pulse.forecasting import forecast

    measured = datetime.now(UTC)
    load = os.getloadavg()[0]
    checks, histories = {}, {}
    for name in SCENARIOS:
        result = _result(name, TEST_SEED)
        started = time.perf_counter()
        checks[name] = validate(result) | {"seconds": time.perf_counter() - started}
        histories[name, TEST_SEED] = daily_index(result)
    again = {name: validate(_result(name, 2)) for name in OUT_OF_SAMPLE}
    for seed in LIBRARY_SEEDS:
        for name in SCENARIOS:
            histories[name, seed] = daily_index(_result(name, seed))
    scores = {}
    for setup in SETUPS:
        for name in SCENARIOS:
            history = histories[name, TEST_SEED]
            started = time.perf_counter()
            frame = forecast(history, library=_library(setup, name, histories))
            seconds = time.perf_counter() - started
            first = frame["drivers"].list.first().struct.field("feature")
            scores[setup, name] = (evaluate(frame, history), seconds, first)
    cost = _frame_cost("gfc_2008")
    lines = [*_validation(checks, again, measured, load, cost), "", *_forecasts(scores)]
    return "\n".join(lines) + "\n"


# --- the validation ----------------------------------------------------------------------------


def _rho(value) -> str:
    return "-" if value is None else f"{value:+.2f}".replace("+-", "-")


def _validation(checks: dict, again: dict, measured, load: float, cost: dict) -> list[str]:
    import platform

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.machine(),
    )
    lines = [
        "## Liquidity Pulse: the index against realised liquidity",
        "",
        "`sim.pulse.validate(result)` on full-length runs of the baseline and the five stress "
        f"files, seed {TEST_SEED} (`sim.run(sim.load_scenario(NAME), seed={TEST_SEED})`, then "
        "`validate` on the loaded run; `benchmarks/bench_pulse.py`). For every bond and trading "
        "day it pairs the bond's daily liquidity index on the consolidated book (both venues' "
        "levels added; the index as known at the day's close) with the **realised cost of "
        "tomorrow's round trip**: at each of the next day's book snapshots (every 5 minutes), "
        "buy then sell Rs 1 lakh of face (100 units) against the recorded levels, best first, "
        "and take what both legs lose in bp of mid, the effective spread plus the impact of "
        "walking the book; what the five recorded levels a side cannot fill pays a 500 bp "
        "concession from mid (or the worst level, if worse); the day's figure is the mean over "
        "its snapshots (`sim/pulse/round_trip.py`, `sim/pulse/validation.py`). The goal is "
        "Spearman's rho <= -0.5 across every bond and day: a higher index, a cheaper trade.",
        "",
        f"Measured {measured:%Y-%m-%d %H:%M} UTC on this {os.cpu_count()}-core {cpu} machine, "
        f"shared with other jobs (a load average of {load:.1f} when it began).",
        "",
        "| scenario | days | bond-days paired | rho (consolidated) | rho NSE | rho BSE | mean rho "
        "within a day (across bonds) | mean rho within a bond (across days) | median cost, bp "
        "| goal met | `validate` s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, v in checks.items():
        venues = " | ".join(_rho(v["spearman_by_venue"].get(venue)) for venue in VENUES)
        lines.append(
            f"| {name} | {v['days']} | {v['pairs']:,} | **{_rho(v['spearman'])}** | {venues} "
            f"| {_rho(v['cross_section_rho'])} | {_rho(v['time_series_rho'])} "
            f"| {v['median_cost_bp']:.1f} | {'yes' if v['meets_goal'] else 'NO'} "
            f"| {v['seconds']:.1f} |"
        )
    missed = [name for name, v in checks.items() if not v["meets_goal"]]
    venue_misses = [
        f"{name}'s {venue} book ({_rho(rho)})"
        for name, v in checks.items()
        for venue, rho in sorted(v["spearman_by_venue"].items(), reverse=True)
        if rho is not None and rho > -0.5
    ]
    stress_rhos = [v["time_series_rho"] for n, v in checks.items() if n not in CALM]
    lines += [
        "",
        (
            "Every run meets the goal on the consolidated book, the index the validation is for."
            if not missed
            else f"On the consolidated book, {', '.join(missed)} miss the goal."
        )
        + (
            f" On a single venue's book, {' and '.join(venue_misses)} "
            f"{'misses' if len(venue_misses) == 1 else 'miss'} it: one venue's book is thinner "
            "and noisier, and the index of one venue is normalised against both venues' books "
            "pooled."
            if venue_misses
            else " So does every venue's own book."
        )
        + " In the calm runs (baseline, brexit_2016) costs hardly move from day to day, so the "
        "correlation is all cross-section (which bonds are cheap to trade) and the within-bond "
        "figure is noise around 0; in the stress runs the index also tracks each bond's costs "
        f"over time ({_rho(max(stress_rhos))} to {_rho(min(stress_rhos))}).",
        "",
        "**Out of sample.** The design was settled on the seed-1 runs (below), so the weakest "
        "two were run again with seed 2: "
        + " and ".join(
            f"{name} {_rho(v['spearman'])} ("
            + ", ".join(f"{_rho(v['spearman_by_venue'].get(x))} {x}" for x in VENUES)
            + ")"
            for name, v in again.items()
        )
        + (
            "; both meet the goal."
            if all(v["meets_goal"] for v in again.values())
            else "; not both meet the goal."
        ),
        "",
        *DESIGN_RECORD,
        "",
        *_lead(checks, again),
        "",
        f"Cost of computing it: `validate` took {_took(checks, min)} to {_took(checks, max)} "
        "on the loaded machine; the whole frame "
        "(`sim.pulse.pulse`: hourly and daily, per venue and consolidated, "
        f"{cost['rows']:,} rows, the repayment index and the combined score) "
        f"{cost['seconds']:.1f} s on gfc_2008, at a peak of {cost['peak_gb']:.1f} GB for the "
        "whole process (the run's frames read in included).",
    ]
    return lines


def _took(checks: dict, pick) -> str:
    name = pick(checks, key=lambda n: checks[n]["seconds"])
    return f"{checks[name]['seconds']:.1f} s ({name}, {checks[name]['days']} days)"


# What the index's design went through: measured once, when it was designed, and kept as the
# record of why the defaults are what they are (the code it compared is gone).
DESIGN_RECORD = [
    "### What was changed to get there, and why",
    "",
    "The design record, measured once on the seed-1 runs when the index was designed "
    "(2026-12-05; covid_2020's seed-1 run was then of an earlier version of its file, so its "
    "figures below differ a little from the table above). The first design (the weights in the "
    "issue's spirit: spread 0.30, depth 0.25, makers 0.15, turnover 0.10, time since the last "
    "trade 0.10, imbalance 0.05, SIP pool 0.05; the 7-, 30- and 90-day normalisations averaged "
    "with equal weights) missed the goal in taper_tantrum_2013. The realised-cost measure was "
    "kept as it is; the index was changed in two ways, each measured on every run:",
    "",
    "| rho (consolidated) | baseline | gfc_2008 | taper_tantrum_2013 | brexit_2016 | ilfs_2018 "
    "| covid_2020 | taper, seed 2 | covid, seed 2 |",
    "|---|---|---|---|---|---|---|---|---|",
    "| first design | -0.82 | -0.70 | **-0.46** | -0.87 | -0.70 | -0.61 | -0.49 | -0.55 |",
    "| windows weighted by length | -0.82 | -0.72 | -0.54 | -0.87 | -0.75 | -0.66 | -0.56 "
    "| -0.57 |",
    "| ... and depth 0.35, turnover and recency 0.05 each (the defaults now) | -0.84 | -0.74 "
    "| -0.57 | -0.88 | -0.78 | -0.68 | -0.58 | -0.59 |",
    "",
    "- **The normalisation forgot lasting stress.** Scored against the last 7 days alone, a "
    "stress that lasts a week looks normal again: with the first weights, taper_tantrum_2013 "
    "scored -0.32 with the 7-day window alone and -0.60 with the longest alone (covid_2020 "
    "-0.46 and -0.67). The windows now weigh 7 : 30 : 90 (the longer ones anchor the level, "
    "the week adds responsiveness), rather than being dropped: the issue asks for all three.",
    "- **Some features carry little information about tomorrow's cost.** Each feature alone "
    "(seed 1, the final normalisation; rho of its score with the next day's cost): depth -0.55 "
    "to -0.88 and quoted spread -0.41 to -0.75 in every run; makers online -0.18 to -0.49 in "
    "gfc_2008, taper_tantrum_2013 and covid_2020, but +0.15 in ilfs_2018, where the makers "
    "stayed and quoted up to 15 times wider (+0.07 in the baseline; constant in brexit_2016); "
    "turnover -0.41 and -0.44 in the calm runs (busier bonds are cheaper to trade) but -0.27 "
    "to +0.03 under stress; time since the last trade -0.28 to 0.00 and order-flow imbalance "
    "-0.23 to +0.11; the SIP pool's activity +0.30 in covid_2020, +0.24 in gfc_2008, -0.25 in "
    "taper_tantrum_2013 and near 0 elsewhere (redemption waves raise both the pool's activity "
    "and the costs of trading). Weight moved from turnover and recency to depth; the SIP pool "
    "and the imbalance keep 0.05 each, as the issue lists them, but nothing here says which "
    "way the pool's activity should count.",
    "- **Where the index still loses information is by design.** The raw mean depth alone "
    "ranks covid_2020's next-day costs at -0.81 and today's realised cost at +0.88; the "
    "index's rank normalisation over rolling windows (a 0-100 score comparable across bonds, "
    "markets and months) gives up part of that to be a relative score. taper_tantrum_2013 is "
    "the hardest case: over ten weeks the makers' asks were refused for want of units "
    "(338,512 new asks refused `insufficient_units`, and 31,279 orders and modifications "
    "refused while a bond was halted), their books went one-sided, and the round trip's buy "
    "leg paid the 500 bp concession on what the recorded levels could not fill (a filled "
    "share of 0.58-0.82 from day 40 on); its cost, from 18 bp to over 400, is then set "
    "largely by that convention, while the index places each of those days against windows "
    "full of similar days (between 28 and 48 from day 14 on).",
]


def _day(value) -> str:
    return "none" if value is None else str(value)


def _lead(checks: dict, again: dict) -> list[str]:
    lines = [
        "### Does the index fall ahead of the stress?",
        "",
        "Reference: the days before the scenario's first shock. The index has fallen on the "
        "first day from that shock on when the market's index (the mean over bonds) is below "
        "the reference mean by more than twice the reference's standard deviation and at least "
        "5 points (rules fixed before measuring). The stress day is the first day of a shock "
        "that takes liquidity away (a liquidity withdrawal, panic, participation drop, "
        "redemption wave, halt or default); lead = stress day - fall day. The realised stress "
        "day is the first day from the first shock on when the median bond's realised cost "
        "exceeds its reference mean by twice its standard deviation and a quarter of the mean.",
        "",
        "| scenario | first shock (day) | stress (day) | index fell (day) | lead, days | realised "
        "stress (day) | lead on realised, days | reference, threshold | trough (day) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, v in checks.items():
        lead = v["lead"]
        if lead.get("first_shock_day") is None:
            continue
        days = lead["lead_days"]
        shown = "-" if days is None else (f"**{days:+d}**" if days > 0 else f"{days:d}")
        on_real = lead["lead_on_realised_days"]
        lines.append(
            f"| {name} | {lead['first_shock_day']} | {lead['stress_day']} "
            f"| {_day(lead['fall_day'])} | {shown} | {_day(lead['realised_stress_day'])} "
            f"| {'-' if on_real is None else f'{on_real:+d}'.replace('+0', '0')} "
            f"| {lead['reference_index']:.1f}, {lead['fall_threshold']:.1f} "
            f"| {lead['trough_index']:.1f} ({lead['trough_day']}) |"
        )
    seed2 = "; ".join(
        f"{name} fell on day {_day(v['lead']['fall_day'])}, "
        f"{v['lead']['stress_day'] - v['lead']['fall_day']} days before its stress day and "
        f"{v['lead']['realised_stress_day'] - v['lead']['fall_day']} before its realised stress"
        for name, v in again.items()
        if v["lead"].get("fall_day") is not None and v["lead"].get("realised_stress_day")
    )
    lines += [
        "",
        f"(seed 2: {seed2}.)",
        "",
        "- The index is a nowcast from the day's own books: it falls ahead of a stress only "
        "when an earlier shock has already strained the books. It does so in **covid_2020** "
        "(after the spread and volatility shocks of day 10 the books thinned, fewer makers "
        "two-sided and less depth, before the withdrawal and the dash for cash of day 14, when "
        "realised costs jumped) and in **taper_tantrum_2013** (as yields rose from day 5, the "
        "makers' asks began to be refused for want of units on day 10: the index and realised "
        "costs both turned on day 14, 30 days before the July squeeze the file calls the "
        "stress).",
        "- In **gfc_2008** the first shock is the stress itself (investors staying away, "
        "dealers quoting wider from day 11): the index fell that day, with the costs.",
        '- Two of the "falls" are false alarms, reported as the rule gave them. '
        "**ilfs_2018**'s day 8 is a dip of 0.2 points below a threshold set by lively calm days "
        "(the index ranged 47.3 to 53.8 on days 5-19 while costs did not move); its real fall "
        "is on day 20 (21.2, from 50.7 the day before), the day the dealers withdrew after the "
        "DHFL sale and realised costs jumped from 10 to 262 bp: on the event itself the lead is "
        "0, not +12. **brexit_2016**'s day-5 dip (46.7, the day of the vote's retail jitter) is "
        "about as large as the calm days' own swings (49.1 to 54.4), and realised costs never "
        "rose, as the file claims (little dislocation): the index's lowest point, 46.5, is 5.6 "
        "points below its reference.",
        "- Against realised costs, the index leads only in covid_2020; elsewhere they turn "
        "together. Both are measured from the same books at a daily resolution, so that is what "
        "to expect: the index's value is that it summarises a bond's liquidity in one "
        "comparable number that ranks tomorrow's costs, not that it foresees shocks.",
    ]
    return lines


# --- the forecasts -----------------------------------------------------------------------------


def _cell(row: dict) -> str:
    """model / persistence / rolling mean, the smallest in bold."""
    values = [row["mae_model"], row["mae_persistence"], row["mae_rolling_mean"]]
    best = min(values)
    return " / ".join(f"**{v:.2f}**" if v == best else f"{v:.2f}" for v in values)


def _coverage(value) -> str:
    """Two decimals; in italics outside the goal."""
    if value is None:
        return "-"
    low, high = COVERAGE_GOAL
    return f"{value:.2f}" if low <= value <= high else f"*{value:.3f}*"


def _forecasts(scores: dict) -> list[str]:
    low, high = COVERAGE_GOAL
    lines = [
        "### Forecasts of the index, T+1 to T+5",
        "",
        "`sim.pulse.forecasting.forecast(history, library=...)` on seed 1's daily index, "
        "consolidated book, per bond (`sim/pulse/forecasting.py`, `forecast_features.py`, "
        "`forecast_evaluation.py`). Per horizon, LightGBM models of the change in the index: "
        "a point model (l1: the median change) and quantile models at 0.1 and 0.9, on what is "
        "known at the day's close (the index's lags, rolling means and distance from them, "
        "its features' points and their 5-day means, the market's mean index and its change, "
        "the repayment index, the bond's sector group and grade; not the day of the run, nor "
        "the days since a shock). Walk-forward: at day d the models have seen only pairs "
        "whose target day is <= d, refitted every 5 days; the interval is conformalised on "
        "the last 10 days' out-of-sample forecasts whose outcomes are known (split-conformal "
        "CQR, at least 50 of them; before that it is the quantile models' own and not "
        "counted below). Each cell: MAE in index points of **model / persistence (tomorrow = "
        "today) / rolling mean (the bond's last 5 days)**, the smallest in bold, over the "
        "same forecasts (a library trains the first days' models too, so its set-ups "
        "forecast from more days, and their benchmarks' figures differ from the own "
        "history's); coverage of the 80% interval over the calibrated ones (how many: "
        f"*calibrated*), goal {low}-{high}, in italics outside it. Set-ups: "
        + "; ".join(f"**{name}**, {text}" for name, text in SETUPS.items())
        + ".",
    ]
    for setup in SETUPS:
        lines += [
            "",
            f"**{setup}** ({SETUPS[setup]})",
            "",
            "| scenario | T+1 | T+2 | T+3 | T+4 | T+5 | 80% coverage, T+1..T+5 | beats both "
            "| forecasts | calibrated | s |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name in SCENARIOS:
            table, seconds, _ = scores[setup, name]
            rows = table.rows(named=True)
            coverage = ", ".join(_coverage(r["coverage"]) for r in rows)
            lines.append(
                f"| {name} | " + " | ".join(_cell(r) for r in rows) + f" | {coverage} "
                f"| {sum(r['beats_both'] for r in rows)} of {len(rows)} "
                f"| {table['forecasts'].sum():,} | {table['calibrated'].sum():,} "
                f"| {seconds:.0f} |"
            )
    return [*lines, "", *_summary(scores), "", *READING, "", *TRIED]


def _summary(scores: dict) -> list[str]:
    """Per set-up: how often the model wins, and the intervals' coverage pooled."""
    import polars as pl

    low, high = COVERAGE_GOAL
    lines = []
    for setup in SETUPS:
        tables = pl.concat(
            [scores[setup, name][0].with_columns(scenario=pl.lit(name)) for name in SCENARIOS]
        )
        cells = tables.height
        both = int(tables["beats_both"].sum())
        persistence = int((tables["mae_model"] < tables["mae_persistence"]).sum())
        rolling = int((tables["mae_model"] < tables["mae_rolling_mean"]).sum())
        measured = tables.filter(pl.col("coverage").is_not_null())
        pooled = (measured["coverage"] * measured["calibrated"]).sum() / measured[
            "calibrated"
        ].sum()
        outside = measured.filter(~pl.col("coverage").is_between(low, high))
        where = ", ".join(
            f"{r['scenario']} T+{r['horizon']} {r['coverage']:.3f}"
            for r in outside.iter_rows(named=True)
        )
        lines.append(
            f"- **{setup}**: beats both benchmarks at {both} of {cells} scenario-horizons "
            f"(persistence at {persistence}, the rolling mean at {rolling}); the intervals "
            f"hold {pooled:.3f} of the outcomes pooled, {outside.height} of "
            f"{measured.height} cells outside {low}-{high}" + (f": {where}." if where else ".")
        )
    firsts = pl.concat([scores["other scenarios", name][2] for name in SCENARIOS])
    share = firsts.value_counts(sort=True, normalize=True).head(4)
    lines.append(
        "- Drivers (other scenarios, every forecast): the largest contribution is "
        + ", ".join(f"`{f}` in {s:.0%}" for f, s in share.iter_rows())
        + " of them."
    )
    return lines


# How the figures above read (written from this code's runs, which are deterministic).
READING = [
    "#### Reading",
    "",
    "- **With a library of the other scenarios**, the set-up for a stress of a kind not seen "
    "before, the model beats persistence at every scenario and horizon (by 7-19% at T+1) and "
    "the rolling mean at 26 of 30; the four misses are by 0.01-0.17 points, at T+4-T+5 of "
    "the calm baseline (where the rolling mean is the right answer: the index is noise "
    "around each bond's level) and T+3-T+4 of taper_tantrum_2013.",
    "- **On its own history alone** it does not beat both: 9 of 30, all of taper_tantrum_2013 "
    "(76 days), gfc_2008 at T+1-T+2 and T+1 of ilfs_2018 and covid_2020. The short calm runs "
    "give it too few pairs (the rolling mean wins there). After a crash the pairs it has "
    "learnt from are dominated by the crash itself, and it goes on forecasting falls while "
    "the index recovers (ilfs_2018: its T+5 forecasts from days 25-34 were on average 6 to 20 "
    "points too low, persistence's 1 to 10 points off), so persistence wins at T+2-T+5 of "
    "ilfs_2018 and T+3-T+5 of covid_2020.",
    "- **With the same scenario's other seeds** it wins at 29 of 30, by the most; that is the "
    "optimistic case, a replay of a stress already seen (the day of the run is not a "
    "feature, so it cannot learn the file's calendar of shocks, but it has seen its dynamics).",
    "- **Coverage** pooled over every calibrated interval is 0.78-0.79 in every set-up. The "
    "cells outside 0.75-0.85 are mostly in the two short runs, whose cells rest on 90-240 "
    "intervals from 5-12 origin days, and a day's bonds move together: one day more or less "
    "in the band moves a cell by several points. A shock misses too: the band is set "
    "by the last 10 days, so the forecasts made just before a crash miss it, and the band "
    "then widens and over-covers until the crash leaves the window.",
]

# What was tried, measured while the forecaster was built (not regenerated: the variants are
# gone from the code).
TRIED = [
    "#### What was tried",
    "",
    "Scored, unless said otherwise, on seed-2 runs of the six scenarios (not the seed-1 runs "
    "above) by the sum over scenarios and horizons T+1, T+3, T+5 of the model's MAE less the "
    "better benchmark's (negative: the model wins).",
    "",
    "- First version (own history; 15 leaves of at least 20 pairs, 200 rounds at 0.05): "
    "larger errors than the better benchmark at nearly every horizon (+9.5 over baseline, "
    "ilfs_2018 and covid_2020; these first comparisons were made on their seed-1 runs). "
    "Smaller trees (4-7 leaves of at least 50 pairs) took that to +5.8: the daily index is "
    "noisy, and larger trees learnt the noise. l2 instead of l1: worse (+16.3); learning the "
    "change from the rolling mean instead of from today: worse (+13.4).",
    "- The bond's distance from its rolling and expanding means as features (trees cannot "
    "take differences): +7.0 to +6.3 over baseline, ilfs_2018 and covid_2020 (own history), "
    "and the synthetic AR(1) test's error came within 10% of the best possible.",
    "- The day of the run as a feature: no gain with a library of the other scenarios (-10.5 "
    "with it, -10.8 without, their seed-2 runs), and in a library of the same scenario it "
    "would let the model learn the file's calendar of shocks: dropped.",
    "- Own history alone, at the final settings: +6.9. **Libraries** are what helped: the "
    "other five scenarios (seed 3): -9.6; seeds 3 and 4: -9.7; the same scenario's seeds 3 "
    "and 4: -16.9.",
    "- Coverage: in ilfs_2018 (seed 2) every T+5 forecast from days 15-19 missed the crash "
    "of day 20, and the band then widened to hold every outcome for ten days; a 20-day "
    "calibration window instead of 10 changed little.",
]


if __name__ == "__main__":
    print(run())
