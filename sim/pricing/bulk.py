"""Many bonds at once: clean prices from yields and yields from clean prices (numba kernels).

All bonds share one settlement date per call. A sequence of bonds may name the same bond many
times (400,000 pairs drawn from 2,000 bonds, say); the work that depends only on the bond and the
settlement date (cash-flow times and amounts, accrued interest) is done once per distinct bond:

- a `BondPortfolio` numbers its distinct bonds once, when it is made: repeated objects are found
  by identity in one compiled pass over their addresses, then distinct objects that are equal
  `Bond` values share a row. It keeps the flat arrays of those rows for its last few settlement
  dates, and the kernels reach each item's row by index. A row comes from `Bond.flows`, itself
  cached per bond and settlement date, so a new portfolio of known bonds prepares quickly.
- `price_many` and `yield_many` also accept a plain sequence of bonds; they keep a portfolio for
  each of the last few sequences they saw, recognised by identity and checked element by element
  (a cheap pointer comparison), so passing the same list again reuses the preparation, and a
  list changed in place is prepared afresh.

Python code runs once per distinct bond; per item only C loops run (`id`, numpy, the kernels).
Results equal the scalar `Bond.clean_price` and `Bond.yield_from_price` bit for bit: both run the
same kernels on the same cash flows.
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
    """Cash flows of a portfolio's distinct bonds at one settlement date, CSR-style."""

    offsets: np.ndarray  # distinct bond r owns times/amounts[offsets[r]:offsets[r + 1]]
    times: np.ndarray
    amounts: np.ndarray
    accrued: np.ndarray  # per distinct bond


class BondPortfolio:
    """A fixed tuple of bonds, with their prepared cash flows cached per settlement date.

    ``distinct_bonds`` are the different bonds in order of first appearance, and ``rows[i]`` is
    the index in it of ``bonds[i]``.
    """

    def __init__(self, bonds: Sequence[Bond]) -> None:
        self.bonds = tuple(bonds)
        addresses = np.fromiter(map(id, self.bonds), dtype=np.uint64, count=len(self.bonds))
        object_codes = np.empty(len(self.bonds), dtype=np.int64)
        first_positions = _kernels.first_occurrences(addresses, object_codes)
        row_of_bond: dict[Bond, int] = {}
        object_rows = np.empty(first_positions.size, dtype=np.int64)
        for k, position in enumerate(first_positions.tolist()):
            bond = self.bonds[position]
            if not isinstance(bond, Bond):
                raise ValueError(f"bonds[{position}] is not a Bond: {bond!r}")
            object_rows[k] = row_of_bond.setdefault(bond, len(row_of_bond))
        self.distinct_bonds = tuple(row_of_bond)
        self.rows = object_rows[object_codes]
        row_frequencies = np.array([b.frequency for b in self.distinct_bonds], dtype=np.float64)
        self.frequencies = row_frequencies[self.rows]
        self._prepared: OrderedDict[date, Prepared] = OrderedDict()

    def __len__(self) -> int:
        return len(self.bonds)

    def prepare(self, settle: date) -> Prepared:
        """The flat cash-flow arrays at ``settle`` (cached for the last few dates)."""
        if settle in self._prepared:
            self._prepared.move_to_end(settle)
            return self._prepared[settle]
        flows = [bond.flows(settle) for bond in self.distinct_bonds]
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
        _kernels.clean_prices(
            p.offsets, p.times, p.amounts, p.accrued, self.rows, self.frequencies, ytms, out
        )
        return out

    def yields(self, clean_prices: np.ndarray, settle: date) -> np.ndarray:
        """Yield of each bond at its clean price; raises `PricingError` naming failed bonds."""
        clean_prices = self._per_bond(clean_prices, "clean_prices")
        p = self.prepare(settle)
        out = np.empty(len(self.bonds))
        status = np.zeros(len(self.bonds), dtype=np.int64)
        _kernels.yields(
            p.offsets,
            p.times,
            p.amounts,
            p.accrued,
            self.rows,
            self.frequencies,
            clean_prices,
            out,
            status,
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
