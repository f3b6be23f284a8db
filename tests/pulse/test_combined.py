"""Sector groups and the combined score."""

import polars as pl
import pytest

from sim.pulse.combined import combine
from sim.pulse.features import LIQUIDITY_FEATURES
from sim.pulse.params import PulseWeights
from sim.pulse.repayment import REPAYMENT_FEATURES
from sim.pulse.sectors import sector_group


@pytest.mark.parametrize(
    ("sector", "group"),
    [("NBFC", "financial"), ("Housing Finance", "financial"), ("Infrastructure", "utilities"),
     ("Manufacturing", "industrial"), ("PSU", "government"), ("Private Bank", "financial"),
     ("Power Transmission", "utilities"), ("State-owned Enterprise", "government"),
     ("Real Estate", "industrial"), (None, "industrial")],
)  # fmt: skip
def test_sectors_fall_into_the_four_groups(sector, group):
    assert sector_group(sector) == group


def points(names, each: float) -> dict:
    return {name: each for name in names}


def scored(grades: list[str], liquidity=80.0, repayment=60.0) -> pl.DataFrame:
    """One bond per grade: PSU (government, 0.3 liquidity) then NBFC (financial, 0.7)."""
    bonds = [f"B{i}" for i in range(len(grades))]
    sectors = ["PSU", "NBFC"] * len(grades)
    liquidity_names = [f.name for f in LIQUIDITY_FEATURES]
    repayment_names = [f.name for f in REPAYMENT_FEATURES]
    liq = pl.DataFrame(
        {
            "day": [0] * len(bonds),
            "instrument": bonds,
            "liquidity": [liquidity] * len(bonds),
            "liquidity_uncertainty": [3.0] * len(bonds),
            # Seven features at 30 / 7 points each: 80 = 50 + 30.
            "liquidity_points": [points(liquidity_names, 30 / 7)] * len(bonds),
        },
        schema_overrides={"day": pl.Int32},
    )
    rep = pl.DataFrame(
        {
            "day": [0] * len(bonds),
            "issuer": bonds,
            "repayment": [repayment] * len(bonds),
            "repayment_uncertainty": [4.0] * len(bonds),
            "repayment_points": [points(repayment_names, 10 / 9)] * len(bonds),
            "repayment_drivers": [[]] * len(bonds),
            "rating": grades,
            "grade": grades,
        },
        schema_overrides={"day": pl.Int32, "repayment_drivers": pl.List(pl.Int64)},
    )
    instruments = pl.DataFrame({"symbol": bonds, "issuer": bonds, "sector": sectors[: len(bonds)]})
    return combine(liq, rep, instruments, PulseWeights())


def test_the_score_weighs_the_indices_by_sector_group():
    got = scored(["AAA", "AAA"])
    assert got["sector_group"].to_list() == ["government", "financial"]
    assert got["score"].to_list() == pytest.approx([0.3 * 80 + 0.7 * 60, 0.7 * 80 + 0.3 * 60])
    assert got["score_uncertainty"][0] == pytest.approx(((0.3 * 3) ** 2 + (0.7 * 4) ** 2) ** 0.5)


def test_the_score_is_50_plus_its_points_and_the_rating_adjustment_is_a_driver():
    got = scored(["BIG", "BIG"])
    assert got["score"].to_list() == pytest.approx([66 - 10, 74 - 10])
    total = got["score_points"].struct.unnest().sum_horizontal()
    assert (50 + total).to_list() == pytest.approx(got["score"].to_list())
    assert {"feature": "rating_adjustment", "points": -10.0} in got["score_drivers"][0].to_list()


def test_a_bond_in_default_scores_0():
    assert scored(["D", "D"])["score"].to_list() == [0.0, 0.0]
