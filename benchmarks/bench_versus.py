"""Speed against an earlier commit, side by side: the simulator must not slow down by more than
5% from one issue to the next (issue 14: accrued interest, coupons, redemption, evaluated marks
and their attribution, anchored quotes).

The base commit (`BASE`, or the environment's BONDLAB_BASE) is checked out into a temporary git
worktree. Each round runs, in a fresh process per tree and in alternating order, `rmsc04.toml`
(one day; after a warm-up run for the JIT caches, the fastest of 3) and `baseline.toml` (20 days,
one run), seed 1, results held in memory. The figures are the medians over the rounds. The
scenarios themselves changed with the issue (rmsc04's makers anchor on the published value,
the baseline's market is another), so the same run also times rmsc04 with its makers as the
base had them (fair_value_weight 0), whose events are identical to the base's: that ratio is
the cost of the code alone.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BASE = "50097d1"  # the commit before issue 14
ROUNDS = 5
ROOT = Path(__file__).resolve().parents[1]
TIMER = r"""
import sys, time
tree, name, reps, *overrides = sys.argv[1:]
sys.path.insert(0, tree)
import sim
scenario = sim.load_scenario(f"{tree}/scenarios/{name}.toml", overrides)
if int(reps) > 1:
    sim.Simulation(scenario, seed=1).run(out=None)  # warm-up: JIT caches
times = []
for _ in range(int(reps)):
    start = time.perf_counter()
    simulation = sim.Simulation(scenario, seed=1)
    simulation.run(out=None)
    times.append(time.perf_counter() - start)
print(min(times), simulation.events["requests"])
"""
CASES = (
    ("rmsc04", 3, []),
    ("rmsc04", 3, ["market_maker.fair_value_weight=0"]),
    ("baseline", 1, []),
)


def _time(tree: Path, name: str, reps: int, overrides: list[str]) -> tuple[float, int]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(tree)
    done = subprocess.run(
        [sys.executable, "-c", TIMER, str(tree), name, str(reps), *overrides],
        capture_output=True, text=True, env=env, cwd=tempfile.gettempdir(), check=True,
    )  # fmt: skip
    seconds, requests = done.stdout.split()
    return float(seconds), int(requests)


def run() -> str:
    base = os.environ.get("BONDLAB_BASE", BASE)
    with tempfile.TemporaryDirectory() as folder:
        old = Path(folder) / "base"
        added = subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old), base],
            capture_output=True, text=True,
        )  # fmt: skip
        if added.returncode:  # a shallow clone, or not a checkout at all
            return (
                "## Speed against the commit before issue 14\n\nNot measured: no git "
                f"worktree of {base} here: {' '.join(added.stderr.split()[-6:])}."
            )
        try:
            times: dict[tuple, list[float]] = {}
            requests: dict[tuple, int] = {}
            for round_ in range(ROUNDS):
                for name, reps, overrides in CASES:
                    trees = [("base", old), ("now", ROOT)]
                    for label, tree in trees if round_ % 2 == 0 else trees[::-1]:
                        if overrides and label == "base":
                            continue  # the base has no such parameter: its makers are already so
                        key = (label, name, tuple(overrides))
                        seconds, count = _time(tree, name, reps, overrides)
                        times.setdefault(key, []).append(seconds)
                        requests[key] = count
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)],
                check=False, capture_output=True,
            )  # fmt: skip
    medians = {key: statistics.median(values) for key, values in times.items()}
    rows = []
    for name, _, overrides in CASES:
        now = ("now", name, tuple(overrides))
        then = ("base", name, ())
        label = f"{name} ({', '.join(overrides)})" if overrides else f"{name}, as shipped"
        rows.append(
            f"| {label} | {medians[then]:.3f} s ({requests[then]:,} requests) "
            f"| {medians[now]:.3f} s ({requests[now]:,} requests) "
            f"| {medians[now] / medians[then]:.3f} |"
        )
    table = f"| run | base {base} | now | ratio |\n|---|---:|---:|---:|\n" + "\n".join(rows)
    return (
        f"## Speed against the commit before issue 14\n\n{__doc__.strip()}\n\n{table}\n\n"
        f"({ROUNDS} rounds.)"
    )
