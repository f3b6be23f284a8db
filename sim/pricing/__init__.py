"""Bond pricing: day counts, schedules, bonds and bulk (numba) pricing."""

from sim.pricing.bond import Bond, Flows, PricingError
from sim.pricing.bulk import BondPortfolio, price_many, yield_many
from sim.pricing.daycount import CONVENTIONS, check_convention, year_fraction
from sim.pricing.schedule import Period, add_months, coupon_periods, is_month_end
