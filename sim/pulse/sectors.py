"""The universe's sectors mapped onto the four groups the combined score weighs: financial,
utilities, industrial and government.

The shipped scenarios' sectors map as: NBFC and Housing Finance -> financial (lenders, whose
paper lives on funding liquidity); Infrastructure -> utilities (regulated, asset-backed cash
flows: power, roads, ports); Manufacturing -> industrial; PSU -> government (state-owned,
quasi-sovereign). Any other name is matched by keyword, first match winning: bank, financ,
nbfc, insur, housing, lend, credit -> financial; infra, power, energy, util, water, telecom,
road, port -> utilities; psu, gov, sovereign, state-owned, municipal, g-sec, gilt -> government;
everything else (and no sector) -> industrial.
"""

from __future__ import annotations

import polars as pl

_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("financial", ("bank", "financ", "nbfc", "insur", "housing", "lend", "credit")),
    ("utilities", ("infra", "power", "energy", "util", "water", "telecom", "road", "port")),
    ("government", ("psu", "gov", "sovereign", "state-owned", "municipal", "g-sec", "gilt")),
)


def sector_group(sector: str | None) -> str:
    """The group of `sector` (see the module's docstring)."""
    name = (sector or "").lower()
    for group, words in _KEYWORDS:
        if any(word in name for word in words):
            return group
    return "industrial"


def sector_groups(sectors: pl.Series) -> pl.Series:
    """`sector_group` of each sector (a String series), as a series named sector_group."""
    sectors = sectors.fill_null("")
    names = sectors.unique().to_list()
    return sectors.replace_strict(
        {name: sector_group(name) for name in names}, return_dtype=pl.String
    ).alias("sector_group")
