"""Lead time of the index's fall, on market series made up by hand."""

import numpy as np

from sim.pulse.validation import lead_time

CALM = [50.0, 51.0, 49.0, 50.0]
COST = [20.0, 21.0, 19.0, 20.0]


def test_an_index_that_falls_before_the_stress_leads_it():
    index = np.array([*CALM, 50.0, 42.0, 40.0, 30.0])  # shock on day 4; falls on day 5
    cost = np.array([*COST, 20.0, 21.0, 22.0, 60.0])  # costs jump on day 7
    shocks = [{"kind": "spread", "day": 4}, {"kind": "liquidity_withdrawal", "day": 7}]
    lead = lead_time(index, cost, shocks)
    assert (lead["first_shock_day"], lead["stress_day"], lead["fall_day"]) == (4, 7, 5)
    assert lead["lead_days"] == 2 and lead["falls_ahead"] is True
    assert lead["realised_stress_day"] == 7 and lead["lead_on_realised_days"] == 2
    assert lead["trough_day"] == 7


def test_a_dip_within_the_calm_days_noise_is_no_fall():
    # The reference: mean 50, sd 0.71; the threshold is 5 points below, not 2 sd.
    index = np.array([*CALM, 46.0, 47.0])
    lead = lead_time(index, np.array([*COST, 20.0, 20.0]), [{"kind": "panic", "day": 4}])
    assert lead["fall_day"] is None and lead["lead_days"] is None
    assert lead["realised_stress_day"] is None


def test_a_run_without_calm_days_has_no_reference():
    shocks = [{"kind": "panic", "day": 0}]
    assert lead_time(np.array(CALM), np.array(COST), shocks)["stress_day"] is None
    assert lead_time(np.array(CALM), np.array(COST), [])["fall_day"] is None
