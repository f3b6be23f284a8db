"""Mutation testing with cosmic-ray, one session per module (`tests/MUTATION.md`).

Each ``tests/mutation/NAME.toml`` is a cosmic-ray configuration: the files to mutate, the
module's own tests (through `run_pytest.py`), a timeout per mutant and the local (sequential)
distributor, plus a ``[bondlab]`` table for this driver. For each module asked for (all of them,
in their ``order``, by default) the driver:

1. refreshes a scratch copy of the repository (`git ls-files`: tracked and unignored files,
   local changes included) under ``$BONDLAB_MUTATION_WORK`` (default: the system's temporary
   folder). cosmic-ray writes each mutant into the file itself, so it never runs in the work
   tree, where an interrupted run or a colleague's test run would see mutated code;
2. starts a session (``cosmic-ray init``) when there is none, when the mutated files changed
   since it started, or with ``--fresh``; otherwise resumes the one it has. A new session is
   filtered: cosmic-ray's own operator filter (the ``exclude-operators`` of the config) and
   pragma filter (``# pragma: no mutate``); mutants inside type annotations are skipped; and,
   where ``trace-lines`` is on, one traced run of the tests finds the lines they execute, and a
   mutant on a statement they never reach is recorded as surviving without being run;
3. runs the unmutated tests once (the baseline must pass) and then ``cosmic-ray exec``;
4. prints the module's counts and score, and writes them with the survivors and their diffs to
   ``tests/mutation/.sessions/`` (NAME.sqlite is the resumable session, NAME.json the summary,
   NAME.survivors.txt the survivors to classify).

Usage: python tests/mutation/run.py [NAME ...] [--fresh | --retest] [--minutes M] [--report]
       python tests/mutation/run.py --list
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import datetime as dt
import difflib
import hashlib
import json
import os
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from importlib.metadata import version
from pathlib import Path

from cosmic_ray.mutating import mutate_code
from cosmic_ray.plugins import get_operator
from cosmic_ray.work_db import WorkDB, use_db
from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SESSIONS = HERE / ".sessions"
BIN = Path(sys.executable).parent
NOT_EXECUTED = "not executed by the module's tests (line trace of the baseline run)"
ANNOTATION = "inside a type annotation"
PROGRESS_EVERY = 60.0  # seconds between progress lines


def work_root() -> Path:
    if where := os.environ.get("BONDLAB_MUTATION_WORK"):
        return Path(where)
    tag = hashlib.sha1(str(REPO).encode()).hexdigest()[:8]
    return Path(tempfile.gettempdir()) / f"bondlab-mutation-{tag}"


class Module:
    def __init__(self, config: Path):
        self.config = config
        self.name = config.stem
        data = tomllib.loads(config.read_text())
        self.cr = data["cosmic-ray"]
        meta = data.get("bondlab", {})
        self.order = meta.get("order", 100)
        self.title = meta.get("title", self.name)
        self.trace_lines = meta.get("trace-lines", True)
        paths = self.cr["module-path"]
        self.paths = [paths] if isinstance(paths, str) else list(paths)
        self.session = SESSIONS / f"{self.name}.sqlite"
        self.summary_file = SESSIONS / f"{self.name}.json"
        self.survivors_file = SESSIONS / f"{self.name}.survivors.txt"
        self.work = work_root() / self.name

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for path in sorted(self.paths):
            digest.update(path.encode() + b"\0" + (REPO / path).read_bytes() + b"\0")
        return digest.hexdigest()[:16]


def modules() -> dict[str, Module]:
    found = sorted((Module(p) for p in HERE.glob("*.toml")), key=lambda m: (m.order, m.name))
    return {m.name: m for m in found}


def env() -> dict[str, str]:
    environment = dict(os.environ)
    environment["PATH"] = f"{BIN}{os.pathsep}{environment.get('PATH', '')}"
    environment["PYTHONDONTWRITEBYTECODE"] = "1"
    return environment


def run(command: list[str], cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    kwargs.setdefault("check", False)
    return subprocess.run(command, cwd=cwd, env=env(), **kwargs)


def sync_tree(module: Module, fresh: bool) -> None:
    """Make the scratch copy equal to the work tree (files copied with their times, so numba's
    disk cache in the copy stays valid for the kernels a session does not mutate)."""
    if fresh and module.work.exists():
        shutil.rmtree(module.work)
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if name.startswith("tests/mutation/.sessions/"):
            continue
        source, target = REPO / name, module.work / name
        if not source.is_file():
            continue
        if target.is_file() and target.read_bytes() == source.read_bytes():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    shutil.rmtree(module.work / "tmp", ignore_errors=True)
    # The data beside the repository (the LOBSTER sample days), where the copy's tests and
    # scenarios look for it: without it their tests are skipped and their mutants survive.
    beside, link = REPO.parent / "shared", module.work.parent / "shared"
    if beside.is_dir() and not link.exists():
        link.symlink_to(beside)


def test_command(module: Module, *extra: str) -> list[str]:
    """The config's test command, with `extra` options for run_pytest.py."""
    command = shlex.split(module.cr["test-command"])
    if extra:
        at = next(i for i, part in enumerate(command) if part.endswith("run_pytest.py")) + 1
        command[at:at] = list(extra)
    return command


def annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    spans = []
    for node in ast.walk(ast.parse(source)):
        annotations = []
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = node.args
            every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
            every += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
            annotations += [a.annotation for a in every if a.annotation is not None]
            if node.returns is not None:
                annotations.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            annotations.append(node.annotation)
        for a in annotations:
            spans.append(((a.lineno, a.col_offset), (a.end_lineno, a.end_col_offset)))
    return spans


def statement_lines(source: str) -> dict[int, range]:
    """For each line, the lines of the innermost statement (a compound statement's header only)
    around it; lines that belong to no statement (decorators, blank lines) are left out."""
    lines: dict[int, range] = {}

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                bodies = [
                    getattr(child, field)
                    for field in ("body", "orelse", "finalbody", "handlers", "cases")
                    if getattr(child, field, None)
                ]
                first_body = min((b[0].lineno for b in bodies), default=None)
                end = child.end_lineno if first_body is None else first_body - 1
                header = range(child.lineno, max(end, child.lineno) + 1)
                for line in header:
                    lines[line] = header
            visit(child)

    visit(ast.parse(source))
    return lines


def skip_annotations(db: WorkDB, work: Path) -> int:
    spans: dict[Path, list] = {}
    skipped = 0
    for item in db.pending_work_items:
        mutation = item.mutations[0]
        if mutation.module_path not in spans:
            source = (work / mutation.module_path).read_text()
            spans[mutation.module_path] = annotation_spans(source)
        start = tuple(mutation.start_pos)
        if any(a <= start < b for a, b in spans[mutation.module_path]):
            db.set_result(
                item.job_id, WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output=ANNOTATION)
            )
            skipped += 1
    return skipped


def baseline(module: Module, traced: Path | None = None) -> None:
    extra = []
    if traced is not None:
        extra = ["--trace-lines", str(traced)]
        for path in module.paths:
            extra += ["--module", path]
    started = time.monotonic()
    result = run(test_command(module, *extra), module.work, capture_output=True, text=True)
    took = time.monotonic() - started
    if result.returncode != 0:
        print(result.stdout[-3000:], result.stderr[-3000:], sep="\n")
        sys.exit(f"{module.name}: the unmutated tests fail (exit {result.returncode}); fix first")
    print(f"{module.name}: baseline passes in {took:.1f} s (timeout {module.cr['timeout']} s)")


def mark_unexecuted(db: WorkDB, module: Module, traced: Path) -> int:
    executed = {path: set(lines) for path, lines in json.loads(traced.read_text()).items()}
    statements = {p: statement_lines((module.work / p).read_text()) for p in module.paths}
    marked = 0
    for item in db.pending_work_items:
        mutation = item.mutations[0]
        path = str(mutation.module_path)
        header = statements[path].get(mutation.start_pos[0])
        if header is None or executed[path].intersection(header):
            continue
        db.set_result(
            item.job_id,
            WorkResult(
                worker_outcome=WorkerOutcome.NORMAL,
                test_outcome=TestOutcome.SURVIVED,
                output=NOT_EXECUTED,
            ),
        )
        marked += 1
    return marked


def start_session(module: Module) -> None:
    SESSIONS.mkdir(exist_ok=True)
    config = str(module.config)
    session = str(module.session)
    if run(["cosmic-ray", "init", config, session, "--force"], module.work).returncode:
        sys.exit(f"{module.name}: cosmic-ray init failed")
    run(["cr-filter-operators", session, config], module.work, check=True)
    run(["cr-filter-pragma", session], module.work, check=True)
    with use_db(module.session, WorkDB.Mode.open) as db:
        total = db.num_work_items
        annotations = skip_annotations(db, module.work)
    unexecuted = 0
    if module.trace_lines:
        traced = module.work / "tmp" / "executed-lines.json"
        traced.parent.mkdir(exist_ok=True)
        baseline(module, traced)
        with use_db(module.session, WorkDB.Mode.open) as db:
            unexecuted = mark_unexecuted(db, module, traced)
    module.summary_file.write_text(
        json.dumps(
            {"fingerprint": module.fingerprint(), "started": dt.date.today().isoformat()},
            indent=1,
        )
    )
    print(
        f"{module.name}: new session, {total} mutants; {annotations} in annotations skipped; "
        f"{unexecuted} on lines the tests never execute"
    )


