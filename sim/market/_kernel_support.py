"""What the numba kernels' Python faces (book, venue, ledger) share: growing their state
arrays, and finding a kernel's compiled entry point."""

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np


def grown(array: np.ndarray, rows: int, most: int | None = None) -> np.ndarray:
    """`array` with at least `rows` rows: doubled (or more; but no more than `most` unless
    `rows` needs it), zero-filled, contents kept; the array itself when it has room."""
    if rows <= len(array):
        return array
    doubled = 2 * len(array) if most is None else min(2 * len(array), most)
    bigger = np.zeros((max(rows, doubled), *array.shape[1:]), array.dtype)
    bigger[: len(array)] = array
    return bigger


def entry_point(kernel, args: tuple) -> Callable:
    """The compiled entry point of `kernel` for the types of `args`, which skips numba's
    per-call type dispatch (dispatch costs more than matching one order; the faces always
    pass the same types). Calls `kernel(*args)` once to compile or load it.

    This reads numba's `Dispatcher.overloads[signature].entry_point`, which numba does not
    document; numba is not bounded above, so a release that moves it fails here, loudly."""
    kernel(*args)
    signature = tuple(numba.typeof(arg) for arg in args)
    try:
        return kernel.overloads[signature].entry_point
    except (KeyError, AttributeError) as error:
        raise RuntimeError(
            f"numba {numba.__version__}: no compiled entry point for {kernel.__name__} with "
            f"{signature}; bondlab reads Dispatcher.overloads[signature].entry_point"
        ) from error
