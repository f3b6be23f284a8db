"""What the audit trail costs a run (issue 20's goal: at most 15% of its wall time).

The baseline scenario written to a results folder, with its audit.jsonl and without it (the
writer's `write_audit` replaced by one that writes nothing), for a few seeds: the two
interleaved in one process, each run twice a seed in alternating order, medians compared.
Whole runs are timed, from `sim.run` to the loaded `Result`, since that is what a user waits
for; the audit log is built from the frames once the run is over, so its cost is the build,
the hash chain and the file.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

SEEDS = (1, 2, 3)
ROUNDS = 3


def run() -> str:
    import sim
    from sim.records import store
    from sim.records.audit import GENESIS, AuditSummary

    scenario = sim.load_scenario("baseline")
    with_audit = store.write_audit

    def without_audit(*_args, **_kwargs):
        return AuditSummary(0, GENESIS)

    def timed(seed: int, audit: bool) -> tuple[float, dict]:
        store.write_audit = with_audit if audit else without_audit
        try:
            with tempfile.TemporaryDirectory() as out:
                started = time.perf_counter()
                result = sim.run(scenario, seed=seed, out=out)
                elapsed = time.perf_counter() - started
                info = dict(result.manifest["audit"])
                if audit:
                    info["bytes"] = (result.path / "audit.jsonl").stat().st_size
                    info["build_s"] = build_alone(result, out)
                return elapsed, info
        finally:
            store.write_audit = with_audit

    def build_alone(result, out: str) -> float:
        """The audit log's own cost: built and written again from the run's frames."""
        tables = {name: result.frame(name) for name in ("orders", "trades", "transfers")}
        spent = []
        for k in range(3):
            started = time.perf_counter()
            with_audit(Path(out) / f"again-{k}.jsonl", tables, run_id=result.run_id,
                       scenario_hash=None, seed=None)  # fmt: skip
            spent.append(time.perf_counter() - started)
        return statistics.median(spent)

    sim.run(sim.load_scenario("baseline", ["calendar.days=1"]), seed=1, out=None)  # warm
    rows = []
    for seed in SEEDS:
        times: dict[bool, list[float]] = {True: [], False: []}
        info: dict = {}
        for round_ in range(ROUNDS):
            for audit in (True, False) if round_ % 2 == 0 else (False, True):
                elapsed, found = timed(seed, audit)
                times[audit].append(elapsed)
                if audit:
                    info = found
        bare, audited = statistics.median(times[False]), statistics.median(times[True])
        rows.append((seed, bare, audited, info))
    overheads = [audited / bare - 1 for _, bare, audited, _ in rows]
    direct = [info["build_s"] / bare for _, bare, _, info in rows]
    lines = [
        "## Audit trail overhead",
        "",
        f"`baseline` (20 trading days) written to a results folder, with audit.jsonl and without "
        f"it, seeds {', '.join(map(str, SEEDS))}: medians of {ROUNDS} interleaved runs each, "
        "in one process (`benchmarks/bench_audit.py`).",
        "",
        "| seed | without s | with s | overhead | records | audit.jsonl MB | building it alone s |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {seed} | {bare:.2f} | {audited:.2f} | {100 * (audited / bare - 1):+.1f}% "
            f"| {info['records']:,} | {info['bytes'] / 1e6:.1f} | {info['build_s']:.2f} |"
            for seed, bare, audited, info in rows
        ),
        "",
        f"The audit trail adds {100 * statistics.median(overheads):+.1f}% to a run's wall time "
        f"(median over the seeds; {100 * min(overheads):+.1f}% to "
        f"{100 * max(overheads):+.1f}%; goal: at most +15%). Timed alone from the run's frames "
        f"(median of 3), building, chaining and writing it costs "
        f"{100 * statistics.median(direct):.1f}% of the run without it "
        f"({100 * min(direct):.1f}% to {100 * max(direct):.1f}%): the figure that does not "
        "depend on what else the shared machine was doing while the runs were timed.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
