"""Latency models: exact fixed delays, reproducible and correctly distributed jitter."""

import numpy as np
import pytest

from sim.engine.latency import FixedLatency, JitteredLatency, Latency, latency_from


def test_fixed_latency_is_exact_and_draws_nothing():
    rng = np.random.default_rng(1)
    state = rng.bit_generator.state
    model = FixedLatency(2_500)
    assert [model.sample(rng) for _ in range(3)] == [2_500] * 3
    assert rng.bit_generator.state == state
    assert isinstance(model, Latency)


def test_jitter_is_reproducible_with_the_same_seed():
    model = JitteredLatency(1_000, 500)
    rng1, rng2 = np.random.default_rng(7), np.random.default_rng(7)
    first = [model.sample(rng1) for _ in range(100)]
    second = [model.sample(rng2) for _ in range(100)]
    assert first == second
    assert all(type(x) is int and x >= 1_000 for x in first)
    other = [model.sample(np.random.default_rng(8)) for _ in range(100)]
    assert other != first


def test_jitter_mean_and_spread_match_the_exponential():
    model = JitteredLatency(10_000, 2_000)
    rng = np.random.default_rng(3)
    draws = np.array([model.sample(rng) for _ in range(40_000)])
    # Exponential jitter: mean base + jitter, standard deviation jitter.
    standard_error = 2_000 / np.sqrt(draws.size)
    assert abs(draws.mean() - 12_000) < 4 * standard_error
    assert abs(draws.std() - 2_000) < 0.03 * 2_000
    assert draws.min() >= 10_000


def test_latency_from_microseconds():
    assert latency_from(5.0, 0.0) == FixedLatency(5_000)
    assert latency_from(0.25, 1.5) == JitteredLatency(250, 1_500)
    assert type(latency_from(1, 0).sample(np.random.default_rng(0))) is int


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: FixedLatency(-1), "ns must be >= 0, got -1"),
        (lambda: FixedLatency(1.5), "ns must be an integer number of ns"),
        (lambda: JitteredLatency(-5, 1), "base_ns must be >= 0"),
        (lambda: JitteredLatency(5, -1), "jitter_ns must be >= 0"),
        (lambda: latency_from(-1.0, 0.0), "base_us must be finite and >= 0"),
        (lambda: latency_from(1.0, float("nan")), "jitter_us must be finite and >= 0"),
        (lambda: latency_from("1", 0.0), "base_us must be a number of microseconds"),
    ],
)
def test_negative_or_malformed_latencies_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()
