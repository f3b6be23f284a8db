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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

# NamedTuple's generated __new__ is slow for the hot path; this builds the same tuple.
_new_settlement = tuple.__new__


class LedgerError(ValueError):
    """A ledger operation that would break an account's invariants."""


@dataclass
class Account:
    account_id: int
    cash: int = 0  # settled cash, paise
    cash_locked: int = 0  # reserved for open orders or owed to unsettled trades
    units: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    units_locked: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # What unsettled trades will bring (positive) or take (negative).
    pending_cash: int = 0
    pending_units: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def free_cash(self) -> int:
        return self.cash - self.cash_locked

    def free_units(self, instrument: str) -> int:
        return self.units[instrument] - self.units_locked[instrument]

    def position(self, instrument: str) -> int:
        """Units owned once every pending trade has settled."""
        return self.units[instrument] + self.pending_units[instrument]


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

    @property
    def buyer_pays(self) -> int:
        return self.notional + self.buyer_fee

    @property
    def seller_receives(self) -> int:
        return self.notional - self.seller_fee


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
    """All accounts of a run. Amounts are ints (paise, units); anything else is refused."""

    def __init__(self, journal: Callable | None = None) -> None:
        """`journal(kind, source, target, cash, instrument, qty)`, if given, hears of every
        movement that is not a trade: deposits, withdrawals, issues and transfers."""
        self.accounts: dict[int, Account] = {}
        self.journal = journal
        self._pending: list[Settlement] = []
        self._next_trade_id = 1
        self._external_cash = 0
        self._external_units: dict[str, int] = defaultdict(int)

    # --- accounts and money from outside -------------------------------------------------

    def open_account(self, account_id: int, cash: int = 0, units: dict[str, int] | None = None):
        if account_id in self.accounts:
            raise LedgerError(f"account {account_id} already exists")
        # Validate everything first, so that a refused opening leaves no account behind.
        if cash:
            _check_amount("deposit", cash)
        for qty in (units or {}).values():
            _check_amount("unit issue", qty)
        self.accounts[account_id] = Account(account_id)
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

    def deposit(self, account_id: int, amount: int) -> None:
        """Cash from outside the system (a SIP contribution, an initial endowment)."""
        _check_amount("deposit", amount)
        self.account(account_id).cash += amount
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
        acct.cash -= amount
        self._external_cash -= amount
        self._note("withdrawal", account_id, None, amount, None, 0)

    def issue_units(self, account_id: int, instrument: str, qty: int) -> None:
        """Units from outside the system (an allotment, an initial holding)."""
        _check_amount("unit issue", qty)
        self.account(account_id).units[instrument] += qty
        self._external_units[instrument] += qty
        self._note("issue", None, account_id, 0, instrument, qty)

    def transfer(
        self, source: int, target: int, cash: int = 0, instrument: str = "", qty: int = 0
    ) -> None:
        """An immediate bilateral exchange off the book (e.g. a buffer buying an early exit):
        `source` pays `cash` to `target`, and `target` delivers `qty` of `instrument` to
        `source`."""
        _check_amount("transfer cash", cash, allow_zero=True)
        _check_amount("transfer units", qty, allow_zero=True)
        payer, payee = self.account(source), self.account(target)
        if cash > payer.free_cash:
            raise LedgerError(f"account {source}: transfer of {cash} exceeds free cash")
        if qty and qty > payee.free_units(instrument):
            raise LedgerError(
                f"account {target}: delivery of {qty} {instrument} exceeds free units"
            )
        payer.cash -= cash
        payee.cash += cash
        if qty:
            payee.units[instrument] -= qty
            payer.units[instrument] += qty
        self._note("transfer", source, target, cash, instrument or None, qty)

    def _note(self, kind, source, target, cash, instrument, qty) -> None:
        if self.journal is not None:
            self.journal(kind, source, target, cash, instrument, qty)

    # --- reservations --------------------------------------------------------------------

    def lock_cash(self, account_id: int, amount: int) -> None:
        _check_amount("cash lock", amount, allow_zero=True)
        acct = self.account(account_id)
        if amount > acct.free_cash:
            raise LedgerError(f"account {account_id}: needs {amount} paise, has {acct.free_cash}")
        acct.cash_locked += amount

    def unlock_cash(self, account_id: int, amount: int) -> None:
        _check_amount("cash unlock", amount, allow_zero=True)
        acct = self.account(account_id)
        if amount > acct.cash_locked:
            raise LedgerError(f"account {account_id}: unlocks {amount}, only {acct.cash_locked}")
        acct.cash_locked -= amount

    def lock_units(self, account_id: int, instrument: str, qty: int) -> None:
        _check_amount("unit lock", qty, allow_zero=True)
        acct = self.account(account_id)
        if qty > acct.free_units(instrument):
            raise LedgerError(
                f"account {account_id}: needs {qty} {instrument}, has {acct.free_units(instrument)}"
            )
        acct.units_locked[instrument] += qty

    def unlock_units(self, account_id: int, instrument: str, qty: int) -> None:
        _check_amount("unit unlock", qty, allow_zero=True)
        acct = self.account(account_id)
        if qty > acct.units_locked[instrument]:
            raise LedgerError(f"account {account_id}: unlocks {qty} {instrument}, too many")
        acct.units_locked[instrument] -= qty

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
    ) -> Settlement:
        """Record a trade whose cash (buyer) and units (seller) are already locked.

        The locks stay until settlement; with `settle_at <= now` it settles at once.
        """
        _check_amount("quantity", qty)
        _check_amount("notional", notional)
        if notional < seller_fee:
            raise LedgerError(f"seller fee {seller_fee} exceeds the notional {notional}")
        record = _new_settlement(
            Settlement,
            (self._next_trade_id, settle_at, instrument, buyer, seller, qty, notional,
             buyer_fee, seller_fee, fee_account),
        )  # fmt: skip
        self._next_trade_id += 1
        buy, sell = self.account(buyer), self.account(seller)
        self.account(fee_account)
        pays, receives = notional + buyer_fee, notional - seller_fee
        buy.pending_cash -= pays
        buy.pending_units[instrument] += qty
        sell.pending_cash += receives
        sell.pending_units[instrument] -= qty
        if settle_at <= now:
            self._settle(record)  # T+0: no need to queue it
        else:
            self._pending.append(record)
        return record

    def settle_due(self, now: int) -> int:
        """Settle, in booking order, every trade due by `now`. Returns how many settled."""
        due = [s for s in self._pending if s.settle_at <= now]
        if not due:
            return 0
        self._pending = [s for s in self._pending if s.settle_at > now]
        for s in due:
            self._settle(s)
        return len(due)

    def _settle(self, s: Settlement) -> None:
        """Cash to the seller, units to the buyer and fees to the venue: the pending amounts
        and the locks they stood in for are released."""
        _, _, instrument, buyer, seller, qty, notional, buyer_fee, seller_fee, fee_account = s
        pays, receives = notional + buyer_fee, notional - seller_fee
        buy, sell = self.accounts[buyer], self.accounts[seller]
        buy.cash -= pays
        buy.cash_locked -= pays
        buy.pending_cash += pays
        buy.units[instrument] += qty
        buy.pending_units[instrument] -= qty
        sell.units[instrument] -= qty
        sell.units_locked[instrument] -= qty
        sell.pending_units[instrument] += qty
        sell.cash += receives
        sell.pending_cash -= receives
        self.accounts[fee_account].cash += buyer_fee + seller_fee

    @property
    def unsettled(self) -> tuple[Settlement, ...]:
        return tuple(self._pending)

    # --- the end-of-run proof ------------------------------------------------------------

    def check(self) -> ConservationReport:
        """Conservation of cash and units, and every account's invariants."""
        problems = []
        cash_total = sum(a.cash for a in self.accounts.values())
        if cash_total != self._external_cash:
            problems.append(f"cash total {cash_total} != deposits net {self._external_cash}")
        units_total: dict[str, int] = defaultdict(int)
        for acct in self.accounts.values():
            for instrument, qty in acct.units.items():
                units_total[instrument] += qty
        for instrument in set(units_total) | set(self._external_units):
            if units_total[instrument] != self._external_units[instrument]:
                problems.append(
                    f"{instrument}: {units_total[instrument]} units held, "
                    f"{self._external_units[instrument]} issued"
                )
        owed_cash: dict[int, int] = defaultdict(int)
        owed_units: dict[tuple[int, str], int] = defaultdict(int)
        for s in self._pending:
            owed_cash[s.buyer] += s.buyer_pays
            owed_units[s.seller, s.instrument] += s.qty
        for acct in self.accounts.values():
            who = f"account {acct.account_id}"
            if acct.cash < 0:
                problems.append(f"{who}: negative cash {acct.cash}")
            if not 0 <= acct.cash_locked <= max(acct.cash, 0):
                problems.append(f"{who}: locked cash {acct.cash_locked} outside [0, {acct.cash}]")
            if acct.cash_locked < owed_cash[acct.account_id]:
                problems.append(f"{who}: locked cash below what unsettled trades owe")
            for instrument, qty in acct.units.items():
                locked = acct.units_locked[instrument]
                if qty < 0 or not 0 <= locked <= qty:
                    problems.append(f"{who}: {instrument} units {qty}, locked {locked}")
                if locked < owed_units[acct.account_id, instrument]:
                    problems.append(f"{who}: locked {instrument} below what trades owe")
        return ConservationReport(
            ok=not problems,
            cash_total=cash_total,
            cash_expected=self._external_cash,
            units_total=dict(units_total),
            units_expected=dict(self._external_units),
            unsettled_trades=len(self._pending),
            problems=tuple(problems),
        )


def _check_amount(what: str, amount: object, allow_zero: bool = False) -> None:
    if type(amount) is not int or amount < 0 or (amount == 0 and not allow_zero):
        raise LedgerError(
            f"{what} must be a {'non-negative' if allow_zero else 'positive'} "
            f"whole number of paise/units, got {amount!r}"
        )
