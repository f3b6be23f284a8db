"""The ledger: every account's cash (integer paise) and units per instrument, exactly.

Cash and units only ever move in whole numbers, from one account to another, so trading
conserves total cash (fees included: they go to the venue's fee account) and total units per
instrument. Money that enters or leaves the system (deposits, withdrawals, initial endowments)
is counted separately, and `check()` proves conservation at the end of a run.

Each account has a *locked* part of its cash and units: reservations for open orders, plus
obligations of trades that have not settled yet. Settlement is T+0 by default; with a lag, a
trade's cash and units move at its `settle_at` time, when `settle_due(now)` is called. Until
then the buyer's cash and the seller's units stay locked, and neither side may use what it is
about to receive.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from sim.market import _gateway_kernels as gateway_kernels
from sim.market._kernel_support import grown

# Money and units are int64 in the arrays: deposits and issues stop where their totals, which
# bound every balance, would pass this (a sum of two balances still fits).
MAX_TOTAL = 2**62


class LedgerError(ValueError):
    """A ledger operation that would break an account's invariants."""


class Account:
    """One account's balances: a live, read-only view of the ledger's arrays (balances change
    only through the ledger's and the venues' operations)."""

    __slots__ = ("_ledger", "_row", "account_id")

    def __init__(self, ledger: Ledger, account_id: int, row: int) -> None:
        self._ledger = ledger
        self._row = row
        self.account_id = account_id

    @property
    def cash(self) -> int:
        """Settled cash, paise."""
        return self._ledger.balances.item(self._row, gateway_kernels.B_CASH)

    @property
    def cash_locked(self) -> int:
        """Reserved for open orders or owed to unsettled trades."""
        return self._ledger.balances.item(self._row, gateway_kernels.B_LOCKED)

    @property
    def pending_cash(self) -> int:
        """What unsettled trades will bring (positive) or take (negative)."""
        return self._ledger.balances.item(self._row, gateway_kernels.B_PENDING)

    @property
    def units(self) -> Mapping[str, int]:
        return _Holdings(self._ledger, self._row, gateway_kernels.H_UNITS)

    @property
    def units_locked(self) -> Mapping[str, int]:
        return _Holdings(self._ledger, self._row, gateway_kernels.H_LOCKED)

    @property
    def pending_units(self) -> Mapping[str, int]:
        return _Holdings(self._ledger, self._row, gateway_kernels.H_PENDING)

    @property
    def free_cash(self) -> int:
        balances, row = self._ledger.balances, self._row
        return balances.item(row, gateway_kernels.B_CASH) - balances.item(
            row, gateway_kernels.B_LOCKED
        )

    def free_units(self, instrument: str) -> int:
        return self._ledger.holding(
            self._row, instrument, gateway_kernels.H_UNITS, gateway_kernels.H_LOCKED, -1
        )

    def position(self, instrument: str) -> int:
        """Units owned once every pending trade has settled."""
        return self._ledger.holding(
            self._row, instrument, gateway_kernels.H_UNITS, gateway_kernels.H_PENDING, 1
        )


class _Holdings(Mapping):
    """One kind of an account's holdings (units, locked or pending) by instrument; 0 for an
    instrument it never held."""

    __slots__ = ("_field", "_ledger", "_row")

    def __init__(self, ledger: Ledger, row: int, field: int) -> None:
        self._ledger, self._row, self._field = ledger, row, field

    def __getitem__(self, instrument: str) -> int:
        column = self._ledger.columns.get(instrument)
        if column is None:
            return 0
        return self._ledger.holdings.item(self._row, column, self._field)

    def __iter__(self) -> Iterator[str]:
        return iter(self._ledger.columns)

    def __len__(self) -> int:
        return len(self._ledger.columns)

    def __repr__(self) -> str:
        return repr(dict(self))


class Settlement(NamedTuple):
    """One trade's obligations: the buyer pays, the seller delivers, the venue collects fees."""

    trade_id: int
    settle_at: int  # ns
    instrument: str
    buyer: int
    seller: int
    qty: int
    notional: int  # paise
    buyer_fee: int  # paise, negative for a rebate
    seller_fee: int
    fee_account: int
    accrued: int = 0  # paise of interest the buyer pays the seller on top of the notional

    @property
    def buyer_pays(self) -> int:
        return self.notional + self.accrued + self.buyer_fee

    @property
    def seller_receives(self) -> int:
        return self.notional + self.accrued - self.seller_fee


