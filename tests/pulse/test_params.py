"""The Pulse's settings: defaults, and bad ones refused with a line per problem."""

import pytest

from sim.pulse.params import PulseParams, PulseParamsError, PulseWeights


def test_the_defaults_are_the_documented_ones():
    weights = PulseWeights()
    assert weights.sector_liquidity_share == {
        "financial": 0.7, "utilities": 0.4, "industrial": 0.5, "government": 0.3,
    }  # fmt: skip
    assert sum(weights.liquidity.as_dict().values()) == pytest.approx(1.0)
    assert sum(weights.repayment.as_dict().values()) == pytest.approx(1.0)
    assert PulseParams().intervals == ("1h", "1d")
    assert PulseParams().windows_days == (7, 30, 90)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"weights": {"liquidity": {"depth": -1}}},
         "weights.liquidity.depth: Input should be greater than or equal to 0 (got -1)"),
        ({"weights": {"liquidity": {"dept": 1}}},
         "weights.liquidity.dept: Extra inputs are not permitted"),
        ({"weights": {"repayment": dict.fromkeys(
            ("credit_spread", "rating", "default_probability", "downgrade_probability",
             "spread_stability", "depth_stability", "traffic", "utilities", "sentiment"), 0)}},
         "weights.repayment: at least one weight must be positive"),
        ({"weights": {"sector_liquidity_share": {"financial": 0.7}}},
         "weights.sector_liquidity_share: needs a share for every sector group; missing "
         "['government', 'industrial', 'utilities']"),
        ({"weights": {"rating_adjustment": {"AAA": 500}}},
         "weights.rating_adjustment.AAA: Input should be less than or equal to 100 (got 500)"),
        ({"intervals": ["1w"]},
         "intervals: '1w' is not an interval (\"1d\", \"<n>h\" or \"<n>m\")"),
        ({"windows_days": [0]},
         "windows_days.0: Input should be greater than or equal to 1 (got 0)"),
    ],
)  # fmt: skip
def test_bad_settings_are_refused_with_one_line_naming_the_field(data, message):
    with pytest.raises(PulseParamsError) as caught:
        PulseParams.from_dict(data)
    assert str(caught.value) == message


def test_every_problem_gets_its_line():
    with pytest.raises(PulseParamsError) as caught:
        PulseParams.from_dict({"depth_bp": 0, "round_trip_rupees": -5})
    assert str(caught.value).splitlines() == [
        "depth_bp: Input should be greater than 0 (got 0)",
        "round_trip_rupees: Input should be greater than 0 (got -5)",
    ]
