"""Parameter sweeps: one scenario run at every point of a grid of overrides, over seeds, on a
local process pool or a Dask cluster; written as it goes, and resumable.

A grid is a list of axes, each a dotted scenario key (a ``--set`` key) and its values; its
points are the axes' product, in the order given (the last axis varies fastest), numbered from
0. A list of explicit points (the same keys in each) may stand for the grid: a Sobol design, say.
Every point is validated as the scenario would validate its overrides before anything runs.

Each (point, seed) is one task: `sim.run` of the scenario with ``--set`` overrides, then the
point's, in memory. Its row:

    point, <each grid key>, seed, status ("ok" or "error"), error (null when ok),
    wall_seconds, <every numeric scalar of the run's metrics, keys dotted: "sip.exits">

Metric columns are Float64 (a bool as 0 or 1, NaN and infinities as null), in order of first
appearance; a metric named like one of the columns before them is prefixed ``metrics.``. A
task that raises is an "error" row holding the exception; so is one whose worker died running
it alone (killed, out of memory, a crash in native code), and the sweep goes on. A row is a
function of the scenario, point and seed alone, so the same sweep gives the same rows, except
wall_seconds, on any engine with any number of workers.

Where tasks run (`sim.studies.executors`): this process (``workers=1``); a `concurrent.futures`
pool of ``workers`` spawned processes; or a Dask distributed cluster (``scheduler``). Pool and
cluster workers import bondlab once and run many tasks.

A sweep's folder (``out``):

    sweep.json                   the sweep (scenario and hash, keys, points, seeds, overrides)
                                 and each session that worked on it: engine, counts, wall time
    rows/point-000012-seed-3.parquet   each finished task's row, written atomically as it ends
                                 (its metrics as two lists, names and values: see `_narrow`)
    rows.parquet                 every row, sorted by point then seed, at the end
    summary.parquet, .csv        per point and metric: n, mean, sd, 95% CI (Student t)

Running a sweep into a folder that holds the same sweep continues it: tasks with a part are
skipped (delete a part to run its task again); a folder holding another sweep is refused.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import math
import re
import time
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import polars as pl

from sim.errors import BondlabError
from sim.records.store import to_json_ready, write_bytes_atomically
from sim.scenario import library
from sim.scenario.config import read_toml
from sim.scenario.model import ScenarioError, load_scenario, scenario_from_dict
from sim.studies.executors import Outcome, Payload, Task, in_process, on_dask, on_pool

SWEEP_FILE = "sweep.json"
ROWS_FOLDER = "rows"
ROWS_FILE = "rows.parquet"
SUMMARY_FILE = "summary.parquet"
SUMMARY_CSV = "summary.csv"
DEFAULT_ROOT = Path("results") / "sweeps"
FORMAT = 1  # of sweep.json
MAX_POINTS = 1_000_000
_PART = re.compile(r"^point-(\d{6,})-seed-(\d+)\.parquet$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_ADDRESS = re.compile(r"^((tcp|tls|ws|wss|ucx)://)?[^:/\s]+:\d{1,5}$")


class SweepError(BondlabError, ValueError):
    """A sweep that cannot be run as asked: a bad grid, seeds or engine, a folder holding
    another sweep or a damaged part, a scheduler out of reach."""


@dataclass(frozen=True)
class Point:
    """One point: its number, its value on each key (as the rows hold them) and its
    overrides (``key=value`` texts), with the hash of the scenario they resolve to."""

    index: int
    values: tuple[Any, ...]
    overrides: tuple[str, ...]
    scenario_hash: str


@dataclass(frozen=True)
class Plan:
    """A validated sweep: what runs, not where."""

    scenario: str  # the scenario's name
    source: str  # its file
    document: dict[str, Any]  # the file's data, which workers resolve each point from
    scenario_hash: str  # with `overrides`, before any point's
    overrides: tuple[str, ...]
    keys: tuple[str, ...]
    dtypes: tuple[pl.DataType, ...]  # of each key's column
    grid: dict[str, list[str]] | None  # key -> value texts; None for explicit points
    points: tuple[Point, ...]
    seeds: tuple[int, ...]

    def identity(self) -> dict[str, Any]:
        """What makes two sweeps the same sweep: a folder holds one."""
        return {
            "scenario": self.scenario,
            "scenario_hash": self.scenario_hash,
            "overrides": list(self.overrides),
            "keys": list(self.keys),
            "points": [[text.partition("=")[2] for text in p.overrides] for p in self.points],
            "seeds": list(self.seeds),
        }

    @property
    def id(self) -> str:
        text = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:10]

    def default_folder(self, root: str | Path = DEFAULT_ROOT) -> Path:
        """``results/sweeps/<scenario>-<id>``: the same sweep finds its folder again."""
        return Path(root) / f"{self.scenario}-{self.id}"

    @property
    def tasks(self) -> list[Task]:
        return [Task(p.index, seed, p.overrides, p.scenario_hash) for p in self.points
                for seed in self.seeds]  # fmt: skip


def _payload(sweep_plan: Plan) -> Payload:
    text = json.dumps([sweep_plan.document, sweep_plan.source, sweep_plan.overrides],
                      sort_keys=True, default=str)  # fmt: skip
    fingerprint = hashlib.sha256(text.encode()).hexdigest()
    return Payload(sweep_plan.document, sweep_plan.source, sweep_plan.overrides, fingerprint)


# --- planning: grids, seeds, validation ----------------------------------------------------------


def parse_axis(spec: str) -> tuple[str, list[str]]:
    """``key=start:stop:step`` (stop included when a step lands on it) or ``key=v1,v2,...``:
    the key and its value texts. Ranges are reckoned in decimal, so 0:0.3:0.1 ends at 0.3."""
    key, sep, values = spec.partition("=")
    key = key.strip()
    if not sep or not key or not values.strip():
        raise SweepError(f"--grid {spec}: expected key=start:stop:step or key=v1,v2,...")
    parts = [part.strip() for part in values.split(":")]
    if len(parts) == 3 and all(_NUMBER.match(part) for part in parts):
        return key, _range_texts(spec, *parts)
    texts = [text.strip() for text in values.split(",")]
    if not all(texts):
        raise SweepError(f"--grid {spec}: an empty value in the list")
    return key, texts


def _range_texts(spec: str, start: str, stop: str, step: str) -> list[str]:
    try:
        first, last, stride = Decimal(start), Decimal(stop), Decimal(step)
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        raise SweepError(f"--grid {spec}: not numbers") from None
    if stride == 0:
        raise SweepError(f"--grid {spec}: the step is 0")
    if (last - first) * stride < 0:
        raise SweepError(f"--grid {spec}: a step of {step} never goes from {start} to {stop}")
    count = int((last - first) / stride) + 1  # stop included when a step lands on it
    if count > MAX_POINTS:
        raise SweepError(f"--grid {spec}: {count:,} values (at most {MAX_POINTS:,})")
    integers = not any(re.search(r"[.eE]", text) for text in (start, stop, step))
    values = (first + i * stride for i in range(count))
    return [str(int(v)) if integers else repr(float(v)) for v in values]


def parse_seeds(text: str) -> tuple[int, ...]:
    """Seeds from ``"N"`` (1 to N), ``"A..B"`` (both included) or ``"1,2,5"``."""
    try:
        if ".." in text:
            first, last = (int(part) for part in text.split(".."))
            seeds = tuple(range(first, last + 1))
        elif "," in text:
            seeds = tuple(int(part) for part in text.split(","))
        else:
            seeds = tuple(range(1, int(text) + 1))
    except ValueError:
        raise SweepError(f"--seeds {text}: expected N (seeds 1 to N), A..B or 1,2,5") from None
    return _checked_seeds(seeds, f"--seeds {text}")


def _checked_seeds(seeds: Iterable[int], what: str) -> tuple[int, ...]:
    seeds = tuple(seeds)
    if not seeds or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds):
        raise SweepError(f"{what}: expected at least one seed, each an integer >= 0")
    if len(set(seeds)) != len(seeds):
        raise SweepError(f"{what}: a seed is given twice")
    return seeds


def _toml_text(key: str, value: Any) -> str:
    """An override's value text for a Python value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string
    raise SweepError(f"{key}: cannot sweep a value of type {type(value).__name__} ({value!r})")


