"""The study's market and its two conditions: the calm market and covid_2020's stress.

The study scenario (``scenarios/sip_buffer_study.toml``) carries covid_2020's shocks on the
same days with the same paths at sizes that do nothing; the "covid_2020" condition sets each
to covid_2020's size with ``--set`` overrides read from that file here, so the study follows
covid_2020 when it is refitted. A reference shock of a kind the study leaves out (its
repo_haircut: the study market has no repo desk) is skipped; every study shock must find its
reference shock, of the same kind and day, with the same path and targets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sim.scenario.model import Scenario, load_scenario
from sim.studies.sweep import SweepError

STUDY_SCENARIO = "sip_buffer_study"
REFERENCE_SCENARIO = "covid_2020"
CALM = "baseline"
STRESS = "covid_2020"
# What places a shock in time and in the market, rather than sizing it: it must match.
_PLACING = (
    "kind",
    "day",
    "at",
    "path",
    "ratings",
    "sectors",
    "symbols",
    "issuer",
    "venue",
    "short_pivot_years",
    "long_pivot_years",
    "belly_years",
)


@dataclass(frozen=True)
class Condition:
    """A market the buffer is swept under: a name and the overrides that make it."""

    name: str
    overrides: tuple[str, ...] = ()


def _value_text(value) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(value)
    return repr(float(value)) if isinstance(value, float) else str(value)


def stress_overrides(study: Scenario, reference: Scenario) -> tuple[str, ...]:
    """``shocks.I.FIELD=VALUE`` overrides that give each of `study`'s shocks the size of its
    counterpart in `reference` (the next reference shock of the same kind and day, in order).
    Raises `SweepError` when a study shock has none, or differs in where or when it acts."""
    overrides: list[str] = []
    position = 0
    for i, shock in enumerate(study.shocks):
        mine = shock.model_dump()
        for j in range(position, len(reference.shocks)):
            theirs = reference.shocks[j].model_dump()
            if (theirs["kind"], theirs["day"]) == (mine["kind"], mine["day"]):
                position = j + 1
                break
        else:
            raise SweepError(
                f"{study.name}: shocks[{i}] ({mine['kind']} on day {mine['day']}) has no "
                f"counterpart in {reference.name}"
            )
        for field in sorted(mine):
            if mine[field] == theirs[field]:
                continue
            if field in _PLACING:
                raise SweepError(
                    f"{study.name}: shocks[{i}].{field} differs from {reference.name}'s "
                    f"shocks[{j}].{field} ({mine[field]!r} against {theirs[field]!r})"
                )
            try:
                overrides.append(f"shocks.{i}.{field}={_value_text(theirs[field])}")
            except TypeError:
                raise SweepError(
                    f"{study.name}: shocks[{i}].{field} is not a size the study can set"
                ) from None
    return tuple(overrides)


def conditions(
    study: str | Path = STUDY_SCENARIO, reference: str | Path = REFERENCE_SCENARIO
) -> tuple[Condition, Condition]:
    """The calm market (the study scenario as written) and the stressed one (its shocks at
    `reference`'s sizes)."""
    stress = stress_overrides(load_scenario(study), load_scenario(reference))
    return Condition(CALM), Condition(STRESS, stress)


def quick_overrides(study: Scenario, days: int = 6) -> tuple[str, ...]:
    """A tiny version of the study market for a smoke run (`--quick`): `days` trading days,
    its shocks' days scaled into them, 2 bonds, few agents, SIP dates every other day and a
    hazard high enough to see exits in a week."""
    scale = days / study.calendar.days
    shock_days = [f"shocks.{i}.day={int(s.day * scale)}" for i, s in enumerate(study.shocks)]
    return (
        f"calendar.days={days}",
        *shock_days,
        "universe.count=2",
        "retail.count=20",
        "value.count=2",
        "market_maker.requote_seconds=900",
        "sip.investors=200",
        "sip.sip_interval_days=2",
        "sip.exit_hazard_per_year=5",
    )
