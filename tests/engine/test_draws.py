"""Buffered scalar draws: the same values as NumPy's own calls, in order, across refills."""

import copy
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from sim.engine.draws import BLOCK, ScalarDraws

N = 3 * BLOCK + 5  # crosses several refills


@pytest.mark.parametrize("method", ["random", "standard_normal", "standard_exponential"])
def test_each_stream_equals_numpys_block_draws(method):
    draws = ScalarDraws(np.random.default_rng(11))
    got = [getattr(draws, method)() for _ in range(N)]
    reference = np.random.default_rng(11)
    expected = np.concatenate([getattr(reference, method)(BLOCK) for _ in range(4)])[:N]
    assert got == expected.tolist()


def test_scaled_draws_equal_numpys_scalar_calls():
    # NumPy's normal and exponential scale the standard draws the same way.
    draws, reference = ScalarDraws(np.random.default_rng(5)), np.random.default_rng(5)
    got = [draws.normal(2.0, 3.0) for _ in range(BLOCK)]
    assert got == pytest.approx([reference.normal(2.0, 3.0) for _ in range(BLOCK)], rel=1e-15)
    draws, reference = ScalarDraws(np.random.default_rng(6)), np.random.default_rng(6)
    got = [draws.exponential(175.0) for _ in range(BLOCK)]
    assert got == pytest.approx([reference.exponential(175.0) for _ in range(BLOCK)], rel=1e-15)


def test_mixed_calls_depend_only_on_seed_and_calls():
    def sequence(seed):
        draws = ScalarDraws(np.random.default_rng(seed))
        return [(draws.random(), draws.integers(3, 9), draws.normal(), draws.exponential())
                for _ in range(2 * BLOCK)]  # fmt: skip

    assert sequence(1) == sequence(1)
    assert sequence(1) != sequence(2)


@given(low=st.integers(-(10**6), 10**6), span=st.integers(1, 10**6), seed=st.integers(0, 2**32))
def test_integers_stay_in_range(low, span, seed):
    draws = ScalarDraws(np.random.default_rng(seed))
    values = [draws.integers(low, low + span) for _ in range(50)]
    assert all(type(v) is int and low <= v < low + span for v in values)


def test_integers_are_uniform():
    draws = ScalarDraws(np.random.default_rng(9))
    values = [draws.integers(20, 51) for _ in range(31_000)]
    counts = np.bincount(np.array(values) - 20, minlength=31)
    assert len(counts) == 31
    assert stats.chisquare(counts).pvalue > 1e-3


def test_integers_single_argument_and_bad_range():
    draws = ScalarDraws(np.random.default_rng(0))
    assert {draws.integers(3) for _ in range(500)} == {0, 1, 2}
    for low, high in ((5, 5), (5, 4), (0, 2**53)):
        with pytest.raises(ValueError, match="need low < high"):
            draws.integers(low, high)


class _TopOfRange:
    """A generator whose uniforms are all the largest double below 1."""

    def random(self, n):
        return np.full(n, np.nextafter(1.0, 0.0))


@pytest.mark.parametrize("span", [1, 2, 3, 2**20, 2**20 + 1, 2**52 - 1, 2**52, 2**52 + 1])
def test_the_largest_uniform_stays_below_high(span):
    assert ScalarDraws(_TopOfRange()).integers(0, span) == span - 1


def test_other_generator_methods_pass_through_unbuffered():
    draws, reference = ScalarDraws(np.random.default_rng(4)), np.random.default_rng(4)
    assert draws.lognormal(0.0, 1.0) == reference.lognormal(0.0, 1.0)
    assert draws.gamma(2.0, size=3).tolist() == reference.gamma(2.0, size=3).tolist()
    with pytest.raises(AttributeError):
        draws.no_such_distribution  # noqa: B018


@pytest.mark.parametrize("clone", [copy.deepcopy, lambda d: pickle.loads(pickle.dumps(d))])
def test_a_copy_continues_the_same_stream(clone):
    draws = ScalarDraws(np.random.default_rng(8))
    draws.random()
    twin = clone(draws)
    assert [twin.random() for _ in range(BLOCK)] == [draws.random() for _ in range(BLOCK)]
