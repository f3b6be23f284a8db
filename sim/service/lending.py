"""Cash lending and repo between the service's clients.

A lender offers cash against bond collateral: up to `cash` paise, at `rate_bp` a year
(act/365 on calendar days), for `term_days` trading days, at a `haircut_pct`. A borrower
pledges units of a bond and borrows what they support from the cheapest offer that can lend
it, ``floor(units x unit value x (1 - haircut))``, the unit value being the published
valuation with its accrued interest. The repo opens with one off-book transfer: the lender
pays the loan and the borrower delivers the units into the lender's account (title transfer,
as under a GMRA; coupons paid meanwhile stay with the lender, a simplification).

At the first session open on or after its end, the borrower repays the loan with interest
and the lender returns the units, in one transfer. A borrower that cannot pay defaults: the
lender keeps the collateral. A lender that no longer holds the units fails to deliver: the
repo is marked failed and the borrower keeps its cash. Both are reported, never hidden.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.market.ledger import LedgerError
from sim.units import NS_PER_DAY

DAYS_A_YEAR = 365


class LendingError(ValueError):
    """A lending request the book cannot honour (the reason is the message)."""


@dataclass
class Offer:
    offer_id: int
    lender: str
    cash: int  # paise still available
    rate_bp: int
    haircut_pct: float
    term_days: int
    created_at: int


@dataclass
class Repo:
    repo_id: int
    offer_id: int
    lender: str
    borrower: str
    bond: str
    units: int
    loan: int  # paise
    rate_bp: int
    opened_at: int
    due_day: int
    status: str = "open"  # open, repaid, defaulted or failed
    repayment: int | None = None  # paise, set when it closes
    closed_at: int | None = None


class LendingBook:
    """Every offer and repo of the service, and their settlement at each session open."""

    def __init__(self, market, clients: dict) -> None:
        self.market = market
        self.clients = clients  # name -> ApiClient
        self.offers: list[Offer] = []
        self.repos: list[Repo] = []

    def offer(self, lender, cash: int, rate_bp: int, haircut_pct: float, term_days: int) -> Offer:
        if cash > lender.free_cash():
            raise LendingError(f"offer of {cash} paise exceeds free cash {lender.free_cash()}")
        made = Offer(
            len(self.offers) + 1,
            lender.name,
            cash,
            rate_bp,
            haircut_pct,
            term_days,
            self.market.now(),
        )
        self.offers.append(made)
        return made

    def borrow(self, borrower, bond: str, units: int, offer_id: int | None = None) -> Repo:
        market = self.market
        if units > borrower.free_units(bond):
            raise LendingError(f"{units} units of {bond} pledged, {borrower.free_units(bond)} free")
        value = units * market.unit_value(bond)
        candidates = [o for o in self.offers if o.lender != borrower.name]
        if offer_id is not None:
            candidates = [o for o in candidates if o.offer_id == offer_id]
            if not candidates:
                raise LendingError(f"no offer {offer_id} open to this account")
        fitting = [o for o in candidates if o.cash >= _loan(value, o.haircut_pct) > 0]
        if not fitting:
            raise LendingError(f"no offer lends {_loan(value, 0.0)} paise less haircut on {bond}")
        chosen = min(fitting, key=lambda o: (o.rate_bp, o.offer_id))
        loan = _loan(value, chosen.haircut_pct)
        lender = self.clients[chosen.lender]
        try:  # the lender pays the loan, the borrower delivers the units
            market.transfer(lender, borrower, cash=loan, symbol=bond, qty=units)
        except LedgerError as error:
            raise LendingError(f"the repo could not open: {error}") from None
        chosen.cash -= loan
        day = market.day_index(market.now())
        repo = Repo(
            len(self.repos) + 1,
            chosen.offer_id,
            chosen.lender,
            borrower.name,
            bond,
            units,
            loan,
            chosen.rate_bp,
            market.now(),
            day + chosen.term_days,
        )
        self.repos.append(repo)
        return repo

    def settle_due(self, day: int) -> None:
        """Close every repo due by `day`: repaid, defaulted or failed."""
        market = self.market
        for repo in self.repos:
            if repo.status != "open" or repo.due_day > day:
                continue
            days = (market.now() - repo.opened_at) / NS_PER_DAY
            repo.repayment = repo.loan + math.ceil(
                repo.loan * repo.rate_bp / 1e4 * days / DAYS_A_YEAR
            )
            repo.closed_at = market.now()
            borrower, lender = self.clients[repo.borrower], self.clients[repo.lender]
            if borrower.free_cash() < repo.repayment:
                repo.status = "defaulted"
            elif lender.free_units(repo.bond) < repo.units:
                repo.status = "failed"
            else:  # the borrower repays, the lender returns the units
                market.transfer(
                    borrower, lender, cash=repo.repayment, symbol=repo.bond, qty=repo.units
                )
                repo.status = "repaid"


def _loan(value: int, haircut_pct: float) -> int:
    return math.floor(value * (1 - haircut_pct / 100))
