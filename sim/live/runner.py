"""`bondlab live`: a gated strategy trading at the exchange service.

    summary = run_live("models:/maker@production", "http://127.0.0.1:8000", key, duration_s=60)

It loads the version from the registry only once `sim.gate.deployment` clears it, builds the
strategy with the parameters the gate judged, and runs it through a `LiveContext` on the
service's stream. It reconciles at both ends: at the start it takes the account's positions
from the service; at the end, once its open orders are cancelled and `on_stop` has run, the
service's positions must equal those plus every fill the strategy was told of. A mismatch is
reported in the summary (and `bondlab live` exits 1).
"""

from __future__ import annotations

import threading
import time as wallclock
from collections import Counter
from dataclasses import dataclass, field

from sim.gate.deployment import deployable_version
from sim.live.context import LiveContext
from sim.live.session import STREAM_CLOSED, ServiceRefusal, ServiceSession
from sim.strategy.loading import build_strategy, load_strategy, strategy_params

WAIT_S = 0.2  # the longest the loop waits for a message before it checks its clock


@dataclass
class LiveSummary:
    """What a live session did, and whether the account reconciled."""

    name: str
    version: int
    strategy: str
    started_at: int  # the service's clock, ns
    ended_at: int
    messages: int = 0
    requests: int = 0
    fills: int = 0
    cancelled_at_end: int = 0
    positions_at_start: dict[str, int] = field(default_factory=dict)
    positions_at_end: dict[str, int] = field(default_factory=dict)
    mismatches: dict[str, tuple[int, int]] = field(default_factory=dict)  # expected, service's
    stopped_by: str = "duration"

    @property
    def reconciled(self) -> bool:
        return not self.mismatches


def run_live(
    model_uri: str,
    url: str,
    api_key: str,
    *,
    duration_s: float | None = None,
    tracking_uri: str | None = None,
    log_folder=None,
    stop: threading.Event | None = None,
) -> LiveSummary:
    """Trade the cleared version of `model_uri` at `url` until `duration_s` passes, `stop` is
    set, the stream ends, or Ctrl-C; then stop cleanly and reconcile."""
    cleared = deployable_version(model_uri, tracking_uri=tracking_uri, log_folder=log_folder)
    cls = load_strategy(cleared.strategy)
    params = strategy_params(cls, cleared.params)
    session = ServiceSession(url, api_key)
    try:
        start = _positions(session)
        context = LiveContext(session, build_strategy(cls, params), params)
        session.open_stream()
        summary = LiveSummary(cleared.name, cleared.version, cleared.strategy, context.now,
                              context.now, positions_at_start=start)  # fmt: skip
        try:
            summary.stopped_by = _trade(context, session, summary, duration_s, stop)
        except KeyboardInterrupt:
            summary.stopped_by = "interrupt"
        summary.cancelled_at_end = _cancel_open(context, session)
        context.stop()
        summary.ended_at = context.now
        summary.requests = len(context.requests)
        summary.fills = context.fills
        summary.positions_at_end = _positions(session)
        expected = Counter(start)
        expected.update(context.bought)
        for bond in sorted(set(expected) | set(summary.positions_at_end)):
            held = summary.positions_at_end.get(bond, 0)
            if expected[bond] != held:
                summary.mismatches[bond] = (expected[bond], held)
        return summary
    finally:
        session.close()


def _trade(context, session, summary, duration_s, stop) -> str:
    """Hand the stream's messages to the strategy; why it stopped."""
    deadline = None if duration_s is None else wallclock.monotonic() + duration_s
    context.start()
    for message in session.messages(WAIT_S):
        if message is STREAM_CLOSED:
            return "stream closed"
        if message:
            summary.messages += 1
            context.dispatch(message)
        if stop is not None and stop.is_set():
            return "stopped"
        if deadline is not None and wallclock.monotonic() >= deadline:
            return "duration"
    return "stream closed"


def _cancel_open(context, session) -> int:
    """Cancel every open order of the account; how many were."""
    cancelled = 0
    for venue, order in context.open_orders():
        try:
            session.post(f"/api/orders/{venue}-{order.instrument}-{order.order_id}/cancel")
        except ServiceRefusal:  # filled or cancelled meanwhile
            continue
        cancelled += 1
    return cancelled


def _positions(session) -> dict[str, int]:
    return {p["bond"]: p["units"] for p in session.get("/api/portfolio")["positions"]}
