"""Bond cash flows in a run: the accrued interest trades settle with, the coupons issuers pay
to the holders of record, and the redemption of the principal at maturity.

The conventions, those of India's exchange-traded corporate bonds where the simulator can
follow them:

- **Accrued interest.** A trade settles for its clean price times units plus the interest
  accrued from the last coupon date to the settlement date, by the bond's day count
  (`sim.pricing.Bond.accrued`), rounded to the paisa per unit: on a fractional marketplace the
  unit is the security, as a bond of ₹1,000 face would be. Every trade of one venue's session
  settles on the same date, so the venue gets one figure per bond at each open
  (`Venue.new_day`).
- **Record date.** The holders of record of a coupon are the holders of settled units at the
  open of the first trading day on or after the coupon date, before that morning's trades
  settle: a record date of the coupon date itself, the one-day shut period of the Government
  securities market (RBI) rather than SEBI's 15 days for listed corporate bonds. With it, the
  ledger's owner of a unit for a day is the one who earns that day's interest: a trade
  settling before the coupon date pays the seller the interest accrued so far and leaves the
  coupon to the buyer; one settling on or after it leaves the coupon with the seller and pays
  it the interest accrued since. A longer shut period would need ex-interest trading
  (negative accrued interest), which is not modelled.
- **Paying agents.** Each issuer has a paying-agent account. On a payment date the issuer
  funds it with exactly what is due (money entering the system, journaled as a deposit) and it
  pays every holder of record, one ``coupon`` entry per holder in the ledger's journal
  (`transfers.parquet`). The ledger's conservation check covers both.

- **Maturity.** A bond trades while a trade could still settle before its maturity date, on
  the slowest venue: from the first session whose trades would settle on or after it, its
  listings end (`Venue.delist`: open orders cancelled on their owners' behalf, new ones
  refused), as an exchange stops trading a bond ahead of its redemption. At the first open on
  or after the maturity date the paying agent redeems every settled unit at par plus the
  final coupon: the holder delivers the units to the paying agent and receives the cash, one
  ``redemption`` entry per holder. A bond that could not trade on the run's first day is
  refused when the run is built.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sim.market.calendar import TradingCalendar
from sim.market.ledger import Ledger
from sim.pricing import Bond


@dataclass(frozen=True)
class Payment:
    """One payment of one bond to its holders of record."""

    kind: str  # "coupon", or "redemption" (the principal and the final coupon)
    symbol: str
    pay_date: date  # the scheduled date; paid at the first open on or after it
    per_unit: int  # paise per unit held
    per_100: float  # rupees per 100 face: the coupon, plus 100 in a redemption
    payer: int  # the issuer's paying-agent account
    paid: tuple[tuple[int, int, int], ...]  # (account, units of record, paise)


@dataclass(frozen=True)
class _Listed:
    bond: Bond
    face_rupees: int  # per unit
    payer: int


class PayingAgents:
    """The issuers' paying agents of one run: accrued interest by settlement date and the
    coupons due each trading day. Instruments without the bond fields (issue, maturity,
    coupon, frequency, day count) accrue nothing and pay nothing. A bond in default trades
    flat (no accrued interest) and is paid nothing due from its default's day on: its holders
    keep a claim the run does not settle."""

    def __init__(
        self,
        specs,
        calendar: TradingCalendar,
        ledger: Ledger,
        settlement_lag_days: int,
        defaults: Mapping[str, int] | None = None,
    ) -> None:
        """`settlement_lag_days`: the slowest venue's, which decides a bond's last trading day.
        `defaults`: the trading day each defaulting bond defaults on."""
        self.defaults = dict(defaults or {})
        self.calendar = calendar
        self.ledger = ledger
        self.lag = settlement_lag_days
        self._bonds: dict[str, _Listed] = {}
        issuers: dict[int, str] = {}
        for spec in specs:
            fields = (spec.issue, spec.maturity, spec.coupon, spec.frequency, spec.day_count)
            if any(f is None for f in fields):
                continue
            bond = Bond(spec.issue, spec.maturity, float(spec.coupon), spec.frequency,
                        spec.day_count)  # fmt: skip
            issuer = spec.issuer or spec.symbol
            payer = paying_agent_account(issuer)
            if issuers.setdefault(payer, issuer) != issuer:
                raise ValueError(
                    f"issuers {issuers[payer]!r} and {issuer!r} share a paying-agent account id"
                )
            self._bonds[spec.symbol] = _Listed(bond, spec.unit_face_value, payer)
        for payer in issuers:
            ledger.open_account(payer)
        settles = [self.settle_date(d, self.lag) for d in range(len(calendar.trading_days))]
        self._last_day: dict[str, int] = {}  # of the bonds whose last trading day is in the run
        for symbol, listed in self._bonds.items():
            trading = [d for d, settle in enumerate(settles) if settle < listed.bond.maturity]
            if not trading:
                raise ValueError(
                    f"bond {symbol!r} matures on {listed.bond.maturity}: a trade on the first "
                    f"day would settle on {settles[0]}, too late"
                )
            if len(trading) < len(settles):
                self._last_day[symbol] = trading[-1]
        self._due = self._schedule()
        self._accrued: dict[date, dict[str, int]] = {}

    def _schedule(self) -> dict[int, list[tuple[str, str, date, float]]]:
        """(kind, symbol, pay date, amount per 100 face) of every coupon and redemption paid in the
        run, by the trading day that pays it (the first on or after the pay date)."""
        days = self.calendar.trading_days
        first, last = days[0], days[-1]
        due: dict[int, list[tuple[str, str, date, float]]] = {}
        for symbol, listed in self._bonds.items():
            bond = listed.bond
            # A coupon dated on or before the first trading day was paid before the run: the
            # bonds start ex-coupon, as the first valuation prices them.
            for pay_date, amount in zip(*bond.cashflows(max(first, bond.issue)), strict=True):
                if pay_date > last:
                    continue
                kind = "redemption" if pay_date >= bond.maturity else "coupon"
                day = next(d for d, day in enumerate(days) if day >= pay_date)
                due.setdefault(day, []).append((kind, symbol, pay_date, float(amount)))
        return due

    def last_trading_day(self, symbol: str) -> int | None:
        """The last trading day (index) of a bond that stops trading in the run: the last
        whose trades settle before its maturity. None for one that trades to the end."""
        return self._last_day.get(symbol)

    def trades_on(self, symbol: str, day: int) -> bool:
        """Whether `symbol` still trades on trading day `day`."""
        last = self._last_day.get(symbol)
        return last is None or day <= last

    def ending(self, day: int) -> list[str]:
        """The bonds whose listings end at trading day `day`'s open (they traded the day
        before for the last time)."""
        return [symbol for symbol, last in self._last_day.items() if last == day - 1]

    def in_default(self, symbol: str, day: int) -> bool:
        """Whether `symbol`'s issuer is in default on trading day `day`."""
        return day >= self.defaults.get(symbol, day + 1)

    def accrued_per_100(self, settle: date, day: int) -> dict[str, float]:
        """Accrued interest per 100 face of each bond for trades on trading day `day` settling
        on `settle` (none for a bond in default)."""
        found = self._accrued.get(settle)
        if found is None:
            found = self._accrued[settle] = {
                symbol: listed.bond.accrued(settle)
                for symbol, listed in self._bonds.items()
                if settle < listed.bond.maturity
            }
        if not self.defaults:
            return found
        return {s: 0.0 if self.in_default(s, day) else v for s, v in found.items()}

    def accrued(self, settle: date, day: int) -> dict[str, int]:
        """Accrued interest per unit (paise) of each bond for trades on trading day `day`
        settling on `settle`."""
        return {
            symbol: unit_paise(per_100, self._bonds[symbol].face_rupees)
            for symbol, per_100 in self.accrued_per_100(settle, day).items()
        }

    def settle_date(self, day: int, lag_days: int) -> date:
        """The settlement date of trading day `day`'s trades on a venue settling T+`lag_days`."""
        cal = self.calendar
        return cal.to_datetime(cal.settlement_time(cal.session(day)[0], lag_days)).date()

    def pay_due(self, day: int) -> list[Payment]:
        """Pay the coupons and redemptions due at trading day `day`'s open to the holders of
        record."""
        payments = []
        for kind, symbol, pay_date, per_100 in self._due.get(day, ()):
            if self.in_default(symbol, day):
                continue
            payer = self._bonds[symbol].payer
            per_unit = unit_paise(per_100, self._bonds[symbol].face_rupees)
            owed = per_unit * sum(q for _, q in self.ledger.holders(symbol, exclude=payer))
            if owed:
                self.ledger.deposit(payer, owed)  # the issuer funds its paying agent
            if kind == "redemption":
                paid = self.ledger.redeem(payer, symbol, per_unit)
            else:
                paid = self.ledger.pay_holders(payer, symbol, per_unit, "coupon")
            payments.append(Payment(kind, symbol, pay_date, per_unit, per_100, payer, tuple(paid)))
        return payments


def unit_paise(per_100: float, face_rupees: int) -> int:
    """Paise on one unit of `face_rupees` face of an amount quoted per 100 face (rupees):
    ``per_100 / 100 * face`` rupees, to the nearest paisa."""
    return round(per_100 * face_rupees)


def paying_agent_account(issuer: str) -> int:
    """The ledger account of an issuer's paying agent: below every venue's fee account
    (-1 - crc32 of the venue's name) and every agent's (non-negative) id."""
    return -(2**32) - 1 - zlib.crc32(issuer.encode())