def execute(module: Module, minutes: float | None) -> None:
    """Run the session's pending mutants (in cosmic-ray's random order), for at most `minutes`:
    then cosmic-ray is interrupted, and the mutants it ran are a random sample of the module's."""
    command = ["cosmic-ray", "exec", str(module.config), str(module.session)]
    started = time.monotonic()
    deadline = None if minutes is None else started + 60 * minutes
    process = subprocess.Popen(command, cwd=module.work, env=env())
    try:
        while process.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                print(f"{module.name}: {minutes} minutes are up; stopping", flush=True)
                process.send_signal(signal.SIGINT)  # cosmic-ray puts the mutated file back
                process.wait()
                _stop_leftover_tests(module)
                return
            try:
                process.wait(timeout=PROGRESS_EVERY)
            except subprocess.TimeoutExpired:
                counts = tally(module)
                print(
                    f"{module.name}: {counts['done']}/{counts['total']} done, "
                    f"{counts['survived']} survived, {time.monotonic() - started:.0f} s",
                    flush=True,
                )
    except KeyboardInterrupt:
        # cosmic-ray had the interrupt too and puts the mutated file back as it stops; the next
        # run's copy of the work tree would anyway
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.terminate()
            process.wait()
        raise
    if process.returncode:
        sys.exit(f"{module.name}: cosmic-ray exec failed (exit {process.returncode})")


def _stop_leftover_tests(module: Module) -> None:
    """Kill the test command of the mutant cosmic-ray was running when it was interrupted:
    it runs in a session of its own, so it outlives cosmic-ray and would go on testing the
    scratch copy."""
    import psutil  # a dev dependency, like cosmic-ray

    for proc in psutil.process_iter(["cmdline", "cwd"]):
        command = proc.info["cmdline"] or []
        if proc.info["cwd"] == str(module.work) and any(
            part.endswith("run_pytest.py") for part in command
        ):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)  # its pytest with it
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()


def retest(module: Module) -> int:
    """Make the session's survivors pending again, those never run included. Enough when tests
    were only added; when tests were changed or removed, start afresh (--fresh)."""
    with sqlite3.connect(module.session) as db:
        return db.execute("DELETE FROM work_results WHERE test_outcome = 'SURVIVED'").rowcount


def tally(module: Module) -> Counter:
    counts: Counter = Counter()
    with use_db(module.session, WorkDB.Mode.open) as db:
        counts["total"] = db.num_work_items
        for _item, result in db.completed_work_items:
            counts["done"] += 1
            counts[classify(result)] += 1
    counts["pending"] = counts["total"] - counts["done"]
    return counts


def classify(result: WorkResult) -> str:
    if result.worker_outcome == WorkerOutcome.SKIPPED:
        return "skipped"
    if result.test_outcome == TestOutcome.SURVIVED:
        return "survived"
    if result.test_outcome == TestOutcome.KILLED:
        return "timeout" if result.output == "timeout" else "killed"
    return "incompetent"


def mutant_diff(module: Module, mutation) -> str:
    """The mutant's diff, made again for those recorded without a run."""
    path = module.work / mutation.module_path
    source = path.read_text()
    operator = get_operator(mutation.operator_name)(**(mutation.operator_args or {}))
    mutated = mutate_code(source, operator, mutation.occurrence)
    if mutated is None:
        return ""
    lines = difflib.unified_diff(
        source.splitlines(), mutated.splitlines(), str(mutation.module_path), "mutant", lineterm=""
    )
    return "\n".join(lines)


def wilson(killed: int, n: int) -> tuple[float | None, float | None]:
    if not n:
        return None, None
    z, p = 1.96, killed / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return centre - half, centre + half