@dataclass(frozen=True)
class ConservationReport:
    ok: bool
    cash_total: int
    cash_expected: int
    units_total: dict[str, int]
    units_expected: dict[str, int]
    unsettled_trades: int
    problems: tuple[str, ...]

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "cash_total_paise": self.cash_total,
            "cash_expected_paise": self.cash_expected,
            "units_total": dict(self.units_total),
            "units_expected": dict(self.units_expected),
            "unsettled_trades": self.unsettled_trades,
            "problems": list(self.problems),
        }


class Ledger:
    """All accounts of a run. Amounts are ints (paise, units); anything else is refused.

    Balances live in NumPy arrays (`balances`, `holdings`, `settlements`, `meta`; layouts in
    `sim.market._gateway_kernels`) that the venues' compiled gateway updates directly; every account
    has a row and every instrument a column. `Account` objects are live views of them.
    """

    def __init__(self, journal: Callable | None = None) -> None:
        """`journal(kind, source, target, cash, instrument, qty)`, if given, hears of every
        movement that is not a trade: deposits, withdrawals, issues and transfers."""
        self.accounts: dict[int, Account] = {}
        self.journal = journal
        self.rows: dict[int, int] = {}  # account id -> row
        self.columns: dict[str, int] = {}  # instrument -> column
        self.balances = np.zeros((16, 3), np.int64)
        self.holdings = np.zeros((16, 1, 3), np.int64)
        self.settlements = np.zeros((64, gateway_kernels.N_SETTLEMENT_FIELDS), np.int64)
        self.meta = np.zeros(gateway_kernels.N_LEDGER_META, np.int64)
        self.meta[gateway_kernels.LM_NEXT_TRADE_ID] = 1
        self._external_cash = 0
        self._external_units: dict[str, int] = defaultdict(int)

    # --- accounts and money from outside -------------------------------------------------

    def open_account(self, account_id: int, cash: int = 0, units: dict[str, int] | None = None):
        if type(account_id) is not int or not -(2**63) <= account_id < 2**63:
            raise LedgerError(f"an account id must be an int64, got {account_id!r}")
        if account_id in self.accounts:
            raise LedgerError(f"account {account_id} already exists")
        # Validate everything first, so that a refused opening leaves no account behind.
        if cash:
            _check_amount("deposit", cash)
            self._check_total("deposit", self._external_cash, cash)
        for instrument, qty in (units or {}).items():
            _check_amount("unit issue", qty)
            self._check_total("unit issue", self._external_units.get(instrument, 0), qty)
        row = len(self.rows)
        if row == len(self.balances):
            self.balances = grown(self.balances, 2 * row)
            self.holdings = grown(self.holdings, 2 * row)
        self.rows[account_id] = row
        self.accounts[account_id] = Account(self, account_id, row)
        if cash:
            self.deposit(account_id, cash)
        for instrument, qty in (units or {}).items():
            self.issue_units(account_id, instrument, qty)
        return self.accounts[account_id]

    def account(self, account_id: int) -> Account:
        try:
            return self.accounts[account_id]
        except KeyError:
            raise LedgerError(f"no account {account_id}") from None

    def row(self, account_id: int) -> int:
        """The account's row in the arrays."""
        try:
            return self.rows[account_id]
        except KeyError:
            raise LedgerError(f"no account {account_id}") from None

    def column(self, instrument: str) -> int:
        """The instrument's column in `holdings`, added on first use."""
        column = self.columns.get(instrument)
        if column is None:
            column = self.columns[instrument] = len(self.columns)
            if column == self.holdings.shape[1]:
                holdings = np.zeros((len(self.holdings), 2 * column, 3), np.int64)
                holdings[:, :column] = self.holdings
                self.holdings = holdings
        return column

    def holding(self, row: int, instrument: str, field: int, other: int, sign: int) -> int:
        """holdings[row, instrument, field] + sign * holdings[row, instrument, other]."""
        column = self.columns.get(instrument)
        if column is None:
            return 0
        holdings = self.holdings
        return holdings.item(row, column, field) + sign * holdings.item(row, column, other)

    def deposit(self, account_id: int, amount: int) -> None:
        """Cash from outside the system (a SIP contribution, an initial endowment)."""
        _check_amount("deposit", amount)
        row = self.row(account_id)
        self._check_total("deposit", self._external_cash, amount)
        self.balances[row, gateway_kernels.B_CASH] += amount
        self._external_cash += amount
        self._note("deposit", None, account_id, amount, None, 0)

    def withdraw(self, account_id: int, amount: int) -> None:
        _check_amount("withdrawal", amount)
        acct = self.account(account_id)
        if amount > acct.free_cash:
            raise LedgerError(
                f"account {account_id}: withdrawal of {amount} paise exceeds free cash "
                f"{acct.free_cash}"
            )
        self.balances[acct._row, gateway_kernels.B_CASH] -= amount
        self._external_cash -= amount
        self._note("withdrawal", account_id, None, amount, None, 0)

    def issue_units(self, account_id: int, instrument: str, qty: int) -> None:
        """Units from outside the system (an allotment, an initial holding)."""
        _check_amount("unit issue", qty)
        row = self.row(account_id)
        self._check_total("unit issue", self._external_units.get(instrument, 0), qty)
        column = self.column(instrument)  # may grow `holdings`
        self.holdings[row, column, gateway_kernels.H_UNITS] += qty
        self._external_units[instrument] += qty
        self._note("issue", None, account_id, 0, instrument, qty)

    def transfer(
        self,
        source: int,
        target: int,
        cash: int = 0,
        instrument: str = "",
        qty: int = 0,
        kind: str = "transfer",
    ) -> None:
        """An immediate bilateral exchange off the book (e.g. a buffer buying an early exit):
        `source` pays `cash` to `target`, and `target` delivers `qty` of `instrument` to
        `source`. Journaled as `kind`."""
        _check_amount("transfer cash", cash, allow_zero=True)
        _check_amount("transfer units", qty, allow_zero=True)
        payer, payee = self.account(source), self.account(target)
        if cash > payer.free_cash:
            raise LedgerError(f"account {source}: transfer of {cash} exceeds free cash")
        if qty and qty > payee.free_units(instrument):
            raise LedgerError(
                f"account {target}: delivery of {qty} {instrument} exceeds free units"
            )
        self.balances[payer._row, gateway_kernels.B_CASH] -= cash
        self.balances[payee._row, gateway_kernels.B_CASH] += cash
        if qty:
            column = self.columns[instrument]
            self.holdings[payee._row, column, gateway_kernels.H_UNITS] -= qty
            self.holdings[payer._row, column, gateway_kernels.H_UNITS] += qty
        self._note(kind, source, target, cash, instrument or None, qty)

    # --- payments to holders of record ---------------------------------------------------

    def holders(self, instrument: str, exclude: int | None = None) -> list[tuple[int, int]]:
        """(account, settled units) of every account holding `instrument`, in opening order:
        the holders of record (units bought but not settled are not theirs yet; units sold but
        not settled still are)."""
        column = self.columns.get(instrument)
        if column is None:
            return []
        units = self.holdings[: len(self.rows), column, gateway_kernels.H_UNITS]
        ids = list(self.rows)
        return [
            (ids[row], int(units[row]))
            for row in np.flatnonzero(units).tolist()
            if ids[row] != exclude
        ]

    def pay_holders(self, payer: int, instrument: str, per_unit: int, kind: str) -> list:
        """`payer` pays every other holder of record of `instrument` `per_unit` paise per
        settled unit (a coupon): one journal entry of `kind` per holder, naming the instrument
        (no units move). Returns the (account, units, paise) paid. The payer must have the free
        cash for all of it."""
        _check_amount(f"{kind} per unit", per_unit, allow_zero=True)
        paid = [(a, q, q * per_unit) for a, q in self.holders(instrument, exclude=payer)]
        total = sum(cash for _, _, cash in paid)
        source = self.account(payer)
        if total > source.free_cash:
            raise LedgerError(
                f"account {payer}: {kind} of {total} paise on {instrument} exceeds its free cash "
                f"{source.free_cash}"
            )
        balances = self.balances
        for account, _, cash in paid:
            balances[source._row, gateway_kernels.B_CASH] -= cash
            balances[self.rows[account], gateway_kernels.B_CASH] += cash
            self._note(kind, payer, account, cash, instrument, 0)
        return paid

    def redeem(self, payer: int, instrument: str, per_unit: int) -> list:
        """`payer` redeems every other holder's settled units of `instrument` at `per_unit`
        paise each (the principal and the final coupon at maturity): the units go to the payer
        and the cash to the holder, one journal entry of kind "redemption" per holder (the
        target delivers the units, as in a transfer). Returns the (account, units, paise) paid.
        The payer must have the free cash for all of it, and the units must all be free."""
        _check_amount("redemption per unit", per_unit, allow_zero=True)
        paid = [(a, q, q * per_unit) for a, q in self.holders(instrument, exclude=payer)]
        source = self.account(payer)
        total = sum(cash for _, _, cash in paid)
        if total > source.free_cash:
            raise LedgerError(
                f"account {payer}: redemption of {total} paise on {instrument} exceeds its free "
                f"cash {source.free_cash}"
            )
        for account, units, _ in paid:
            if units > self.account(account).free_units(instrument):
                raise LedgerError(
                    f"account {account}: {units} {instrument} to redeem, but some are locked"
                )
        for account, units, cash in paid:
            self.transfer(payer, account, cash, instrument, units, kind="redemption")
        return paid

    def _note(self, kind, source, target, cash, instrument, qty) -> None:
        if self.journal is not None:
            self.journal(kind, source, target, cash, instrument, qty)

    @staticmethod
    def _check_total(what: str, total: int, amount: int) -> None:
        if total + amount > MAX_TOTAL:
            raise LedgerError(
                f"{what} of {amount} would take the ledger's total past {MAX_TOTAL} (2**62)"
            )

    # --- reservations --------------------------------------------------------------------

    def lock_cash(self, account_id: int, amount: int) -> None:
        _check_amount("cash lock", amount, allow_zero=True)
        acct = self.account(account_id)
        if amount > acct.free_cash:
            raise LedgerError(f"account {account_id}: needs {amount} paise, has {acct.free_cash}")
        self.balances[acct._row, gateway_kernels.B_LOCKED] += amount

    def unlock_cash(self, account_id: int, amount: int) -> None:
        _check_amount("cash unlock", amount, allow_zero=True)
        acct = self.account(account_id)
        if amount > acct.cash_locked:
            raise LedgerError(f"account {account_id}: unlocks {amount}, only {acct.cash_locked}")
        self.balances[acct._row, gateway_kernels.B_LOCKED] -= amount

    def lock_units(self, account_id: int, instrument: str, qty: int) -> None:
        _check_amount("unit lock", qty, allow_zero=True)
        acct = self.account(account_id)
        if qty > acct.free_units(instrument):
            raise LedgerError(
                f"account {account_id}: needs {qty} {instrument}, has {acct.free_units(instrument)}"
            )
        if qty:
            self.holdings[acct._row, self.columns[instrument], gateway_kernels.H_LOCKED] += qty

    def unlock_units(self, account_id: int, instrument: str, qty: int) -> None:
        _check_amount("unit unlock", qty, allow_zero=True)
        acct = self.account(account_id)
        if qty > acct.units_locked[instrument]:
            raise LedgerError(f"account {account_id}: unlocks {qty} {instrument}, too many")
        if qty:
            self.holdings[acct._row, self.columns[instrument], gateway_kernels.H_LOCKED] -= qty

    # --- trades and settlement -----------------------------------------------------------

    def book_trade(
        self,
        *,
        instrument: str,
        buyer: int,
        seller: int,
        qty: int,
        notional: int,
        buyer_fee: int,
        seller_fee: int,
        fee_account: int,
        settle_at: int,
        now: int,
        accrued: int = 0,
    ) -> Settlement:
        """Record a trade whose cash (buyer) and units (seller) are already locked: `notional`
        at the clean price plus `accrued` interest (paise), which the buyer pays the seller.

        The locks stay until settlement; with `settle_at <= now` it settles at once. (The
        venues book their trades in their compiled gateway, the same way.)
        """
        _check_amount("quantity", qty)
        _check_amount("notional", notional)
        _check_amount("accrued interest", accrued, allow_zero=True)
        for what, amount in (("quantity", qty), ("notional", notional + accrued)):
            self._check_total(f"a trade's {what}", 0, amount)
        if notional < seller_fee:
            raise LedgerError(f"seller fee {seller_fee} exceeds the notional {notional}")
        rows = self.row(buyer), self.row(seller), self.row(fee_account)
        self.reserve_settlements(1)
        trade_id = gateway_kernels.book_trade(
            self.balances, self.holdings, self.settlements, self.meta, self.column(instrument),
            rows[0], rows[1], qty, notional, accrued, buyer_fee, seller_fee, rows[2], settle_at,
            now,
        )  # fmt: skip
        return Settlement(trade_id, settle_at, instrument, buyer, seller, qty, notional,
                          buyer_fee, seller_fee, fee_account, accrued)  # fmt: skip

    def reserve_settlements(self, n: int) -> None:
        """Make room for `n` more unsettled trades (the gateway books trades into the array)."""
        need = self.meta.item(gateway_kernels.LM_PENDING) + n
        if need > len(self.settlements):
            self.settlements = grown(self.settlements, max(need, 2 * len(self.settlements)))

    def settle_due(self, now: int) -> int:
        """Settle, in booking order, every trade due by `now`. Returns how many settled."""
        if not self.meta[gateway_kernels.LM_PENDING]:
            return 0
        return gateway_kernels.settle_due(
            self.balances, self.holdings, self.settlements, self.meta, now
        )

    @property
    def unsettled(self) -> tuple[Settlement, ...]:
        """The trades booked but not settled yet, in booking order."""
        ids, symbols = list(self.rows), list(self.columns)
        rows = self.settlements[: self.meta[gateway_kernels.LM_PENDING]].tolist()
        return tuple(
            Settlement(
                *row[:2], symbols[row[2]], ids[row[3]], ids[row[4]], *row[5:9], ids[row[9]], row[10]
            )
            for row in rows
        )

    # --- the end-of-run proof ------------------------------------------------------------

    def check(self) -> ConservationReport:
        """Conservation of cash and units, and every account's invariants."""
        problems = []
        n = len(self.rows)
        balances, holdings = self.balances[:n], self.holdings[:n, : len(self.columns)]
        cash_total = int(balances[:, gateway_kernels.B_CASH].sum())
        if cash_total != self._external_cash:
            problems.append(f"cash total {cash_total} != deposits net {self._external_cash}")
        held = holdings[:, :, gateway_kernels.H_UNITS].sum(axis=0).tolist()
        column_totals = dict(zip(self.columns, held, strict=True))
        # Both totals over the same instruments: every one listed, issued or held.
        instruments = dict.fromkeys([*self.columns, *self._external_units])
        units_total = {i: column_totals.get(i, 0) for i in instruments}
        units_expected = {i: self._external_units.get(i, 0) for i in instruments}
        for instrument in instruments:
            held, issued = units_total[instrument], units_expected[instrument]
            if held != issued:
                problems.append(f"{instrument}: {held} units held, {issued} issued")
        unsettled = self.unsettled
        owed_cash: dict[int, int] = defaultdict(int)
        owed_units: dict[tuple[int, str], int] = defaultdict(int)
        for s in unsettled:
            owed_cash[s.buyer] += s.buyer_pays
            owed_units[s.seller, s.instrument] += s.qty
        for acct in self.accounts.values():
            who = f"account {acct.account_id}"
            cash, locked = acct.cash, acct.cash_locked
            if cash < 0:
                problems.append(f"{who}: negative cash {cash}")
            if not 0 <= locked <= max(cash, 0):
                problems.append(f"{who}: locked cash {locked} outside [0, {cash}]")
            if locked < owed_cash[acct.account_id]:
                problems.append(f"{who}: locked cash below what unsettled trades owe")
            for instrument, column in self.columns.items():
                qty, locked = holdings[acct._row, column, : gateway_kernels.H_LOCKED + 1].tolist()
                if qty < 0 or not 0 <= locked <= qty:
                    problems.append(f"{who}: {instrument} units {qty}, locked {locked}")
                if locked < owed_units[acct.account_id, instrument]:
                    problems.append(f"{who}: locked {instrument} below what trades owe")
        return ConservationReport(
            ok=not problems,
            cash_total=cash_total,
            cash_expected=self._external_cash,
            units_total=units_total,
            units_expected=units_expected,
            unsettled_trades=len(unsettled),
            problems=tuple(problems),
        )


def _check_amount(what: str, amount: object, allow_zero: bool = False) -> None:
    if type(amount) is not int or amount < 0 or (amount == 0 and not allow_zero):
        raise LedgerError(
            f"{what} must be a {'non-negative' if allow_zero else 'positive'} "
            f"whole number of paise/units, got {amount!r}"
        )
