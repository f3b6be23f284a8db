"""The stress library against its history (issue 15): every shipped scenario with a
``[calibration]`` table, calibrated over its own seeds as `bondlab calibrate NAME` does. Each
target's simulated mean and range over the seeds beside the historical figure, its tolerance
and its source (scenarios/README.md has the sources in full), and the wall time of one run.
"""

from __future__ import annotations

import time


def run() -> str:
    from sim.scenario import library, load_scenario
    from sim.studies import calibration as study

    lines = [
        "## Stress library against its history",
        "",
        "Every shipped stress file calibrated over its own seeds (`bondlab calibrate NAME`): each "
        "target measured from the runs' own records (`sim/analytics/stress.py`), the mean and "
        "range over the seeds beside the historical figure. Input targets are what a file "
        "imposes; emergent ones come out of the agents' trading. PROXY: a figure from another "
        "market (scenarios/README.md has every source).",
    ]
    for name in library.names():
        scenario = load_scenario(name)
        if scenario.calibration is None:
            continue
        started = time.perf_counter()
        calibrated = study.calibrate(scenario)
        per_run = (time.perf_counter() - started) / len(calibrated.seeds)
        verdict = "every target met" if calibrated.met else "targets missed"
        lines += [
            "",
            f"### {name}: seeds {', '.join(map(str, calibrated.seeds))}, {verdict}",
            "",
            f"{per_run:.0f} s a run on this machine.",
            "",
            "| target | kind | simulated (range) | historical ± tolerance | met | source |",
            "|---|---|---|---|---|---|",
        ]
        for r in calibrated.results:
            t, got = r.target, r.measured
            simulated = f"{r.mean:.3g} ({min(got):.3g} to {max(got):.3g})" if got else "-"
            lines.append(
                f"| `{t.label}` | {t.kind} | {simulated} | {t.historical:g} ± {t.tolerance:g} | "
                f"{'yes' if r.met else 'NO'} | {t.source} |"
            )
    return "\n".join(lines)
