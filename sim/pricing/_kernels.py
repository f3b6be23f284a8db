"""Numba kernels for bond prices and yields over flat cash-flow arrays.

Cash flows of many bonds are laid out CSR-style: row r owns entries ``offsets[r]:offsets[r+1]``
of ``times`` (year fractions from settlement) and ``amounts`` (per 100 face). A batch of n prices
or yields names the row of each of its items in ``rows``, so a bond that appears many times is
laid out once. Yields are handled as the log growth ``x = log(1 + y/f)``, so a discount factor is
``exp(-f t x)``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

MAX_ITERATIONS = 100
# Status codes of `solve_log_growth` (a non-negative status is the iteration count).
NOT_CONVERGED = -1
BAD_PRICE = -2
NO_TIME = -3  # every remaining flow is at t = 0 (possible under 30/360): no yield sensitivity


@njit(cache=True)
def dirty_price(times, amounts, lo, hi, frequency, log_growth):
    """Present value of entries ``lo:hi`` at log growth ``log_growth`` (per 100 face)."""
    total = 0.0
    for k in range(lo, hi):
        total += amounts[k] * math.exp(-frequency * times[k] * log_growth)
    return total


@njit(cache=True)
def solve_log_growth(times, amounts, lo, hi, frequency, target):
    """Log growth at which entries ``lo:hi`` are worth ``target``; returns ``(x, status)``.

    Newton's method on ``g(x) = log P(x) - log target``. ``log P`` is a convex, decreasing
    log-sum-exp of lines in x whose slope lies between ``-f t_max`` and ``-f t_min``, so Newton
    converges from any start (after at most one overshoot it approaches the root monotonically).
    Once a step is below 1e-9 one more step reaches machine precision.
    """
    if not (target > 0.0 and math.isfinite(target)):
        return math.nan, BAD_PRICE
    # Start as if all the cash were paid at its cash-weighted mean time.
    cash = 0.0
    cash_time = 0.0
    for k in range(lo, hi):
        cash += amounts[k]
        cash_time += amounts[k] * times[k]
    if not cash_time > 0.0:
        return math.nan, NO_TIME
    x = math.log(cash / target) / (frequency * cash_time / cash)
    log_target = math.log(target)
    small_step = False
    for iteration in range(1, MAX_ITERATIONS + 1):
        value = 0.0
        slope = 0.0
        for k in range(lo, hi):
            pv = amounts[k] * math.exp(-frequency * times[k] * x)
            value += pv
            slope += pv * times[k]
        if not (value > 0.0 and slope > 0.0 and math.isfinite(value)):
            return math.nan, NOT_CONVERGED
        step = (math.log(value) - log_target) * value / (frequency * slope)
        x += step
        if small_step:
            return x, iteration
        small_step = abs(step) < 1e-9
    return x, NOT_CONVERGED


@njit(cache=True)
def clean_prices(offsets, times, amounts, accrued, rows, frequencies, ytms, out):
    """Clean price of item i (the bond of row ``rows[i]`` at ``ytms[i]``), written to ``out``."""
    for i in range(rows.size):
        r = rows[i]
        f = frequencies[i]
        out[i] = (
            dirty_price(times, amounts, offsets[r], offsets[r + 1], f, math.log1p(ytms[i] / f))
            - accrued[r]
        )


@njit(cache=True)
def yields(offsets, times, amounts, accrued, rows, frequencies, clean, out, status):
    """Yield of item i (the bond of row ``rows[i]`` at ``clean[i]``) to ``out``; status likewise."""
    for i in range(rows.size):
        r = rows[i]
        f = frequencies[i]
        x, status[i] = solve_log_growth(
            times, amounts, offsets[r], offsets[r + 1], f, clean[i] + accrued[r]
        )
        out[i] = f * math.expm1(x)


_FIBONACCI = np.uint64(0x9E3779B97F4A7C15)  # 2**64 / golden ratio: spreads aligned addresses


@njit(cache=True)
def first_occurrences(keys, codes):
    """Number the distinct ``keys`` (uint64) 0, 1, 2, ... in order of first appearance.

    Writes each key's number to ``codes`` and returns the position of each number's first
    appearance. A hash table at most half full, linear probing: one pass, O(n).
    """
    bits = 1
    while (1 << bits) < 2 * keys.size:
        bits += 1
    mask = (1 << bits) - 1
    shift = np.uint64(64 - bits)
    table = np.full(1 << bits, -1, dtype=np.int64)  # slot -> number of the key there
    first = np.empty(keys.size, dtype=np.int64)
    count = 0
    for i in range(keys.size):
        key = keys[i]
        slot = np.int64((key * _FIBONACCI) >> shift)
        while True:
            number = table[slot]
            if number < 0:
                table[slot] = count
                first[count] = i
                codes[i] = count
                count += 1
                break
            if keys[first[number]] == key:
                codes[i] = number
                break
            slot = (slot + 1) & mask
    return first[:count]
