"""Repo lending: leveraged borrowers, cash lenders, daily margin calls and forced sales.

One population (the ``[repo]`` table) holds `count` borrowers and `lenders` lenders; they
share one `RepoDesk`, the book of open repos. Borrowers appear in agents.parquet as kind
``repo_borrower`` and lenders as ``repo_lender``.

A repo is (borrower, lender, symbol, units pledged, cash lent, haircut). It opens with one
off-book transfer (the platform's `MarketAccess.transfer`): the lender pays the loan to the
borrower and the borrower delivers the units into the lender's account, which is the custody
account (title transfer, as under a GMRA). The loan is the most the collateral supports,
``value x (1 - haircut)``, with value = units x the collateral's unit value: the published
valuation with accrued interest (`MarketAccess.unit_value`), less how far the best bid on
the venues is below the fair clean price (`RepoDesk.unit_value`).

Borrowers lever up: each session open a borrower with fewer than `max_repos` open repos
pledges its free units of its one bond and spends `invest_fraction` of the cash on more of
the same bond (IOC buys `buy_slippage_ticks` through the best ask it sees, repeated every
`retry_seconds` until the budget is spent); the units settle and are pledged the next day,
so leverage builds round by round.

Lenders mark every repo at each session open, before borrowers act:

    required  = ceil(loan / (1 - haircut))
    value     = units x unit value + cash margin held
    shortfall = required - value            (a margin call when positive)

The haircut is re-applied daily from the bond's current rating (`haircuts` by grade, notches
pooled: AA+ and AA- are AA), scaled in stress and raised by repo stress:

    haircut = min(base x (1 + (haircut_multiplier_in_stress - 1) x panic) + added, max_haircut)

with panic the day's panic level and added the day's `repo_haircut` shock on the grade,
``add_pct / 100`` times the path's fraction (0 for grades it does not name; the largest if
several; both from `MarketAccess.shock_level`); a defaulted bond gets `max_haircut`.

A borrower meets a call with free cash first (held by the lender as cash margin, at par) and
then with more units of the bond (at its unit value). What it cannot meet the lender recovers
by selling collateral into the book with market orders, from its custody account, one order
per bond at a time, retrying every `retry_seconds` while the call is not met at the current
mark. Selling q units at the unit value P cures a shortfall S when

    q >= (1 - haircut) x S / (haircut x P)

(the proceeds repay the loan, which needs less collateral by a factor 1 - haircut), so a
small call can force a large sale. The sales depress the bids, and with them the
collateral's value, which deepens the call being worked and the next day's calls: the
fire-sale spiral.

After `term_days` a repo rolls for another term (`rolls`) or matures: the borrower repays
the loan less its cash margin and gets its units back. A borrower that cannot repay has its
collateral sold until the loan is covered. Coupons on pledged units are paid to the lender,
the holder of record, which passes each on to the borrower at once as a manufactured payment
(the borrower keeps the economic coupon, as under the GMRA). Collateral that stops trading
ahead of its maturity is left alone (no calls, no sales) until it is redeemed; the lender
holds the redemption as cash margin, and the repo closes at once. A repo whose loan the margin
and sale proceeds cover, or whose collateral is all sold, closes at the next session open
(when the sales have settled): surplus cash and units go back to the borrower, and what the
borrower cannot pay of a remaining loan is the lender's loss. Repos carry no interest.

Every movement is an off-book transfer of whole paise and units or a trade on a venue, so
cash and units are conserved exactly; a lender's units of a bond always equal the units of
its open repos in that bond.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass

import numpy as np
from pydantic import Field, field_validator, model_validator

from agents.common import GRADES, PopulationParams, grade
from sim.engine.latency import latency_from
from sim.engine.participant import Participant
from sim.scenario.registry import AgentKind
from sim.scenario.shocks import PanicShock, RepoHaircutShock
from sim.units import NS_PER_SECOND

BP = 10_000  # haircuts are held in basis points, so the arithmetic stays in integers


class RepoParams(PopulationParams):
    count: int = Field(10, ge=0, le=100_000, description="number of borrowers")
    cash_rupees: float = Field(50_000.0, ge=0, description="starting cash of each borrower")
    units: int = Field(500, ge=0, description="starting units of each borrower's one bond")
    lenders: int = Field(2, ge=0, le=10_000, description="number of lenders")
    lender_cash_rupees: float = Field(50_000_000.0, ge=0, description="each lender's cash")
    haircuts: dict[str, float] = Field(
        default_factory=lambda: {"AAA": 0.02, "AA": 0.05, "A": 0.10, "BBB": 0.20, "BIG": 0.40},
        description="haircut by rating grade (AAA, AA, A, BBB, BIG)",
    )
    haircut_multiplier_in_stress: float = Field(2.0, ge=1, description="haircut x at panic 1")
    max_haircut: float = Field(0.9, gt=0, lt=1, description="cap; also defaulted bonds' haircut")
    term_days: int = Field(5, ge=1, description="trading days to maturity")
    rolls: bool = Field(True, description="repos roll at maturity instead of being repaid")
    max_repos: int = Field(3, ge=0, description="open repos per borrower (leverage rounds)")
    invest_fraction: float = Field(0.95, ge=0, le=1, description="share of loans spent on bonds")
    buy_slippage_ticks: int = Field(5, ge=0, description="leveraged buys go this far through")
    retry_seconds: float = Field(300.0, gt=0, description="unfilled buys and sales retry")

    @field_validator("haircuts")
    @classmethod
    def _every_grade(cls, haircuts: dict[str, float]) -> dict[str, float]:
        if set(haircuts) != set(GRADES):
            raise ValueError(f"needs exactly the grades {list(GRADES)}, got {sorted(haircuts)}")
        for name, haircut in haircuts.items():
            if not 0 <= haircut < 1:
                raise ValueError(f"haircut of {name} must be in [0, 1), got {haircut}")
        return haircuts

    @model_validator(mode="after")
    def _cap_above_haircuts(self) -> RepoParams:
        if max(self.haircuts.values()) > self.max_haircut:
            raise ValueError(
                f"max_haircut ({self.max_haircut}) is below a haircut in haircuts "
                f"({max(self.haircuts.values())})"
            )
        return self


# --- the arithmetic ---------------------------------------------------------------------------


def haircut_bp(base: float, panic: float, multiplier: float, cap: float, added: float = 0.0) -> int:
    """A haircut in basis points: `base` scaled toward `base x multiplier` as panic rises to
    1, plus `added` (a share of the collateral's value), capped at `cap`."""
    return round(min(base * (1 + (multiplier - 1) * panic) + added, cap) * BP)


def max_loan(value: int, haircut: int) -> int:
    """The most cash (paise) collateral worth `value` paise supports at `haircut` bp."""
    return value * (BP - haircut) // BP


def required_value(loan: int, haircut: int) -> int:
    """Collateral value (paise) a loan needs at `haircut` bp: ceil(loan / (1 - haircut))."""
    return -(-loan * BP // (BP - haircut))


def shortfall(loan: int, value: int, haircut: int) -> int:
    """The margin call (paise) on a loan against collateral worth `value`; 0 if none."""
    return max(required_value(loan, haircut) - value, 0)


def units_to_sell(short: int, haircut: int, unit_value: int, units: int) -> int:
    """Units whose sale at `unit_value` paise cures a shortfall of `short` paise, at most
    `units`. At a zero haircut a sale cannot cure anything, so all units go."""
    if short <= 0:
        return 0
    if haircut == 0 or unit_value <= 0:
        return units
    return min(-(-(BP - haircut) * short // (haircut * unit_value)), units)


@dataclass(eq=False)
class Repo:
    """One open repo; the loan falls as forced-sale proceeds repay it."""

    repo_id: int
    borrower: RepoBorrower
    lender: RepoLender
    symbol: str
    units: int
    loan: int  # paise
    haircut: int  # bp, as last marked
    maturity_day: int
    cash_margin: int = 0  # paise posted by the borrower, held by the lender
    due: bool = False  # matured and unpaid: collateral is sold until the loan is covered
    selling: bool = False  # a forced-sale order is in flight

    def value(self, unit_value: int) -> int:
        return self.units * unit_value + self.cash_margin

    @property
    def owed_back(self) -> int:
        """Cash the lender would return on closing now (margin beyond the loan)."""
        return max(self.cash_margin - self.loan, 0)


class RepoDesk:
    """The population's book of open repos, its haircut schedule and its totals."""

    def __init__(self, market, params: RepoParams) -> None:
        self.market = market
        self.params = params
        self.repos: list[Repo] = []
        self.lenders: list[RepoLender] = []
        self._next_id = 1
        self._next_lender = 0
        self.totals = defaultdict(int)
        self.venues_of: dict[str, list[str]] = {}  # symbol -> the venues that list it
        for venue, symbol in market.listings():
            self.venues_of.setdefault(symbol, []).append(venue)

    def unit_value(self, symbol: str, viewer: Participant) -> int:
        """Paise a unit of collateral is worth to a lender: the published valuation (accrued
        interest included), less how far the best bid `viewer` sees across the venues is
        below the fair clean price. Collateral is worth what it could be sold for, so forced
        sales that push the bids down deepen the calls (the fire-sale spiral)."""
        market = self.market
        value = market.unit_value(symbol)
        bids = [viewer.quote(venue, symbol).bid for venue in self.venues_of[symbol]]
        best = max((b for b in bids if b is not None), default=None)
        if best is None:
            return value
        below = (market.fair_value(symbol) - best) * market.tick_value(symbol)
        return value - max(round(below), 0)

    def haircut(self, symbol: str, day: int) -> int:
        """Today's haircut (bp) on `symbol`, in stress included."""
        p, market = self.params, self.market
        g = grade(market.rating(symbol, day))
        base = p.max_haircut if g == "D" else p.haircuts[g]
        panic = market.shock_level(PanicShock, day)
        added = market.shock_level(
            RepoHaircutShock, day, size=lambda shock: shock.add_pct.get(g, 0.0) / 100
        )
        return haircut_bp(base, panic, p.haircut_multiplier_in_stress, p.max_haircut, added)

    def open_repo(self, borrower: RepoBorrower, units: int, day: int) -> Repo | None:
        """Pledge up to `units` of the borrower's bond with the next lender that has cash;
        returns the repo, or None when no lender can lend."""
        symbol = borrower.symbol
        haircut = self.haircut(symbol, day)
        for i in range(len(self.lenders)):
            lender = self.lenders[(self._next_lender + i) % len(self.lenders)]
            unit_value = self.unit_value(symbol, lender)
            affordable = lender.lendable() * BP // max((BP - haircut) * unit_value, 1)
            pledged = min(units, affordable)
            loan = max_loan(pledged * unit_value, haircut)
            if loan > 0:
                self._next_lender = (self._next_lender + i + 1) % len(self.lenders)
                break
        else:
            return None
        self.market.transfer(lender, borrower, loan, symbol, pledged)
        repo = Repo(self._next_id, borrower, lender, symbol, pledged, loan, haircut,
                    day + self.params.term_days)  # fmt: skip
        self._next_id += 1
        self.repos.append(repo)
        self.totals["repos_opened"] += 1
        self.totals["cash_lent_paise"] += loan
        return repo

    def close(self, repo: Repo) -> bool:
        """Settle up and close: net cash one way, remaining units back to the borrower.
        False (try again later) when the lender has not yet the cash to return."""
        transfer = self.market.transfer
        borrower, lender = repo.borrower, repo.lender
        net = repo.loan - repo.cash_margin
        if net < 0:
            if -net > lender.free_cash():
                return False
            transfer(lender, borrower, -net)
            paid = 0
        else:
            paid = min(net, borrower.free_cash())
            self.totals["default_loss_paise"] += net - paid
        transfer(borrower, lender, paid, repo.symbol, repo.units)
        self.repos.remove(repo)
        self.totals["repos_closed"] += 1
        return True

    def metrics(self) -> dict:
        return {
            **{k: self.totals[k] for k in _TOTALS},
            "repos_open": len(self.repos),
            "loans_open_paise": sum(r.loan for r in self.repos),
        }


_TOTALS = (
    "repos_opened",
    "repos_closed",
    "repos_rolled",
    "cash_lent_paise",
    "margin_calls",
    "margin_call_paise",
    "calls_met_cash_paise",
    "calls_met_units",
    "calls_unmet",
    "forced_sale_orders",
    "forced_sale_units",
    "forced_sale_paise",
    "default_loss_paise",
    "manufactured_payments_paise",
    "collateral_redeemed_paise",
)


class RepoParticipant(Participant):
    """What borrowers and lenders share: the desk and their reporting."""

    def __init__(self, market, params: RepoParams, rng, desk: RepoDesk) -> None:
        super().__init__(market, rng, latency_from(params.latency_us, params.latency_jitter_us))
        self.params = params
        self.desk = desk
        self.margin_calls = 0
        self.forced_sale_units = 0

    def _repos(self) -> list[Repo]:
        return [r for r in self.desk.repos if self in (r.borrower, r.lender)]

    def claim(self) -> int:
        """Paise its open repos are worth to it, at the collateral's unit value, which the
        ledger does not see: a lender is owed the loan and owes back the collateral and the
        cash margin it holds; a borrower the opposite. `pnl` in agents.parquet plus this is
        the economic P&L."""
        return sum(
            (1 if r.lender is self else -1)
            * (r.loan - r.value(self.desk.unit_value(r.symbol, r.lender)))
            for r in self._repos()
        )

    def report(self) -> dict:
        repos = self._repos()
        return {
            "repo_open": len(repos),
            "repo_loans_paise": sum(r.loan for r in repos),
            "repo_claim_paise": self.claim(),
            "repo_margin_calls": self.margin_calls,
            "repo_forced_sale_units": self.forced_sale_units,
        }

    @staticmethod
    def population_metrics(agents) -> dict:
        return {"repo": agents[0].desk.metrics()}


class RepoBorrower(RepoParticipant):
    kind = "repo_borrower"

    def __init__(self, market, params: RepoParams, rng, desk: RepoDesk) -> None:
        super().__init__(market, params, rng, desk)
        symbols = market.symbols()
        self.symbol = symbols[self.draws.integers(len(symbols))]
        self.budget = 0  # paise of borrowed cash still to invest

    def on_session_open(self, day: int) -> None:
        if not self.market.trades_on(self.symbol, day):
            self.budget = 0  # its bond matures: nothing to buy or pledge
            return
        open_repos = sum(r.borrower is self for r in self.desk.repos)
        units = self._free_units()
        if open_repos >= self.params.max_repos or units <= 0:
            return
        repo = self.desk.open_repo(self, units, day)
        if repo is None:
            return
        if not self.budget:  # otherwise a buying round is already under way
            self.wake_in(int(self.params.retry_seconds * NS_PER_SECOND))
        self.budget += int(repo.loan * self.params.invest_fraction)

    def _free_units(self) -> int:
        return self.free_units(self.symbol)

    def on_wake(self) -> None:
        """Spend the budget on the bond, through the lowest ask it sees; what the book
        cannot fill now is tried again later."""
        if not self.market.trades_on(self.symbol, self.market.day_index(self.now)):
            return  # its bond matures: its listings ended
        quotes = [
            (self.quote(name, self.symbol).ask, name) for name in self.desk.venues_of[self.symbol]
        ]
        asks = [(ask, name) for ask, name in quotes if ask is not None]
        if not asks:
            self.wake_in(int(self.params.retry_seconds * NS_PER_SECOND))
            return
        ask, venue = min(asks)
        price = ask + self.params.buy_slippage_ticks
        lot = self.market.lot_size(self.symbol)
        cash = min(self.budget, self.free_cash())
        qty = self.affordable(venue, self.symbol, price, cash) // lot * lot
        if qty > 0:
            self.submit(venue, self.symbol, 1, qty, price, tif="IOC")
        else:
            self.budget = 0  # cannot afford a lot: keep the cash as a buffer

    def on_response(self, request: tuple, response) -> None:
        if response.filled_qty < request[4]:
            spent = sum(t.consideration + t.taker_fee for t in response.trades)
            self.budget = max(self.budget - spent, 0)
            self.wake_in(int(self.params.retry_seconds * NS_PER_SECOND))
        else:
            self.budget = 0  # bought all it could afford

    def meet_call(self, repo: Repo, short: int, unit_value: int) -> int:
        """Meet a margin call of `short` paise with free cash, then free units; returns what
        is left unmet."""
        self.margin_calls += 1
        transfer, totals = self.market.transfer, self.desk.totals
        cash = min(self.free_cash(), short)
        if cash > 0:
            transfer(self, repo.lender, cash)
            repo.cash_margin += cash
            totals["calls_met_cash_paise"] += cash
            short -= cash
        units = min(self._free_units(), -(-short // max(unit_value, 1)))
        if short > 0 and units > 0:
            transfer(repo.lender, self, 0, self.symbol, units)
            repo.units += units
            totals["calls_met_units"] += units
            short = max(short - units * unit_value, 0)
        return short


class RepoLender(RepoParticipant):
    kind = "repo_lender"

    def __init__(self, market, params: RepoParams, rng, desk: RepoDesk) -> None:
        super().__init__(market, params, rng, desk)
        self._queue: dict[str, deque[Repo]] = defaultdict(deque)
        self._in_flight: dict[str, Repo] = {}
        self._retry: set[Repo] = set()

    def lendable(self) -> int:
        """Free cash less what it would owe back on closing its repos."""
        return self.free_cash() - sum(r.owed_back for r in self._repos())

    def on_payment(self, payment) -> None:
        """The coupon on pledged units reaches the lender, the holder of record; the borrower
        keeps the economic coupon, so the lender passes it on as a manufactured payment. A
        redemption turns the collateral into cash the lender holds as margin: the repo closes
        at once, the loan repaid from it and the rest returned."""
        for repo in self._repos():
            if repo.lender is not self or repo.symbol != payment.symbol or not repo.units:
                continue
            cash = repo.units * payment.per_unit
            if payment.kind == "redemption":
                repo.cash_margin += cash
                repo.units = 0
                self.desk.totals["collateral_redeemed_paise"] += cash
                self.desk.close(repo)
            else:
                self.market.pass_on_coupon(self, repo.borrower, cash, payment.symbol)
                self.desk.totals["manufactured_payments_paise"] += cash

    def on_session_open(self, day: int) -> None:
        for repo in [r for r in self._repos() if not r.selling]:
            self.review(repo, day)
        self._pump_all()

    def review(self, repo: Repo, day: int) -> None:
        """The daily mark: close, roll or mature, then call margin and queue forced sales."""
        desk = self.desk
        if repo.loan <= repo.cash_margin or repo.units == 0:
            desk.close(repo)
            return
        if not self.market.trades_on(repo.symbol, day):
            return  # no mark and no market until the redemption closes it
        if day >= repo.maturity_day:
            if self.params.rolls:
                repo.maturity_day = day + self.params.term_days
                desk.totals["repos_rolled"] += 1
            elif repo.loan - repo.cash_margin <= repo.borrower.free_cash():
                desk.close(repo)
                return
            else:
                repo.due = True
        if repo.due:
            self._queue_sale(repo)
            return
        repo.haircut = desk.haircut(repo.symbol, day)
        unit_value = desk.unit_value(repo.symbol, self)
        short = shortfall(repo.loan, repo.value(unit_value), repo.haircut)
        if short > 0:
            self.margin_calls += 1
            desk.totals["margin_calls"] += 1
            desk.totals["margin_call_paise"] += short
            if repo.borrower.meet_call(repo, short, unit_value) > 0:
                desk.totals["calls_unmet"] += 1
                self._queue_sale(repo)

    def units_to_sell(self, repo: Repo) -> int:
        """Collateral to sell now: enough to cover the loan if due, else to cure the call at
        the current mark."""
        unit_value = self.desk.unit_value(repo.symbol, self)
        if repo.due:
            owed = repo.loan - repo.cash_margin
            return min(-(-owed // max(unit_value, 1)), repo.units) if owed > 0 else 0
        short = shortfall(repo.loan, repo.value(unit_value), repo.haircut)
        return units_to_sell(short, repo.haircut, unit_value, repo.units)

    # --- forced sales: one order per bond in flight, so fills map to their repo ---------------

    def _queue_sale(self, repo: Repo) -> None:
        if repo not in self._queue[repo.symbol]:
            self._queue[repo.symbol].append(repo)

    def _pump_all(self) -> None:
        for symbol in list(self._queue):
            self._pump(symbol)

    def _pump(self, symbol: str) -> None:
        queue = self._queue[symbol]
        while queue and symbol not in self._in_flight:
            repo = queue.popleft()
            if repo not in self.desk.repos:
                continue
            lot = self.market.lot_size(symbol)
            qty = self.units_to_sell(repo)
            qty = min(-(-qty // lot) * lot, repo.units // lot * lot)
            if qty <= 0:
                continue
            venue = self._best_bid_venue(symbol)
            if venue is None:  # no buyers in sight: look again later
                self._retry_later(repo)
                continue
            repo.selling = True
            self._in_flight[symbol] = repo
            self.desk.totals["forced_sale_orders"] += 1
            self.submit(venue, symbol, -1, qty, None)

    def _best_bid_venue(self, symbol: str) -> str | None:
        bids = [
            (quote.bid, name)
            for name in self.desk.venues_of[symbol]
            if (quote := self.quote(name, symbol)).bid is not None
        ]
        return max(bids)[1] if bids else None

    def _retry_later(self, repo: Repo) -> None:
        if not self._retry:
            self.wake_in(int(self.params.retry_seconds * NS_PER_SECOND))
        self._retry.add(repo)

    def on_response(self, request: tuple, response) -> None:
        action, _, symbol = request[:3]
        repo = self._in_flight.pop(symbol) if action == "new" else None
        if repo is None:
            return
        repo.selling = False
        totals = self.desk.totals
        for trade in response.trades:
            repo.units -= trade.qty
            repo.loan -= trade.consideration - trade.taker_fee
            self.forced_sale_units += trade.qty
            repo.borrower.forced_sale_units += trade.qty
            totals["forced_sale_units"] += trade.qty
            totals["forced_sale_paise"] += trade.notional
        if repo.units > 0 and self.units_to_sell(repo) > 0:
            self._retry_later(repo)
        self._pump(symbol)

    def on_wake(self) -> None:
        for repo in sorted(self._retry, key=lambda r: r.repo_id):
            if not repo.selling:
                self._queue_sale(repo)
        self._retry.clear()
        self._pump_all()


def build(market, params: RepoParams, seeds):
    """Lenders first, so that at each open they mark their repos before borrowers act."""
    desk = RepoDesk(market, params)
    lender_seeds, borrower_seeds = seeds.spawn(2)
    for seed in lender_seeds.spawn(params.lenders):
        lender = RepoLender(market, params, np.random.default_rng(seed), desk)
        market.open_account(lender, cash=round(params.lender_cash_rupees * 100))
        desk.lenders.append(lender)
    borrowers = []
    for seed in borrower_seeds.spawn(params.count):
        borrower = RepoBorrower(market, params, np.random.default_rng(seed), desk)
        units = {borrower.symbol: params.units} if params.units else {}
        market.open_account(borrower, cash=round(params.cash_rupees * 100), units=units)
        borrowers.append(borrower)
    return [*desk.lenders, *borrowers]


KIND = AgentKind("repo", RepoParams, build)
