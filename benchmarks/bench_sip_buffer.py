"""The SIP buffer-sizing study (issue 19): `bondlab study sip-buffer --seeds 20 --workers 2`,
the pool's buffer share from 0 to 0.5 in steps of 0.05 in the calm market and in covid_2020's
redemption wave, and its Sobol analysis, written to results/studies/sip_buffer (sweeps already
there are continued, not run again). The section: the table, the smallest share absorbing 80% of
early exits with its interval, the Sobol ranking, run counts and wall times.

    python -m benchmarks.bench_sip_buffer            # run (or continue) the study, print it
    python -m benchmarks.bench_sip_buffer --format   # only format the study already written
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

OUT = Path("results") / "studies" / "sip_buffer"
HERE = Path(__file__).resolve().parent
# The study's figures, copied beside RESULTS.md (results/ is not committed).
FIGURES = {"sip_buffer.png": "sip_buffer.png", "sobol.png": "sip_buffer_sobol.png"}


def run(out: Path = OUT, workers: int = 2) -> str:
    from sim.studies.sip_buffer import plan_study, run_study

    run_study(plan_study(seeds=20), out, workers=workers)
    return section(out)


def _share(value) -> str:
    return "beyond 0.5" if value is None or value == "" else f"{float(value):.3f}"


def section(out: Path = OUT) -> str:
    """The RESULTS.md section of the study written in `out`."""
    import shutil

    import polars as pl

    from sim.studies.sip_buffer.table import markdown

    record = json.loads((out / "study.json").read_text())
    for name, copy in FIGURES.items():
        if (out / name).exists():
            shutil.copyfile(out / name, HERE / copy)
    spec = record["spec"]
    table = pl.read_csv(out / "table.csv")
    crossings = pl.read_csv(out / "crossing.csv")
    sweeps = {}
    for name, session in record["sweeps"].items():
        log = json.loads((out / session["folder"] / "sweep.json").read_text())
        ran = sum(s.get("ran", 0) for s in log["sessions"])
        wall = sum(s.get("wall_seconds", 0.0) for s in log["sessions"])
        sweeps[name] = (session["runs"], session["errors"], ran, wall)
    runs = sum(v[0] for v in sweeps.values())
    wall = sum(v[3] for v in sweeps.values())
    per_run = sum(
        pl.read_parquet(out / s["folder"] / "rows.parquet")["wall_seconds"].sum()
        for s in record["sweeps"].values()
    )
    calm, stress = (c["name"] for c in spec["conditions"])

    def mean(condition: str, share: float, name: str) -> float:
        row = table.filter(
            (pl.col("condition") == condition) & ((pl.col("buffer_share") - share).abs() < 1e-9)
        )
        value = row[f"{name}_mean"][0] if row.height else None
        return math.nan if value is None else value

    lines = [
        "## SIP buffer study",
        "",
        "How large a share of SIP inflows the liquidity-recycling pool must keep to absorb 80% of "
        "early exits (issue 19; `bondlab study sip-buffer`, `sim/studies/sip_buffer`). The "
        "market is `scenarios/sip_buffer_study.toml`: a SIP-heavy, reduced-cost version of the "
        "baseline on covid_2020's calendar (6 bonds, one venue, 2 makers requoting every 3 "
        "minutes, 100 retail and 10 value investors, 1,000 SIP investors contributing Rs 2,000 "
        "on each month's first trading day, a 50 bp haircut, a calm exit hazard of 0.1 a year); "
        f"**{calm}** is that file as written, **{stress}** the same with every covid_2020 shock "
        "that acts on it at covid_2020's size (the redemption wave, x20 the exit hazard; the two "
        "panics, which raise it 1 + 5 x panic times; the makers' withdrawal; the spread, rate and "
        "volatility shocks), read from covid_2020.toml. Every share runs on the same 20 seeds in "
        "both conditions (common random numbers).",
        "",
        f"- runs: {runs} ({', '.join(f'{k} {v[0]}' for k, v in sweeps.items())}), "
        f"{sum(v[1] for v in sweeps.values())} failed; "
        f"{record['engine']['workers']} workers on a {record['engine']['cpu_count']}-core "
        f"machine; carry rate {spec['carry_rate']:.2%} a year (the SIP bonds' mean yield at "
        "their reference prices)",
        f"- wall time: {wall / 60:.1f} min in all "
        f"({', '.join(f'{k} {v[3] / 60:.1f} min' for k, v in sweeps.items())}); "
        f"{per_run / runs:.1f} s a run inside the workers. The machine was shared with other "
        "work while it ran (a load average of 5 to 7 on its 2 cores), so these times are upper "
        "bounds: one run took 2.8 s measured alone here, which puts the study at about 15 "
        "minutes on 2 idle cores (664 x 2.8 s / 2)",
        "",
        "### The smallest buffer share absorbing 80% of early exits",
        "",
        "The mean absorption curve over seeds, joined linearly between shares, and the share "
        "where it first reaches 80%; the interval is the 2.5-97.5% percentile bootstrap over "
        "seeds (whole seeds resampled, 2,000 times; `sim/studies/sip_buffer/crossing.py`).",
        "",
        "| condition | measure | smallest share | 95% CI | resamples reaching 80% |",
        "|---|---|---|---|---|",
    ]
    for row in crossings.iter_rows(named=True):
        lines.append(
            f"| {row['condition']} | {row['measure'].replace('absorption_', 'by ')} "
            f"| {_share(row['estimate'])} | {_share(row['ci_low'])} to {_share(row['ci_high'])} "
            f"| {row['reached']:.0%} |"
        )
    lines += [
        "",
        "### Per condition and share (mean over 20 seeds, 95% CI by Student t)",
        "",
        markdown(table).strip(),
        "",
        "![absorption, price impact and carry against the buffer share](sip_buffer.png)",
    ]
    if (out / "sobol.csv").exists():
        sobol = pl.read_csv(out / "sobol.csv")
        info = record["sobol"]
        lines += [
            "",
            f"### What moves absorption: Sobol indices ({stress})",
            "",
            f"SALib's Saltelli design on a scrambled Sobol sequence, N = {info['base_samples']} "
            f"and 5 factors: {info['runs']} runs on seed 1 ({info['missing']} without a value), "
            f"{sweeps.get('sobol', (0, 0, 0, 0.0))[3] / 60:.1f} min. Absorption by value; "
            "ranked by the total index ST (S1: alone; ST: with interactions), with 95% "
            "bootstrap half-widths. N is small, so the intervals are wide: a rank is meaningful "
            "where the intervals do not overlap.",
            "",
            "![Sobol indices of absorption, ranked](sip_buffer_sobol.png)",
            "",
            "| rank | factor | range | S1 | ST |",
            "|---|---|---|---|---|",
        ]
        for row in sobol.iter_rows(named=True):
            lines.append(
                f"| {row['rank']} | {row['label']} | {row['low']:g} to {row['high']:g} "
                f"| {row['S1']:.2f} ± {row['S1_conf']:.2f} "
                f"| {row['ST']:.2f} ± {row['ST_conf']:.2f} |"
            )
    fine = out.parent / "sip_buffer_fine"
    if (fine / "crossing.csv").exists():
        lines += ["", *_finer(fine)]
    sobol = pl.read_csv(out / "sobol.csv") if (out / "sobol.csv").exists() else None
    lines += ["", "### Reading", "", *_reading(mean, crossings, sobol, calm, stress)]
    return "\n".join(lines) + "\n"


def _finer(folder: Path) -> list[str]:
    """The absorption curves on a finer grid of small shares, where the calm market crosses."""
    import polars as pl

    record = json.loads((folder / "study.json").read_text())
    shares = record["spec"]["shares"]
    rows = pl.read_csv(folder / "crossing.csv").filter(pl.col("measure") == "absorption_value")
    table = pl.read_csv(folder / "table.csv")
    wall = sum(
        s.get("wall_seconds", 0.0)
        for session in record["sweeps"].values()
        for s in json.loads((folder / session["folder"] / "sweep.json").read_text())["sessions"]
    )
    lines = [
        f"Finer, at shares {shares[0]:g} to {shares[-1]:g} in steps of "
        f"{shares[1] - shares[0]:.2f} (`bondlab study sip-buffer --shares 0:0.05:0.01 --sobol 0 "
        f"--out results/studies/sip_buffer_fine`, {record['runs']} runs on the same seeds in "
        f"{wall / 60:.1f} min; "
        "absorbed by value, mean over seeds):",
        "",
    ]
    for row in rows.iter_rows(named=True):
        curve = ", ".join(
            f"{r['buffer_share']:.2f}: {r['absorption_value_mean']:.0%}"
            for r in table.filter(pl.col("condition") == row["condition"]).iter_rows(named=True)
        )
        found = (
            f"80% reached at {_share(row['estimate'])} ({_share(row['ci_low'])} to "
            f"{_share(row['ci_high'])})"
            if row["estimate"] is not None
            else f"80% not reached by {shares[-1]:g}"
        )
        lines.append(f"- {row['condition']}: {curve}; {found}")
    main = pl.read_csv(folder.parent / "sip_buffer" / "table.csv")
    both = main.join(table, on=["condition", "buffer_share"], suffix="_fine")
    if both.height:
        same = (both["absorption_value_mean"] == both["absorption_value_mean_fine"]).all()
        common = ", ".join(map(str, sorted(both["buffer_share"].unique())))
        lines += [
            "",
            f"At the shares both grids hold ({common}), the two studies' means are "
            f"{'identical' if same else 'not identical'}: the same "
            "seeds and code give the same runs, whichever sweep they belong to.",
        ]
    return lines


def _reading(mean, crossings, sobol, calm: str, stress: str) -> list[str]:
    def crossing(condition: str) -> dict:
        rows = crossings.filter(
            (crossings["condition"] == condition) & (crossings["measure"] == "absorption_value")
        )
        return rows.row(0, named=True)

    c, s = crossing(calm), crossing(stress)
    return [
        f"- **Absorption rises with the buffer and falls in the stress.** In the calm market "
        f"(about {mean(calm, 0.05, 'exits'):.0f} exits a run) every share from 0.05 up absorbs "
        f"{mean(calm, 0.05, 'absorption_value'):.0%} of exits: the crossing "
        f"{_share(c['estimate'])} is only the straight line from 0 at share 0 to 100% at 0.05, "
        'so this grid says no more than "some share at or below 0.05" (the finer grid above '
        "resolves it). In covid_2020's wave "
        f"(about {mean(stress, 0.05, 'exits'):.0f} exits a run, a third of the investors) "
        f"absorption is {mean(stress, 0.05, 'absorption_value'):.0%} at 0.05, "
        f"{mean(stress, 0.10, 'absorption_value'):.0%} at 0.10 and "
        f"{mean(stress, 0.15, 'absorption_value'):.0%} from 0.15: the 80% target needs a share "
        f"of {_share(s['estimate'])} ({_share(s['ci_low'])} to {_share(s['ci_high'])}). Seed "
        f"000's 20% is {0.2 / s['estimate']:.1f} times what the stress needed here. The "
        "intervals are the seeds' noise only, not the error of joining the grid's points with "
        "straight lines; where the curve bends between two shares, a finer grid is the check.",
        "- **Why so little is needed, and why a real book needs more.** The pool is refilled: "
        "on each SIP date the new inflows buy its inventory back at fair value (recycling), so "
        "it needs to carry the exits only from one SIP date to the next. This book is young: "
        "investors hold 2 to 4 months of contributions when the wave comes, so the April inflow "
        "is large next to the holdings that exit. In a book holding years of contributions the "
        "same wave is a larger multiple of a month's inflow, and the share needed rises towards "
        "the wave's cumulative exit rate over the buffer's cycle; these figures are a lower "
        "bound for a mature book, not a sizing for one.",
        f"- **The idle cost is linear in the share and sensible.** At 0.20 the pool held "
        f"Rs {mean(calm, 0.20, 'idle_buffer_rupees') / 1e5:.1f} lakh idle on average (calm), "
        f"forgoing Rs {mean(calm, 0.20, 'carry_forgone_rupees'):,.0f} of carry over the 54 days, "
        f"{mean(calm, 0.20, 'carry_forgone_bp'):.0f} bp of the period's inflows: about "
        f"{mean(calm, 0.20, 'carry_forgone_bp') / 20:.2f} bp per point of share, i.e. the kept "
        "cash times the bonds' yield for the time it is held. The stress uses the buffer "
        "(utilisation "
        f"{mean(stress, 0.10, 'utilisation'):.0%} at 0.10 against "
        f"{mean(calm, 0.10, 'utilisation'):.0%} calm), so less of it idles. In the calm market "
        "the buffer is almost never used: its whole cost pays for the stress.",
        "- **Book exits pay for immediacy in the stress, not in the calm.** At share 0, exits "
        "sold on the book fetched on average "
        f"{-mean(calm, 0.0, 'book_shortfall_bp'):.0f} bp above fair value in the calm market "
        "(its interval reaches 0: the makers, short after selling to the cohort, skew their "
        f"bids up) and {mean(stress, 0.0, 'book_shortfall_bp'):.0f} bp below it in "
        f"{stress}'s wave: while dealers withdraw, the makers still quoting centre their quotes "
        "below the evaluated price (the withdrawal's `lean_bp`, 100 bp at full size on day 14, "
        "halving every 10 days), and the wave's exits, mostly in April, meet a lean already "
        "faded to 20-50 bp. The pool pays fair value less its 50 bp haircut, more than the book "
        "cost an exit on average here: an investor exiting through the pool gets about "
        f"{50 - mean(stress, 0.0, 'book_shortfall_bp'):.0f} bp less than the book's average, "
        "and in exchange a certain price on the worst days, when the makers' lean is deepest "
        "(100 bp on the withdrawal's first day). A haircut near the book's average stress "
        "cost would leave an exiting investor indifferent on average; one above it makes the "
        "pool a profit centre in a stress.",
        *_sobol_reading(sobol, stress),
        "- **The pool's mechanism is unchanged; the market's was not.** The study found "
        "neither a buffer left unused when exits come (it is drawn on in the wave, and "
        "recycled back on SIP dates) nor a pool paying more than the market would. Its first "
        "run exposed the market instead: makers who kept bidding at the evaluated price through "
        "the stress, so that book exits sold above fair value in covid_2020's wave. The fix is "
        "in the makers (agents/market_maker.py: the liquidity withdrawal's lean below value, "
        "bracketed in scenarios/README.md), with every covid_2020 calibration target still "
        "met.",
    ]


def _sobol_reading(sobol, stress: str) -> list[str]:
    if sobol is None:
        return []
    st = {r["factor"]: r["ST"] for r in sobol.iter_rows(named=True)}
    return [
        f"- **Which lever matters ({stress})**: the buffer share, with a total index of "
        f"{st['sip.buffer_fraction']:.2f}: over 0 to 0.5 it spans the whole curve, from "
        "nothing absorbed to everything. The calm exit hazard comes next "
        f"({st['sip.exit_hazard_per_year']:.2f}; the wave multiplies it by 20, so 0.05 to 0.3 "
        "a year is 1 to 6 a year in the wave), then the stress multiplier "
        f"({st['sip.stress_multiplier']:.2f}: the panics it scales last days, the wave "
        "weeks). The cohort's size "
        f"({st['sip.investors']:.3f}) and the makers' depth "
        f"({st['market_maker.quote_size']:.4f}) do not matter: a larger cohort brings inflows "
        "and exits in proportion, and the book only sees what the pool leaves. With N = 32 the "
        "intervals are wide (the buffer's S1 is within about ±0.5): the buffer's first place is "
        "clear, the hazard's ST interval lies above those of the last two, and the stress "
        "multiplier's overlaps theirs, so it is small rather than third. The indices describe "
        "these "
        "ranges: a narrower range for the buffer (say 0.05 to 0.15, where the decision lies) "
        "would give the hazard a larger share.",
    ]


if __name__ == "__main__":
    print(section() if "--format" in sys.argv[1:] else run())
