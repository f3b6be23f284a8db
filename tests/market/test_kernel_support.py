"""The market faces' shared helpers: growing state arrays, and numba's compiled entry points
(read through an undocumented attribute of a dependency that is not bounded above)."""

from typing import ClassVar

import numba
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.market._kernel_support import entry_point, grown


@numba.njit
def _add(a, b):
    return a + b


def test_the_entry_point_computes_what_the_kernel_does_without_dispatch():
    call = entry_point(_add, (2, 3))
    assert call is not _add and call(40, 2) == 42


def test_a_numba_without_the_entry_point_fails_loudly():
    class Moved:
        __name__ = "kernel"
        overloads: ClassVar[dict] = {}

        def __call__(self, *args):
            return 0

    with pytest.raises(RuntimeError, match=r"numba .*: no compiled entry point for kernel"):
        entry_point(Moved(), (1,))


@given(st.integers(1, 50), st.integers(0, 200))
def test_grown_keeps_contents_and_has_room(length, rows):
    array = np.arange(length * 2, dtype=np.int64).reshape(length, 2)
    bigger = grown(array, rows)
    assert len(bigger) >= rows and (bigger[:length] == array).all()
    if rows <= length:
        assert bigger is array
    else:
        assert len(bigger) == max(rows, 2 * length) and not bigger[length:].any()


@given(st.integers(1, 50), st.integers(0, 200), st.integers(1, 150))
def test_grown_doubles_no_further_than_most_unless_rows_need_it(length, rows, most):
    array = np.arange(length, dtype=np.int64)
    bigger = grown(array, rows, most=most)
    if rows <= length:
        assert bigger is array
    else:
        assert len(bigger) == max(rows, min(2 * length, most))
        assert (bigger[:length] == array).all() and not bigger[length:].any()
