"""Guardrails refuse limits they cannot enforce, naming each bad argument."""

import numpy as np
import pytest

from sim.strategy.guardrails import Guardrails, value_at_risk

GOOD = {
    "max_position": 100,
    "var_limit_rupees": 1_000.0,
    "max_drawdown_rupees": 500.0,
    "var_horizon_seconds": 3600.0,
}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"var_method": "montecarlo"}, "var_method must be one of ('parametric', 'historical')"),
        ({"var_confidence": 1.5}, "var_confidence must be a number in (0.5, 1)"),
        ({"max_position": -1}, "max_position must be a non-negative integer"),
        ({"var_window": 2.5}, "var_window must be a non-negative integer"),
        ({"var_limit_rupees": 0}, "var_limit_rupees must be a positive number"),
        ({"max_drawdown_rupees": float("nan")}, "max_drawdown_rupees must be a positive number"),
    ],
)
def test_a_bad_argument_is_named(bad, message):
    with pytest.raises(ValueError, match="Guardrails: ") as error:
        Guardrails(object(), {"ABM": "EXCH"}, **{**GOOD, **bad})
    assert message in str(error.value)


def test_numpy_numbers_are_accepted():
    # A sweep hands over numpy scalars.
    arguments = {**GOOD, "max_position": np.int64(100), "var_window": np.int32(50)}
    guard = Guardrails(object(), {}, **arguments, var_confidence=np.float64(0.95))
    assert guard.max_position == 100


def test_every_bad_argument_is_named_at_once():
    with pytest.raises(ValueError) as error:
        Guardrails(object(), {}, **{**GOOD, "max_position": -1, "var_method": "x"})
    assert "max_position" in str(error.value) and "var_method" in str(error.value)


def test_value_at_risk_refuses_an_unknown_method():
    # It used to treat any method other than "parametric" as historical.
    with pytest.raises(ValueError, match="unknown VaR method 'montecarlo'"):
        value_at_risk(10, 100.0, 100, [0.01, -0.01], [60, 60], 3600, method="montecarlo")
