"""The exchange, with no clock and no agents: limit order books (numba kernels), venue
gateways (pre-trade checks, fees, price bands; their compiled one-call path), the ledger (cash in
paise, units, T+n settlement), instruments, order vocabulary and messages, and the trading
calendar. Everything here is driven by calls; `sim.engine` adds time and agents.

    from sim.market import OrderBook, Venue, Ledger
"""

from sim._lazy import lazy_exports

_EXPORTS = {
    "OrderBook": "book",
    "SelfTradePrevention": "book",
    "Venue": "venue",
    "PriceBand": "venue",
    "RiskLimits": "venue",
    "Ledger": "ledger",
    "LedgerError": "ledger",
    "Account": "ledger",
    "Instrument": "instrument",
    "FeeSchedule": "fees",
    "Tier": "fees",
    "Side": "orders",
    "Status": "orders",
    "Reason": "orders",
    "OrderType": "orders",
    "Trade": "messages",
    "Response": "messages",
    "OpenOrder": "messages",
    "Quote": "messages",
    "TradingCalendar": "calendar",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