def _parsed(text: str) -> Any:
    """A value text as the scenario reads it (`sim.scenario.config.apply_override`)."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def _column(values: list[Any]) -> tuple[pl.DataType, list[Any]]:
    """A key's column type, and its values as that type holds them."""
    if all(isinstance(v, bool) for v in values):
        return pl.Boolean(), values
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return pl.Int64(), values
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return pl.Float64(), [float(v) for v in values]
    return pl.String(), [v if isinstance(v, str) else json.dumps(v, default=str) for v in values]


def _axes(grid) -> tuple[list[str], list[list[str]]]:
    """Keys and value texts from `grid`: ``{key: "0:1:0.5" | [values]}`` or ``["key=spec"]``."""
    if isinstance(grid, str):
        grid = [grid]
    pairs = []
    if isinstance(grid, Mapping):
        for key, values in grid.items():
            if isinstance(values, str):
                pairs.append(parse_axis(f"{key}={values}"))
            else:
                pairs.append((key, [_toml_text(key, v) for v in values]))
    else:
        pairs = [parse_axis(spec) for spec in grid]
    keys = [key for key, _ in pairs]
    for key, texts in pairs:
        if not texts:
            raise SweepError(f"--grid {key}: no values")
        if keys.count(key) > 1:
            raise SweepError(f"--grid {key}: the key is given twice")
        if len(set(texts)) != len(texts):
            raise SweepError(f"--grid {key}: a value is given twice")
    return keys, [texts for _, texts in pairs]