def summarise(module: Module) -> dict:
    counts = tally(module)
    decided = counts["killed"] + counts["timeout"] + counts["survived"]
    score = (counts["killed"] + counts["timeout"]) / decided if decided else None
    survivors = []
    with use_db(module.session, WorkDB.Mode.open) as db:
        for item, result in db.completed_work_items:
            if classify(result) != "survived":
                continue
            mutation = item.mutations[0]
            survivors.append(
                {
                    "where": f"{mutation.module_path}:{mutation.start_pos[0]}",
                    "operator": mutation.operator_name,
                    "occurrence": mutation.occurrence,
                    "executed": result.output != NOT_EXECUTED,
                    "diff": result.diff or mutant_diff(module, mutation),
                }
            )
    survivors.sort(key=lambda s: (s["where"].split(":")[0], int(s["where"].split(":")[1])))
    counts["unrun"] = sum(1 for s in survivors if not s["executed"])
    estimate = None
    if counts["pending"]:
        # The mutants run so far are a random sample of those the tests execute; the ones they
        # never execute are all known (and all survive): so the module's score is about
        # (its share of executed mutants) x (the sample's kill rate), within the sample's 95%.
        killed = counts["killed"] + counts["timeout"]
        executed = len(survivors) - counts["unrun"] + killed
        to_decide = decided + counts["pending"]
        share = (to_decide - counts["unrun"]) / to_decide
        low, high = wilson(killed, executed)
        if low is not None:
            estimate = [share * killed / executed, share * low, share * high]
    summary = json.loads(module.summary_file.read_text()) if module.summary_file.exists() else {}
    summary = {k: summary[k] for k in ("fingerprint", "started") if k in summary}
    summary.update(
        {
            "module": module.name,
            "files": module.paths,
            "date": dt.date.today().isoformat(),
            "tool": f"cosmic-ray {version('cosmic-ray')}",
            "counts": dict(counts),
            "score": score,
            # while mutants are pending: the module's estimated score and its 95% interval
            "estimate": estimate,
            "command": module.cr["test-command"],
            "timeout": module.cr["timeout"],
        }
    )
    module.summary_file.write_text(json.dumps(summary, indent=1))
    with module.survivors_file.open("w") as out:
        for s in survivors:
            ran = "" if s["executed"] else "  [never executed by the tests]"
            out.write(f"== {s['where']}  {s['operator']} #{s['occurrence']}{ran}\n{s['diff']}\n\n")
    return summary


def print_table(summaries: list[dict]) -> None:
    head = f"{'module':<20}{'mutants':>8}{'skipped':>8}{'killed':>8}{'timeout':>8}"
    head += f"{'survived':>9}{'(unrun)':>8}{'pending':>8}  score"
    print(head)
    for s in summaries:
        c = s["counts"]
        score = "-" if s["score"] is None else f"{100 * s['score']:.1f}%"
        if s.get("estimate"):
            middle, low, high = s["estimate"]
            score += f" so far; module ~{100 * middle:.0f}%"
            score += f" (95%: {100 * low:.0f}-{100 * high:.0f}%)"
        unrun = c.get("unrun", 0)
        print(
            f"{s['module']:<20}{c.get('total', 0):>8}{c.get('skipped', 0):>8}"
            f"{c.get('killed', 0):>8}{c.get('timeout', 0):>8}{c.get('survived', 0):>9}"
            f"{unrun:>8}{c.get('pending', 0):>8}  {score}"
        )


def main() -> int:
    known = modules()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"of {', '.join(known)}")
    parser.add_argument("--fresh", action="store_true", help="start the sessions anew")
    parser.add_argument("--report", action="store_true", help="only print the recorded scores")
    parser.add_argument(
        "--retest", action="store_true", help="run the survivors again (after tests were added)"
    )
    parser.add_argument("--list", action="store_true", help="list the modules and their files")
    parser.add_argument(
        "--minutes", type=float, help="stop each module after this long (a random sample)"
    )
    options = parser.parse_args()
    unknown = [n for n in options.names if n not in known]
    if unknown:
        parser.error(f"unknown module(s) {', '.join(unknown)}; known: {', '.join(known)}")
    chosen = [known[n] for n in options.names] or list(known.values())
    if options.list:
        for m in chosen:
            print(f"{m.name:<20}{' '.join(m.paths)}")
        return 0
    summaries = []
    for module in chosen:
        if options.report:
            if module.session.exists():
                summaries.append(summarise(module))
            continue
        sync_tree(module, options.fresh)
        recorded = {}
        if module.summary_file.exists():
            recorded = json.loads(module.summary_file.read_text())
        new = (
            options.fresh
            or not module.session.exists()
            or recorded.get("fingerprint") != module.fingerprint()
        )
        if new:
            start_session(module)
        elif options.retest:
            print(f"{module.name}: {retest(module)} survivors to run again", flush=True)
        if tally(module)["pending"]:
            if not (new and module.trace_lines):  # a traced session's start ran the baseline
                baseline(module)
            execute(module, options.minutes)
        summaries.append(summarise(module))
        print_table(summaries[-1:])
        print(f"{module.name}: survivors in {module.survivors_file.relative_to(REPO)}", flush=True)
    if summaries:
        print()
        print_table(summaries)
    return 0


if __name__ == "__main__":
    sys.exit(main())
