"""Where a sweep's tasks run, and what each task does: `sim.studies.sweep` plans them.

A task is one (point, seed) of a sweep: the scenario file's data (`Payload`, which reaches each
worker once) resolved with the sweep's overrides and then the point's, run by `sim.run` in
memory, its metrics flattened (`flatten_metrics`). It returns an `Outcome`, never raises: an
exception in the run is an outcome with status "error" and the exception's type and message.

Executors yield the outcomes of their tasks as they finish, in any order:

- `in_process`: one after the other, here;
- `on_pool`: a `concurrent.futures` pool of spawned processes, which import bondlab once and
  run many tasks. A worker that dies (killed, out of memory, a crash in native code) breaks
  the pool; the tasks then in flight run again one at a time on a fresh pool, and one that
  kills its worker alone is an error outcome (`WORKER_DIED`), so the sweep goes on;
- `on_dask`: a Dask distributed cluster, every task submitted at once; Dask retries a task
  whose worker died and gives up with KilledWorker, also an error outcome.
"""

from __future__ import annotations

import math
import multiprocessing
import time
import uuid
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sim.engine.kernel import run
from sim.scenario.model import scenario_from_dict

WORKER_DIED = "the worker process died running this task (killed, out of memory or a native crash)"


@dataclass(frozen=True)
class Task:
    """One (point, seed): the point's overrides and the hash of the scenario they resolve to
    where the sweep was planned (a worker that resolves another refuses to run it)."""

    point: int
    seed: int
    overrides: tuple[str, ...]
    scenario_hash: str


@dataclass(frozen=True)
class Outcome:
    """What a task returns: its status, error and metrics (dotted names, floats or None)."""

    point: int
    seed: int
    status: str
    error: str | None
    wall_seconds: float
    metrics: dict[str, float | None]


@dataclass(frozen=True)
class Payload:
    """What every worker needs once: the scenario file's data and the sweep's overrides."""

    document: dict[str, Any]
    source: str
    overrides: tuple[str, ...]
    fingerprint: str  # of the three: what a worker's cache of resolved points is keyed by


# --- one task, on whichever worker ---------------------------------------------------------------

_resolved: dict[tuple, Any] = {}  # a worker's latest resolved points (a point runs every seed)


def run_task(payload: Payload, task: Task) -> Outcome:
    """Run one (point, seed) and return its metrics; an exception becomes an error outcome."""
    started = time.perf_counter()
    try:
        key = (payload.fingerprint, task.overrides)
        scenario = _resolved.get(key)
        if scenario is None:
            if len(_resolved) >= 8:
                _resolved.clear()
            scenario = scenario_from_dict(
                payload.document, payload.source, [*payload.overrides, *task.overrides]
            )
            _resolved[key] = scenario
        if scenario.hash != task.scenario_hash:
            raise RuntimeError(
                "the worker resolves this point to another scenario (hash "
                f"{scenario.hash[:12]}, not {task.scenario_hash[:12]}): another bondlab version?"
            )
        result = run(scenario, seed=task.seed, out=None)
        metrics, status, error = flatten_metrics(result.metrics), "ok", None
    except Exception as exc:  # the row records it; the sweep goes on
        metrics, status, error = {}, "error", f"{type(exc).__name__}: {exc}"
    wall = time.perf_counter() - started
    return Outcome(task.point, task.seed, status, error, wall, metrics)


def flatten_metrics(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, float | None]:
    """The numeric scalars of a run's metrics, keys dotted, as floats (NaN and inf as None)."""
    out: dict[str, float | None] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten_metrics(value, f"{name}."))
        elif isinstance(value, bool | int | float):
            number = float(value)
            out[name] = number if math.isfinite(number) else None
    return out


def died(task: Task) -> Outcome:
    """The outcome of a task whose worker died running it."""
    return Outcome(task.point, task.seed, "error", WORKER_DIED, 0.0, {})


_worker_payload: Payload | None = None


def _start_worker(payload: Payload) -> None:
    global _worker_payload
    _worker_payload = payload


def _run_pooled(task: Task) -> Outcome:
    return run_task(_worker_payload, task)


# --- engines: each yields the outcomes of its tasks, in any order --------------------------------


def in_process(payload: Payload, tasks: list[Task]) -> Iterator[Outcome]:
    for task in tasks:
        yield run_task(payload, task)


def on_pool(payload: Payload, tasks: list[Task], workers: int) -> Iterator[Outcome]:
    """A pool of spawned processes (a fork of a process with polars' and numba's threads may
    hang), fed a few tasks ahead. When a worker dies, the tasks that were in flight are run
    again one at a time: one that kills its worker alone is recorded as an error."""
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("spawn")
    pending, suspects = deque(tasks), deque()
    pool = None
    try:
        while pending or suspects:
            if pool is None:
                pool = ProcessPoolExecutor(
                    workers, mp_context=context, initializer=_start_worker, initargs=(payload,)
                )
            alone = bool(suspects)
            batch = [suspects.popleft()] if alone else [
                pending.popleft() for _ in range(min(2 * workers, len(pending)))
            ]  # fmt: skip
            in_flight = {pool.submit(_run_pooled, task): task for task in batch}
            while in_flight:
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                if any(isinstance(f.exception(), BrokenProcessPool) for f in done):
                    break
                for future in done:
                    in_flight.pop(future)
                    yield future.result()
                    if not alone and pending:
                        task = pending.popleft()
                        in_flight[pool.submit(_run_pooled, task)] = task
            if in_flight:  # the pool broke: every future still in flight fails
                wait(in_flight)
                for future, task in in_flight.items():
                    if not isinstance(future.exception(), BrokenProcessPool):
                        yield future.result()
                    elif alone:
                        yield died(task)
                    else:
                        suspects.append(task)
                pool.shutdown(wait=True)
                pool = None
    except BaseException:
        if pool is not None:  # interrupted: let the workers finish their task and go
            pool.shutdown(wait=False, cancel_futures=True)
        raise
    if pool is not None:
        pool.shutdown(wait=True)


def on_dask(payload: Payload, tasks: list[Task], client) -> Iterator[Outcome]:
    """Every task submitted at once; Dask retries a task whose worker died, then gives up on
    it with KilledWorker, which is recorded as an error."""
    from distributed import KilledWorker, as_completed

    [shared] = client.scatter([payload], broadcast=True, hash=False)
    token = uuid.uuid4().hex[:8]
    keys = [f"bondlab-sweep-{token}-{t.point}-{t.seed}" for t in tasks]
    futures = client.map(run_task, [shared] * len(tasks), tasks, key=keys, pure=False)
    by_future = dict(zip(futures, tasks, strict=True))
    try:
        for future in as_completed(futures, loop=client.loop):
            task = by_future.pop(future)
            try:
                outcome = future.result()
            except KilledWorker:
                outcome = died(task)
            future.release()
            yield outcome
    finally:
        client.cancel(list(by_future))
