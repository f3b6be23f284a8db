"""The units every layer shares. Time is integer nanoseconds of the local wall clock (see
`sim.market.calendar`); money is integer paise and prices are integer ticks (see `sim.market`)."""

NS_PER_SECOND = 1_000_000_000
NS_PER_MINUTE = 60 * NS_PER_SECOND
NS_PER_DAY = 86_400 * NS_PER_SECOND
PAISE_PER_RUPEE = 100