def plan(
    scenario: str | Path,
    grid: Mapping[str, str | Iterable[Any]] | Iterable[str] = (),
    seeds: int | Iterable[int] = 1,
    *,
    points: Sequence[Mapping[str, Any]] | None = None,
    overrides: Iterable[str] = (),
) -> Plan:
    """Validate a sweep: the scenario with `overrides`, each key's values alone, then every
    point. `grid` maps keys to ``"start:stop:step"``, ``"v1,v2"`` or a list of values, or is a
    list of ``"key=spec"``; or `points` lists explicit points. `seeds`: N (1 to N) or the
    seeds. Raises `SweepError`, or `sim.scenario.ScenarioError` naming the key and value."""
    overrides = tuple(overrides)
    base = load_scenario(scenario, overrides)
    source = str(library.locate(scenario))
    document = read_toml(source, what="scenario file")
    if points is not None:
        if grid:
            raise SweepError("give a grid or explicit points, not both")
        keys = list(points[0]) if points else []
        if not points or any(list(p) != keys for p in points):
            raise SweepError("explicit points: at least one, each with the same keys in order")
        texts = [[_toml_text(k, p[k]) for k in keys] for p in points]
        axes = None
    else:
        keys, axes = _axes(grid)
        texts = [list(combo) for combo in itertools.product(*axes)]
        if len(texts) > MAX_POINTS:
            raise SweepError(f"--grid: {len(texts):,} points (at most {MAX_POINTS:,})")
    set_keys = {text.partition("=")[0].strip() for text in overrides}
    for key in keys:
        if key in set_keys:
            raise SweepError(f"{key}: given both by --grid and by --set")
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        seeds = range(1, seeds + 1)
    seeds = _checked_seeds(seeds, "seeds")

    def resolve(point_overrides: list[str]):
        try:
            return scenario_from_dict(document, source, [*overrides, *point_overrides])
        except ScenarioError as exc:
            grid_texts = set(point_overrides)
            raise ScenarioError([_as_grid(line, grid_texts) for line in exc.problems]) from None

    problems: list[str] = []
    for key, values in zip(keys, axes or [], strict=False):  # each value alone: every bad one
        failed = []
        for text in values:
            try:
                resolve([f"{key}={text}"])
            except ScenarioError as exc:
                failed.append(exc.problems)
        # When every value fails, the key is likely at fault: say it once.
        problems += failed[0] if failed and len(failed) == len(values) else sum(failed, ())
    if problems:
        raise ScenarioError(problems)
    resolved = []
    for i, combo in enumerate(texts):
        point_overrides = [f"{k}={t}" for k, t in zip(keys, combo, strict=True)]
        resolved.append((i, point_overrides, resolve(point_overrides).hash))
    columns = [_column([_parsed(combo[j]) for combo in texts]) for j in range(len(keys))]
    return Plan(
        scenario=base.name,
        source=source,
        document=document,
        scenario_hash=base.hash,
        overrides=overrides,
        keys=tuple(keys),
        dtypes=tuple(dtype for dtype, _ in columns),
        grid=None if axes is None else dict(zip(keys, axes, strict=True)),
        points=tuple(
            Point(i, tuple(values[i] for _, values in columns), tuple(ov), scenario_hash)
            for i, ov, scenario_hash in resolved
        ),
        seeds=seeds,
    )


