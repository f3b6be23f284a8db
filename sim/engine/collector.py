"""The garbage collector's policy, in one place.

bondlab makes little cyclic garbage: loading its dependencies (numba, mesa, pandas, polars)
makes about a million objects and no garbage, and a run makes a few thousand cyclic objects a
day at most (most from model training), while its agents, books and accounts live as long as
the run. So the command line keeps the collector off while it loads, and a run freezes its
long-lived objects (the collector's full passes skip them; a tenth of a 10x-agent rmsc04 day
went to rescanning them) and collects once at each close instead of every few hundred
allocations (4% of a 10x-agent day). A host keeps the collector as it had it: one that turned
it off keeps it off, one that froze objects of its own keeps its freeze.
"""

from __future__ import annotations

import gc

_off_for_start_up = False  # off only while bondlab loads: a run turns it back on after


def off_during_start_up() -> None:
    """Turn the collector off while the command line loads its dependencies."""
    global _off_for_start_up
    if gc.isenabled():
        gc.disable()
        _off_for_start_up = True


class RunCollection:
    """The collector around one run: ``with RunCollection() as collection:`` ... and
    `collection.at_close()` at each session's close."""

    def __init__(self) -> None:
        self.collect_at_close = False
        self._freezing = False

    def __enter__(self) -> RunCollection:
        global _off_for_start_up
        self._freezing = gc.get_freeze_count() == 0
        if self._freezing:
            gc.freeze()
        self.collect_at_close = gc.isenabled() or _off_for_start_up
        _off_for_start_up = False
        gc.disable()
        return self

    def __exit__(self, *exc_info) -> None:
        if self.collect_at_close:
            gc.enable()
        if self._freezing:
            gc.unfreeze()  # collectable again once the run is over, as in a notebook's loop
        self.collect_at_close = self._freezing = False

    def at_close(self) -> None:
        if self.collect_at_close:
            gc.collect()
