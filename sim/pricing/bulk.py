"""Many bonds at once: clean prices from yields and yields from clean prices (numba kernels).

All bonds share one settlement date per call. The per-bond work that depends only on the bond and
the settlement date (cash-flow times and amounts, accrued interest) is done once and kept:

- a `BondPortfolio` keeps the flat arrays of its last few settlement dates;
- `price_many` and `yield_many` also accept a plain sequence of bonds; they keep a portfolio for
  each of the last few sequences they saw, recognised by identity and checked element by element
  (a cheap pointer comparison), so passing the same list again reuses the preparation, and a
  list changed in place is prepared afresh.

Results equal the scalar `Bond.clean_price` and `Bond.yield_from_price`: both run the same
kernels on the same cash flows.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from datetime import date
from typing import NamedTuple

import numpy as np

from sim.pricing import _kernels
from sim.pricing.bond import Bond, PricingError

_SETTLE_DATES_KEPT = 8
_SEQUENCES_KEPT = 8


class Prepared(NamedTuple):
    """Cash flows of every bond of a portfolio at one settlement date, CSR-style."""

    offsets: np.ndarray  # bond i owns times/amounts[offsets[i]:offsets[i + 1]]
    times: np.ndarray
    amounts: np.ndarray
    accrued: np.ndarray


class BondPortfolio:
    """A fixed tuple of bonds, with their prepared cash flows cached per settlement date."""

    def __init__(self, bonds: Sequence[Bond]) -> None:
        self.bonds = tuple(bonds)
        for i, bond in enumerate(self.bonds):
            if not isinstance(bond, Bond):
                raise ValueError(f"bonds[{i}] is not a Bond: {bond!r}")
        self.frequencies = np.array([b.frequency for b in self.bonds], dtype=np.float64)
        self._prepared: OrderedDict[date, Prepared] = OrderedDict()

    def __len__(self) -> int:
        return len(self.bonds)

    def prepare(self, settle: date) -> Prepared:
        """The flat cash-flow arrays at ``settle`` (cached for the last few dates)."""
        if settle in self._prepared:
            self._prepared.move_to_end(settle)
            return self._prepared[settle]
        flows = [bond.flows(settle) for bond in self.bonds]
        offsets = np.zeros(len(flows) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([f.times.size for f in flows])
        empty = np.empty(0)
        prepared = Prepared(
            offsets,
            np.concatenate([f.times for f in flows]) if flows else empty,
            np.concatenate([f.amounts for f in flows]) if flows else empty,
            np.array([f.accrued for f in flows], dtype=np.float64),
        )
        self._prepared[settle] = prepared
        if len(self._prepared) > _SETTLE_DATES_KEPT:
            self._prepared.popitem(last=False)
        return prepared

    def clean_prices(self, ytms: np.ndarray, settle: date) -> np.ndarray:
        """Clean price (per 100 face) of each bond at its yield."""
        ytms = self._per_bond(ytms, "ytms")
        bad = np.flatnonzero(~(ytms > -self.frequencies))
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"ytms must be above -frequency: ytms[{i}] = {float(ytms[i])!r} "
                f"({bad.size} bad value(s))"
            )
        p = self.prepare(settle)
        out = np.empty(len(self.bonds))
        _kernels.clean_prices(p.offsets, p.times, p.amounts, self.frequencies, p.accrued, ytms, out)
        return out

    def yields(self, clean_prices: np.ndarray, settle: date) -> np.ndarray:
        """Yield of each bond at its clean price; raises `PricingError` naming failed bonds."""
        clean_prices = self._per_bond(clean_prices, "clean_prices")
        p = self.prepare(settle)
        out = np.empty(len(self.bonds))
        status = np.zeros(len(self.bonds), dtype=np.int64)
        _kernels.yields(
            p.offsets, p.times, p.amounts, self.frequencies, p.accrued, clean_prices, out, status
        )
        failed = np.flatnonzero(status < 0)
        if failed.size:
            i = int(failed[0])
            reason = {
                _kernels.BAD_PRICE: "dirty price not positive",
                _kernels.NO_TIME: "all remaining cash flows at t = 0",
            }.get(int(status[i]), "solver did not converge")
            raise PricingError(
                f"no yield for {failed.size} bond(s); first: bonds[{i}] at clean price "
                f"{float(clean_prices[i])!r} ({reason})"
            )
        return out

    def _per_bond(self, values: np.ndarray, name: str) -> np.ndarray:
        values = np.ascontiguousarray(values, dtype=np.float64)
        if values.shape != (len(self.bonds),):
            raise ValueError(
                f"{name} must have one value per bond, shape ({len(self.bonds)},), "
                f"got {values.shape}"
            )
        return values


_portfolios: OrderedDict[int, tuple[tuple[Bond, ...], BondPortfolio]] = OrderedDict()


def _portfolio(bonds: Sequence[Bond] | BondPortfolio) -> BondPortfolio:
    if isinstance(bonds, BondPortfolio):
        return bonds
    snapshot = tuple(bonds)
    key = id(bonds)
    cached = _portfolios.get(key)
    # Tuple equality compares identical elements by pointer first, so this check is cheap; and
    # equal contents make the cached portfolio right even if `id` was reused by another object.
    if cached is not None and cached[0] == snapshot:
        _portfolios.move_to_end(key)
        return cached[1]
    portfolio = BondPortfolio(snapshot)
    _portfolios[key] = (snapshot, portfolio)
    if len(_portfolios) > _SEQUENCES_KEPT:
        _portfolios.popitem(last=False)
    return portfolio


def price_many(bonds: Sequence[Bond] | BondPortfolio, ytms: np.ndarray, settle: date) -> np.ndarray:
    """Clean prices (per 100 face) of ``bonds`` at ``ytms``, all settling on ``settle``."""
    return _portfolio(bonds).clean_prices(ytms, settle)


def yield_many(
    bonds: Sequence[Bond] | BondPortfolio, clean_prices: np.ndarray, settle: date
) -> np.ndarray:
    """Yields of ``bonds`` at ``clean_prices``, all settling on ``settle``."""
    return _portfolio(bonds).yields(clean_prices, settle)