def _as_grid(line: str, grid_texts: set[str]) -> str:
    """A scenario problem caused by a grid value says --grid, not --set."""
    for text in grid_texts:
        if line.startswith(f"--set {text}:"):
            return "--grid" + line.removeprefix("--set")
    return line


def _connect(scheduler: str, timeout: float | None):
    if not _ADDRESS.match(scheduler):
        raise SweepError(f"--scheduler {scheduler}: expected an address like tcp://HOST:PORT")
    try:
        from distributed import Client
    except ImportError:
        raise SweepError(
            "--scheduler needs dask.distributed: pip install 'bondlab[cluster]'"
        ) from None
    try:
        if timeout is None:  # Dask's own: distributed.comm.timeouts.connect
            return Client(scheduler, set_as_default=False)
        return Client(scheduler, timeout=timeout, set_as_default=False)
    except OSError as exc:
        raise SweepError(f"--scheduler {scheduler}: cannot reach it ({exc})") from None


# --- the folder ----------------------------------------------------------------------------------


def _part_name(point: int, seed: int) -> str:
    return f"point-{point:06d}-seed-{seed}.parquet"


def _open_folder(folder: Path, sweep_plan: Plan, resume: bool) -> tuple[dict, set]:
    """sweep.json's record and the (point, seed) of every part written; refuses a folder
    holding another sweep, a damaged part or a part of no task of this sweep."""
    record_path = folder / SWEEP_FILE
    identity = sweep_plan.identity()
    if record_path.exists():
        try:
            record = json.loads(record_path.read_text())
            theirs = record["sweep"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SweepError(f"{record_path}: not a sweep's record ({exc})") from None
        if theirs != to_json_ready(identity):
            what = [k for k in identity if theirs.get(k) != to_json_ready(identity[k])]
            raise SweepError(
                f"{folder}: holds another sweep (its {', '.join(what)} differ); "
                "choose another --out, or delete that folder"
            )
    elif resume:
        raise SweepError(f"{folder}: no sweep to resume (no {SWEEP_FILE})")
    elif folder.exists() and any(folder.iterdir()):
        raise SweepError(f"{folder}: not empty and not a sweep's folder (no {SWEEP_FILE})")
    else:
        record = {"format": FORMAT, "sweep": identity, "grid": sweep_plan.grid, "sessions": []}
    done = set()
    wanted = {(t.point, t.seed) for t in sweep_plan.tasks}
    rows = folder / ROWS_FOLDER
    for file in sorted(rows.iterdir()) if rows.is_dir() else ():
        if file.name.startswith("."):  # a write a crash cut short
            continue
        match = _PART.match(file.name)
        task = match and (int(match[1]), int(match[2]))
        if task not in wanted:
            raise SweepError(f"{file}: not a part of this sweep; remove it")
        try:
            pl.read_parquet_schema(file)
        except Exception as exc:  # polars' errors for a truncated or foreign file vary
            raise SweepError(
                f"{file}: a damaged part ({exc}); delete it to run its task again"
            ) from None
        done.add(task)
    return record, done


def _write_json(path: Path, record: dict) -> None:
    text = json.dumps(to_json_ready(record), indent=2, sort_keys=True) + "\n"
    write_bytes_atomically(path, text.encode())


def _fixed(sweep_plan: Plan) -> list[str]:
    return ["point", *sweep_plan.keys, "seed", "status", "error", "wall_seconds"]


def _narrow(sweep_plan: Plan, outcomes: Sequence[Outcome]) -> pl.DataFrame:
    """Outcomes as rows of their fixed columns and two lists, their metrics' names and
    values: a part's layout (a run's ~2,000 metrics as columns would cost a wide file's
    metadata per run, ~30 times the bytes)."""
    schema: dict[str, pl.DataType] = {"point": pl.Int64()}
    schema.update(zip(sweep_plan.keys, sweep_plan.dtypes, strict=True))
    schema.update(seed=pl.Int64(), status=pl.String(), error=pl.String())
    schema.update(wall_seconds=pl.Float64(), metric_names=pl.List(pl.String),
                  metric_values=pl.List(pl.Float64))  # fmt: skip
    rows = [
        (o.point, *sweep_plan.points[o.point].values, o.seed, o.status, o.error,
         o.wall_seconds, list(o.metrics), list(o.metrics.values()))
        for o in outcomes
    ]  # fmt: skip
    return pl.DataFrame(rows, schema=schema, orient="row")


def _wide(sweep_plan: Plan, narrow: pl.DataFrame) -> pl.DataFrame:
    """The rows: one per (point, seed) in that order, a column per metric, metrics in order
    of first appearance (runs with the same metrics go through together)."""
    fixed = _fixed(sweep_plan)
    narrow = narrow.sort("point", "seed").with_row_index("_row")
    narrow = narrow.with_columns(_names=pl.col("metric_names").list.join("\x1f"))
    pieces = []
    for text in narrow["_names"].unique(maintain_order=True):
        group = narrow.filter(pl.col("_names") == text)
        names = text.split("\x1f") if text else []
        columns = [f"metrics.{name}" if name in fixed else name for name in names]
        if not columns:
            pieces.append(group.select("_row"))
            continue
        values = pl.col("metric_values").list.to_array(len(columns)).arr.to_struct(columns)
        pieces.append(group.select("_row", values.alias("_values")).unnest("_values"))
    metrics = pl.concat(pieces, how="diagonal").sort("_row").drop("_row")
    return pl.concat([narrow.select(fixed), metrics], how="horizontal")


def _read_parts(folder: Path, sweep_plan: Plan) -> pl.DataFrame:
    """Every part, in the narrow layout."""
    files = [folder / ROWS_FOLDER / _part_name(t.point, t.seed) for t in sweep_plan.tasks]
    try:
        return pl.read_parquet(files)
    except Exception:  # polars' errors for a damaged file vary: find the file and say so
        for file in files:
            try:
                pl.read_parquet(file)
            except Exception as exc:
                raise SweepError(
                    f"{file}: a damaged part ({exc}); delete it to run its task again"
                ) from None
        raise


# --- the summary ---------------------------------------------------------------------------------


def summarize(rows: pl.DataFrame, confidence: float = 0.95) -> pl.DataFrame:
    """Per point and metric (long: one row each): n (finite values over the point's "ok"
    rows), mean, sd (n - 1 in the denominator) and the `confidence` interval of the mean by
    Student's t, ``mean ± t(n - 1) sd / sqrt(n)`` (null below two values). The grid keys are
    the columns between ``point`` and ``seed``."""
    from scipy import stats

    columns = rows.columns
    keys = columns[columns.index("point") + 1 : columns.index("seed")]
    group = ["point", *keys]
    metrics = columns[columns.index("wall_seconds") + 1 :]
    schema = {**rows.select(group).schema, "metric": pl.String, "n": pl.Int64,
              "mean": pl.Float64, "sd": pl.Float64, "ci_low": pl.Float64,
              "ci_high": pl.Float64}  # fmt: skip
    if not metrics or rows.is_empty():
        return pl.DataFrame(schema=schema)
    ok = pl.col("status") == "ok"
    stats_of = {
        "n": lambda m: pl.col(m).filter(ok).count().cast(pl.Int64),
        "mean": lambda m: pl.col(m).filter(ok).mean(),
        "sd": lambda m: pl.col(m).filter(ok).std(ddof=1),
    }
    by_point = rows.sort("point", "seed").group_by(group, maintain_order=True)
    parts = [  # each the same rows in the same order: one column of the result each
        by_point.agg([fn(m) for m in metrics]).unpivot(
            index=group, variable_name="metric", value_name=name
        )
        for name, fn in stats_of.items()
    ]
    long = parts[0].with_columns(parts[1]["mean"], parts[2]["sd"])
    order = {m: i for i, m in enumerate(metrics)}
    long = long.sort(pl.col("point"), pl.col("metric").replace_strict(order, return_dtype=pl.Int64))
    quantiles = {n: float(stats.t.ppf(0.5 + confidence / 2, n - 1)) for n in long["n"].unique()
                 if n is not None and n >= 2}  # fmt: skip
    q = pl.col("n").replace_strict(quantiles, default=None, return_dtype=pl.Float64)
    half = q * pl.col("sd") / pl.col("n").cast(pl.Float64).sqrt()
    return long.with_columns(ci_low=pl.col("mean") - half, ci_high=pl.col("mean") + half).select(
        list(schema)
    )


# --- the sweep -----------------------------------------------------------------------------------


def run_plan(
    sweep_plan: Plan,
    *,
    workers: int = 1,
    scheduler: str | Any | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    progress: Callable[[int, int, int], None] | None = None,
    scheduler_timeout: float | None = None,
) -> pl.DataFrame:
    """Run a validated sweep (see `sweep`) and return its rows, sorted by point then seed.
    `scheduler_timeout` (seconds) defaults to Dask's ``distributed.comm.timeouts.connect``."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise SweepError(f"workers: expected an integer >= 1, got {workers!r}")
    if scheduler is not None and workers > 1:
        raise SweepError("--workers and --scheduler exclude each other: the cluster has its own")
    if resume and out is None:
        raise SweepError("resume needs the sweep's folder (out)")
    started = time.perf_counter()
    folder = None if out is None else Path(out)
    record, done = _open_folder(folder, sweep_plan, resume) if folder else (None, set())
    tasks = [t for t in sweep_plan.tasks if (t.point, t.seed) not in done]
    own_client = isinstance(scheduler, str)
    client = _connect(scheduler, scheduler_timeout) if own_client else scheduler
    total, kept = len(sweep_plan.tasks), []
    try:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        session = {"engine": _engine(client, workers), "started": now, "skipped": len(done),
                   "ran": 0, "errors": 0}  # fmt: skip
        if folder is not None:  # made only now, once the sweep can run
            (folder / ROWS_FOLDER).mkdir(parents=True, exist_ok=True)
            record["sessions"].append(session)
            record["status"] = "running"
            _write_json(folder / SWEEP_FILE, record)
        if progress is not None:
            progress(len(done), total, 0)
        for outcome in _outcomes(_payload(sweep_plan), tasks, client, workers):
            session["ran"] += 1
            session["errors"] += outcome.status != "ok"
            if folder is None:
                kept.append(outcome)
            else:
                _write_part(folder, sweep_plan, outcome)
            if progress is not None:
                progress(len(done) + session["ran"], total, session["errors"])
    finally:
        if own_client:
            client.close()
    narrow = _narrow(sweep_plan, kept) if folder is None else _read_parts(folder, sweep_plan)
    rows = _wide(sweep_plan, narrow)
    if folder is None:
        return rows
    _write_outputs(folder, rows)
    counts = rows["status"].value_counts()
    record["status"] = "complete"
    record["counts"] = dict(zip(counts["status"], counts["count"], strict=True))
    session["wall_seconds"] = round(time.perf_counter() - started, 3)
    _write_json(folder / SWEEP_FILE, record)
    return rows


def _engine(client, workers: int) -> dict[str, Any]:
    if client is not None:
        threads = sum(client.nthreads().values())
        return {"kind": "dask", "scheduler": client.scheduler.address, "workers": threads}
    return {"kind": "process-pool" if workers > 1 else "in-process", "workers": workers}


def _outcomes(payload: Payload, tasks: list[Task], client, workers: int) -> Iterator[Outcome]:
    if client is not None:
        return on_dask(payload, tasks, client)
    if workers > 1 and len(tasks) > 1:
        return on_pool(payload, tasks, workers)
    return in_process(payload, tasks)


def _write_part(folder: Path, sweep_plan: Plan, outcome: Outcome) -> None:
    buffer = io.BytesIO()
    _narrow(sweep_plan, [outcome]).write_parquet(buffer)
    part = folder / ROWS_FOLDER / _part_name(outcome.point, outcome.seed)
    write_bytes_atomically(part, buffer.getvalue())


def _write_outputs(folder: Path, rows: pl.DataFrame) -> None:
    summary = summarize(rows)
    for name, frame in ((ROWS_FILE, rows), (SUMMARY_FILE, summary)):
        buffer = io.BytesIO()
        frame.write_parquet(buffer)
        write_bytes_atomically(folder / name, buffer.getvalue())
    write_bytes_atomically(folder / SUMMARY_CSV, summary.write_csv().encode())


def sweep(
    scenario: str | Path,
    grid: Mapping[str, str | Iterable[Any]] | Iterable[str] = (),
    seeds: int | Iterable[int] = 1,
    *,
    points: Sequence[Mapping[str, Any]] | None = None,
    overrides: Iterable[str] = (),
    workers: int = 1,
    scheduler: str | Any | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    progress: Callable[[int, int, int], None] | None = None,
) -> pl.DataFrame:
    """Run `scenario` (a file or a shipped name) at every point of `grid` over `seeds`, and
    return one row per (point, seed), sorted by point then seed (module docstring).

        sim.sweep("sip_demo", {"sip.buffer_fraction": "0:0.5:0.1"}, seeds=20, workers=2)

    `grid`: ``{key: "start:stop:step" | "v1,v2" | [values]}`` or ``["key=spec", ...]``; or
    `points`, explicit ``[{key: value, ...}, ...]``. `seeds`: N (seeds 1 to N) or the seeds.
    `overrides` (``key=value``) apply to every point first. `workers` > 1: a local process
    pool; `scheduler` (``"tcp://host:8786"`` or a `distributed.Client`): a Dask cluster.
    `out`: the sweep's folder, written as it goes and continued when run again (`resume`
    insists that it holds this sweep already); None keeps everything in memory. `progress` is
    called with (tasks done, tasks, errors). Everything is validated before anything runs:
    raises `SweepError` or `sim.scenario.ScenarioError`."""
    sweep_plan = plan(scenario, grid, seeds, points=points, overrides=overrides)
    return run_plan(sweep_plan, workers=workers, scheduler=scheduler, out=out, resume=resume,
                    progress=progress)  # fmt: skip
