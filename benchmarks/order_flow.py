"""Synthetic order flow for the book benchmarks: random requests around a fixed mid price."""

from __future__ import annotations

import numpy as np

from sim.market.book import BATCH_DTYPE


def random_flow(
    n: int,
    seed: int = 0,
    mid: int = 10_000,
    cancel_share: float = 0.30,
    marketable_share: float = 0.10,
    half_width: int = 50,
) -> np.ndarray:
    """n requests: `cancel_share` cancels of recent orders, `marketable_share` marketable
    limit orders, and passive limit orders within `half_width` ticks of the mid."""
    rng = np.random.default_rng(seed)
    msgs = np.zeros(n, BATCH_DTYPE)
    kind = rng.random(n)
    is_cancel = kind < cancel_share
    is_marketable = (kind >= cancel_share) & (kind < cancel_share + marketable_share)
    side = np.where(rng.random(n) < 0.5, 1, -1).astype(np.int8)
    passive_offset = rng.integers(1, half_width + 1, n)
    aggressive_offset = rng.integers(0, 10, n)
    price = np.where(is_marketable, mid + side * aggressive_offset, mid - side * passive_offset)
    msgs["action"] = is_cancel.astype(np.int8)
    msgs["side"] = side
    msgs["type"] = 0
    msgs["price"] = price
    msgs["qty"] = rng.integers(1, 101, n)
    msgs["owner"] = rng.integers(1, 1_001, n)
    # A cancel names one of the ~2,000 most recent new orders (ids count new orders only).
    new_ids = np.cumsum(~is_cancel)
    back = rng.integers(0, 2_000, n)
    msgs["ref"] = np.maximum(new_ids - back, 1)
    return msgs
