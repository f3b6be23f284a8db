"""Bond pricing: day counts, schedules, bonds, curves, credit and fair value."""

from sim.pricing.bond import Bond as Bond
from sim.pricing.bond import Flows as Flows
from sim.pricing.bond import PricingError as PricingError
from sim.pricing.bulk import BondPortfolio as BondPortfolio
from sim.pricing.bulk import price_many as price_many
from sim.pricing.bulk import yield_many as yield_many
from sim.pricing.daycount import CONVENTIONS as CONVENTIONS
from sim.pricing.daycount import check_convention as check_convention
from sim.pricing.daycount import year_fraction as year_fraction
from sim.pricing.schedule import Period as Period
from sim.pricing.schedule import add_months as add_months
from sim.pricing.schedule import coupon_periods as coupon_periods
from sim.pricing.schedule import is_month_end as is_month_end
