"""Scenario files: TOML in, an immutable, fully resolved and hashable `Scenario` out.

A scenario file has the sections ``[run]``, ``[calendar]``, ``[[instruments]]`` and/or
``[universe]``, ``[[venues]]``, ``[fundamentals]``, ``[recording]``, ``[[shocks]]``,
``[replay]`` (`sim.scenario.replay`), ``[calibration]`` (`sim.scenario.calibration`) and
``[pulse]`` (the Liquidity Pulse's weights and settings, `PulseSpec`); every
other top-level table is an agent population named after a registered agent kind
(`sim.scenario.registry.agent_kinds`) and is validated by that kind's parameter model. A
second population of a kind takes a name of its own and says its kind (``[wide_makers]`` with
``kind = "market_maker"``); its agents and metrics are reported under that name.

Loading resolves everything a run needs: a generated ``[universe]`` becomes explicit
instruments (appended after the listed ones) and a venue listing ``"*"`` becomes every symbol.
``Scenario.to_dict()`` is the resolved scenario as JSON-ready data laid out like a scenario
file (`scenario_from_dict` reads it back to an equal scenario) and ``Scenario.hash`` is the
sha256 of its canonical JSON.

Seeds: ``run.seed`` is the run's default seed; a run may be given another one (``--seed``)
without changing the scenario. The universe is drawn from ``universe.seed``, else ``run.seed``
as written in the file, so ``--seed`` never changes the bonds (``--set run.seed=...`` does,
unless ``universe.seed`` is set).

Overrides are ``key.path=value`` strings (``sip.buffer_fraction=0.3``,
``venues.0.fees.taker_bps=2``) applied to the file's data before validation. The value is read
as a TOML value, else taken as a bare string; missing tables are created.

Every problem is reported, one line each: ``FILE: field.path: reason``, or
``--set OVERRIDE: field.path: reason`` when the override put the bad value there.

The sections are defined here, apart from the bonds (``[[instruments]]`` and ``[universe]``,
in `sim.scenario.universe`); reading TOML, overrides and error lines are `sim.scenario.config`'s.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, Strict, ValidationError, model_validator

from sim.errors import BondlabError
from sim.pulse.params import PulseParams
from sim.scenario import library
from sim.scenario.calibration import CalibrationSpec, input_free_parameters
from sim.scenario.config import (
    HHMM,
    ConfigModel,
    Dec,
    Float,
    Int,
    InvalidField,
    TomlFileError,
    apply_override,
    closest,
    format_problem,
    pydantic_problems,
    read_toml,
)
from sim.scenario.registry import agent_kinds
from sim.scenario.replay import ReplaySpec
from sim.scenario.shocks import BOND_SHOCKS, ISSUER_SHOCKS, VENUE_SHOCKS, Shock, SpreadShock
from sim.scenario.universe import (
    BOND_TERMS,
    InstrumentSpec,
    Universe,
    generate_universe,
)

# Scenario files speak this bond vocabulary, so it stays importable from here.
from sim.scenario.universe import RATINGS as RATINGS
from sim.scenario.universe import DayCount as DayCount


class ScenarioError(BondlabError, ValueError):
    """A scenario that cannot be used; ``problems`` holds one line per problem."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


TierName = Literal["bronze", "silver", "gold", "platinum"]
Bps = Annotated[Dec, Field(gt=-100, lt=100, decimal_places=2)]


class Run(ConfigModel):
    """``[run]``: the scenario's name and default seed."""

    name: str = Field(pattern=r"^[a-z0-9_-]+$", max_length=64)
    seed: Int = Field(1, ge=0, lt=2**63)


class CalendarSpec(ConfigModel):
    """``[calendar]``: ``days`` trading days from ``start`` (weekends and holidays skipped),
    each with one session from ``open`` to ``close`` (local wall times)."""

    start: date = Field(ge=date(1900, 1, 1), le=date(2200, 12, 31))
    days: Int = Field(ge=1, le=2600)
    open: HHMM = time(9, 15)
    close: HHMM = time(15, 30)
    holidays: tuple[date, ...] = ()

    @model_validator(mode="after")
    def _close_after_open(self) -> CalendarSpec:
        if self.close <= self.open:
            raise InvalidField(
                "close", f"must be after open ({self.open:%H:%M}) (got {self.close:%H:%M})"
            )
        return self


class Fees(ConfigModel):
    """``[venues.fees]``: basis points of notional; a tier's negative maker fee is a rebate."""

    maker_bps: Bps = Field(Decimal(0), ge=0)
    taker_bps: Bps = Field(Decimal(1), ge=0)
    tiers: dict[TierName, Bps] = Field(
        default_factory=lambda: {
            "bronze": Decimal(0),
            "silver": Decimal("-0.1"),
            "gold": Decimal("-0.2"),
            "platinum": Decimal("-0.3"),
        }
    )

    @model_validator(mode="after")
    def _rebates_within_taker(self) -> Fees:
        for tier, bps in self.tiers.items():
            if bps + self.taker_bps < 0:
                raise InvalidField(
                    f"tiers.{tier}",
                    f"a rebate of {-bps} bp exceeds taker_bps ({self.taker_bps}) (got {bps})",
                )
        return self


class PriceBandSpec(ConfigModel):
    """``[venues.price_band]``: orders beyond ``limit_pct`` of the reference are rejected; a
    trade beyond ``halt_pct`` halts the instrument for ``halt_minutes``."""

    limit_pct: Float = Field(10.0, gt=0, lt=100)
    halt_pct: Float = Field(5.0, gt=0, lt=100)
    halt_minutes: Float = Field(15.0, gt=0, le=1440)

    @model_validator(mode="after")
    def _halt_within_limit(self) -> PriceBandSpec:
        if self.halt_pct > self.limit_pct:
            raise InvalidField(
                "halt_pct", f"must be <= limit_pct ({self.limit_pct}) (got {self.halt_pct})"
            )
        return self


class LatencySpec(ConfigModel):
    """``[venues.latency]``: one-way venue latency, a fixed base plus seeded jitter."""

    base_us: Float = Field(100.0, ge=0, le=10_000_000)
    jitter_us: Float = Field(0.0, ge=0, le=10_000_000)


class VenueSpec(ConfigModel):
    """``[[venues]]``: a venue, the symbols it lists (``"*"``: all) and its rules."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$", max_length=32)
    listings: tuple[str, ...] = Field(("*",), min_length=1)
    settlement_lag_days: Int = Field(1, ge=0, le=2)
    market_protection_pct: Float = Field(5.0, gt=0, lt=100)
    fees: Fees = Fees()
    price_band: PriceBandSpec | None = None
    latency: LatencySpec = LatencySpec()


class MeanRevertingFundamentals(ConfigModel):
    """Equity-style value: mean reversion to ``r_bar`` with jumps, observed with noise (as
    ABIDES' oracle). ``r_bar`` defaults to each instrument's reference price."""

    kind: Literal["mean_reverting"]
    r_bar: Dec | None = Field(None, gt=0, le=10_000)
    kappa_per_second: Float = Field(1.67e-7, ge=1.67e-16, le=1)  # ABIDES RMSC04's 1.67e-16/ns
    sigma_s: Float = Field(0.0, ge=0)
    jump_rate_per_day: Float = Field(0.0, ge=0, le=1000)
    jump_mean_pct: Float = Field(0.0, ge=-50, le=50)
    jump_sd_pct: Float = Field(1.0, ge=0, le=50)
    observation_noise: Float = Field(0.0, ge=0)


class BondFundamentals(ConfigModel):
    """Bond fair value from the pricing engine, driven by a level/slope curve factor model and
    rating-spread dynamics (rates as decimals, kappas per year). ``recovery``: what a defaulted
    bond is worth, as a share of face, unless its default shock says otherwise."""

    kind: Literal["bond"]
    short_rate: Float = Field(0.065, ge=-0.05, le=0.5)
    level_kappa: Float = Field(0.2, ge=0, le=100)
    level_vol_bp_per_day: Float = Field(3.0, ge=0, le=1000)
    slope: Float = Field(0.01, ge=-0.2, le=0.2)
    slope_kappa: Float = Field(0.3, ge=0, le=100)
    slope_vol_bp_per_day: Float = Field(2.0, ge=0, le=1000)
    spread_vol_bp_per_day: Float = Field(1.5, ge=0, le=1000)
    downgrade_prob_per_year: Float = Field(0.05, ge=0, le=1)
    recovery: Float = Field(0.4, ge=0, le=1)


class ReplayFundamentals(ConfigModel):
    """A replay day's own price: the value of the replayed instrument is the recorded mid,
    mapped as the replayed orders are (`sim.fundamentals.recorded`). Needs a ``[replay]``
    with its orderbook file, and the replayed instrument as the only one."""

    kind: Literal["replay"]


Fundamentals = Annotated[
    MeanRevertingFundamentals | BondFundamentals | ReplayFundamentals, Field(discriminator="kind")
]


class Recording(ConfigModel):
    """``[recording]``: L2 book snapshots every ``book_interval_seconds``, ``book_depth`` deep;
    positions in agents.parquet marked at the published fair value (``marks = "fair_value"``)
    or at the books' mids (``"mid"``: `sim.analytics.attribution.mid_marks`)."""

    book_interval_seconds: Int = Field(60, ge=1, le=86_400)
    book_depth: Int = Field(5, ge=1, le=100)
    marks: Literal["fair_value", "mid"] = "fair_value"


class PulseSpec(PulseParams):
    """``[pulse]``: the Liquidity Pulse's weights and settings, every field of
    `sim.pulse.params.PulseParams` (its docstring and defaults), and ``enabled``: whether a run
    writes ``pulse.parquet`` beside its other files (`sim.records.result.Result.save`).

        [pulse]
        enabled = true                    # false: no pulse.parquet (Result.pulse computes it)
        intervals = ["1h", "1d"]
        [pulse.weights.liquidity]
        depth = 0.4                       # the features not written keep their defaults

    A scenario without the table uses the defaults and keeps the hash it had before the table
    existed."""

    enabled: Annotated[bool, Strict()] = True

    @property
    def params(self) -> PulseParams:
        """The settings without ``enabled``, as `sim.pulse.pulse` takes them."""
        return PulseParams(**{name: getattr(self, name) for name in PulseParams.model_fields})


class _Sections(ConfigModel):
    run: Run
    calendar: CalendarSpec
    instruments: tuple[InstrumentSpec, ...] = ()
    universe: Universe | None = None
    venues: tuple[VenueSpec, ...] = Field(min_length=1)
    fundamentals: Fundamentals = MeanRevertingFundamentals(kind="mean_reverting")
    recording: Recording = Recording()
    shocks: tuple[Shock, ...] = ()
    replay: ReplaySpec | None = None
    calibration: CalibrationSpec | None = None
    pulse: PulseSpec | None = None


SECTIONS = tuple(_Sections.model_fields)


@dataclass(frozen=True, eq=False)
class Scenario:
    """A validated, fully resolved scenario; equal scenarios have equal `hash`."""

    run: Run
    calendar: CalendarSpec
    instruments: tuple[InstrumentSpec, ...]
    venues: tuple[VenueSpec, ...]
    fundamentals: MeanRevertingFundamentals | BondFundamentals | ReplayFundamentals
    recording: Recording
    shocks: tuple[Shock, ...]
    populations: Mapping[str, BaseModel]  # in file order
    source: str = "scenario"  # where it came from, for messages; not part of the hash
    # population name -> agent kind, for populations not named after their kind
    kinds: Mapping[str, str] = field(default_factory=dict)
    replay: ReplaySpec | None = None
    calibration: CalibrationSpec | None = None
    pulse: PulseSpec | None = None  # None: the defaults
    hash: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "populations", MappingProxyType(dict(self.populations)))
        object.__setattr__(self, "kinds", MappingProxyType(dict(self.kinds)))
        # The JSON sorts keys, and the populations' order sets their seeds and accounts: the
        # order is hashed beside it, so that two files differing only in it differ in hash.
        order = list(self.populations)
        text = json.dumps([self.to_dict(), order], sort_keys=True, separators=(",", ":"))
        object.__setattr__(self, "hash", hashlib.sha256(text.encode()).hexdigest())

    @property
    def name(self) -> str:
        return self.run.name

    @property
    def seed(self) -> int:
        return self.run.seed

    def to_dict(self) -> dict[str, Any]:
        """The resolved scenario as JSON-ready data in the layout of a scenario file."""
        out: dict[str, Any] = {
            "run": _dump(self.run),
            "calendar": _dump(self.calendar),
            "instruments": [_dump(i) for i in self.instruments],
            "venues": [_dump(v) for v in self.venues],
            "fundamentals": _dump(self.fundamentals),
            "recording": _dump(self.recording),
            "shocks": [_dump(s) for s in self.shocks],
        }
        if self.replay is not None:  # absent, so that scenarios without one keep their hash
            out["replay"] = _dump(self.replay)
        if self.calibration is not None:  # the same: only files that have one
            out["calibration"] = _dump(self.calibration)
        if self.pulse is not None:  # and again
            out["pulse"] = _dump(self.pulse)
        for name, params in self.populations.items():
            table = params.model_dump(mode="json")  # None may be meaningful to a kind
            out[name] = {"kind": self.kinds[name], **table} if name in self.kinds else table
        return out

    def kind_of(self, population: str) -> str:
        """The agent kind of a population (its own name unless its table says ``kind``)."""
        return self.kinds.get(population, population)

    def __getstate__(self) -> dict[str, Any]:
        # a mappingproxy does not pickle, and process pools (sweeps) pickle scenarios
        return {**self.__dict__, "populations": dict(self.populations), "kinds": dict(self.kinds)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "populations", MappingProxyType(state["populations"]))
        object.__setattr__(self, "kinds", MappingProxyType(state["kinds"]))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Scenario) and other.hash == self.hash

    def __hash__(self) -> int:
        return hash(self.hash)


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True)  # our None means "the default"


def load_scenario(
    path: str | Path,
    overrides: Iterable[str] = (),
    tables: Mapping[str, Mapping[str, Any]] | None = None,
) -> Scenario:
    """Read, override, validate and resolve a scenario file, or a shipped scenario given by name
    (``"baseline"``: `sim.scenario.library`); `tables` are added to the file's before the
    overrides (a population a backtest adds, say; a table the file has already is refused).
    Raises `ScenarioError`."""
    try:
        path = library.locate(path)
        data = read_toml(path, what="scenario file")
    except (library.UnknownScenario, TomlFileError) as exc:
        raise ScenarioError([str(exc)]) from None
    for name, table in (tables or {}).items():
        if name in data:
            raise ScenarioError([f"{path}: [{name}]: the file has one already"])
        data[name] = copy.deepcopy(dict(table))
    return scenario_from_dict(data, source=str(path), overrides=overrides)


def scenario_from_dict(
    data: Mapping[str, Any], source: str = "scenario", overrides: Iterable[str] = ()
) -> Scenario:
    """Validate and resolve scenario data (a parsed file, or `Scenario.to_dict` output)."""
    doc = copy.deepcopy(dict(data))
    problems: list[str] = []
    applied: list[tuple[str, tuple]] = []
    for text in overrides or ():
        try:
            applied.append((text, apply_override(doc, text)))
        except ValueError as exc:
            problems.append(f"--set {text}: {exc}")
    errors: list[tuple[tuple, str]] = []  # (field path, reason)
    sections = {key: value for key, value in doc.items() if key in SECTIONS}
    try:
        spec = _Sections.model_validate(sections)
    except ValidationError as exc:
        spec = None
        errors += pydantic_problems(exc, _Sections, sections)
    populations, population_kinds = {}, {}
    kinds = agent_kinds()
    for name, table in doc.items():
        if name in SECTIONS:
            continue
        kind_name, table, problem = _population_kind(name, table, kinds)
        if problem:
            errors.append(problem)
            continue
        kind = kinds[kind_name]
        if kind_name != name:
            population_kinds[name] = kind_name
        try:
            populations[name] = kind.params.model_validate(table)
        except ValidationError as exc:
            errors += [
                ((name, *loc), why) for loc, why in pydantic_problems(exc, kind.params, table)
            ]
    if spec is not None:
        if spec.replay is not None:  # its files are named from the scenario file's folder
            spec = spec.model_copy(update={"replay": spec.replay.resolved(Path(source).parent)})
        instruments = spec.instruments
        if spec.universe is not None:
            instruments += generate_universe(spec.universe, spec.calendar.start, spec.run.seed)
        venues = tuple(_resolve_listings(v, instruments) for v in spec.venues)
        errors += _cross_checks(spec, instruments)
    problems += [format_problem(loc, why, source, applied) for loc, why in errors]
    if problems:
        raise ScenarioError(problems)
    return Scenario(
        run=spec.run,
        calendar=spec.calendar,
        instruments=instruments,
        venues=venues,
        fundamentals=spec.fundamentals,
        recording=spec.recording,
        shocks=spec.shocks,
        populations=populations,
        source=source,
        kinds=population_kinds,
        replay=spec.replay,
        calibration=spec.calibration,
        pulse=spec.pulse,
    )


def _population_kind(name: str, table: Any, kinds: Mapping[str, Any]):
    """(kind name, the table without its ``kind`` key, problem or None) of one population."""
    if not isinstance(table, Mapping) or "kind" not in table:
        if name in kinds:
            return name, table, None
        return name, table, ((name,), _unknown_kind(name, kinds))
    kind_name = table["kind"]
    rest = {key: value for key, value in table.items() if key != "kind"}
    if not isinstance(kind_name, str) or kind_name not in kinds:
        return name, rest, ((name, "kind"), _unknown_kind(str(kind_name), kinds))
    if name in kinds and name != kind_name:
        why = f"[{name}] is the {name} population; a {kind_name} population needs another name"
        return name, rest, ((name, "kind"), why)
    if not _POPULATION_NAME.match(name):
        why = "a population name is lower case letters, digits and _, starting with a letter"
        return name, rest, ((name,), why)
    return kind_name, rest, None


_POPULATION_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _unknown_kind(name: str, kinds: Mapping[str, Any]) -> str:
    close = closest(name, [*SECTIONS, *kinds])
    hint = f"did you mean {close}? " if close else ""
    return f"no agent kind {name!r} ({hint}known: {', '.join(kinds) or 'none registered'})"


# --- resolution and checks across sections ------------------------------------------------------


def _resolve_listings(venue: VenueSpec, instruments: tuple[InstrumentSpec, ...]) -> VenueSpec:
    if "*" not in venue.listings:
        return venue
    return venue.model_copy(update={"listings": tuple(i.symbol for i in instruments)})


def _cross_checks(spec: _Sections, instruments: tuple[InstrumentSpec, ...]) -> Iterator:
    """Problems between sections, as (field path, reason)."""
    if not instruments:
        yield ("instruments",), "at least one instrument is needed ([[instruments]] or [universe])"
    first: dict[str, int] = {}
    for i, instrument in enumerate(instruments):
        where = ("instruments", i)
        other = first.setdefault(instrument.symbol, i)
        if i >= len(spec.instruments):
            if other != i:
                yield (
                    ("universe",),
                    f"generated {instrument.symbol!r} clashes with instruments[{other}]",
                )
            continue
        if other != i:
            yield (*where, "symbol"), f"duplicate of instruments[{other}] ({instrument.symbol!r})"
        missing = [f for f in BOND_TERMS if getattr(instrument, f) is None]
        if spec.fundamentals.kind == "bond" and missing:
            yield where, f'{", ".join(missing)} required when fundamentals.kind = "bond"'
        if instrument.issue and instrument.issue > spec.calendar.start:
            yield (*where, "issue"), f"must be on or before calendar.start ({spec.calendar.start})"
        if instrument.maturity and instrument.maturity <= spec.calendar.start:
            yield (*where, "maturity"), f"must be after calendar.start ({spec.calendar.start})"
    names: set[str] = set()
    for v, venue in enumerate(spec.venues):
        if venue.name in names:
            yield ("venues", v, "name"), f"duplicate venue name {venue.name!r}"
        names.add(venue.name)
        for s, symbol in enumerate(venue.listings):
            if symbol != "*" and symbol not in first:
                yield ("venues", v, "listings", s), _unknown("instrument", symbol, first)
    cal = spec.calendar
    for k, shock in enumerate(spec.shocks):
        if shock.day >= cal.days:
            yield ("shocks", k, "day"), f"must be < calendar.days ({cal.days}) (got {shock.day})"
        if shock.at is not None and not cal.open <= shock.at < cal.close:
            yield (
                ("shocks", k, "at"),
                (
                    f"must be within the session {cal.open:%H:%M}-{cal.close:%H:%M} "
                    f"(got {shock.at:%H:%M})"
                ),
            )
        if isinstance(shock, BOND_SHOCKS) and spec.fundamentals.kind != "bond":
            yield ("shocks", k, "kind"), f'{shock.kind!r} needs fundamentals.kind = "bond"'
        listed = first
        if isinstance(shock, VENUE_SHOCKS):
            venue = next((v for v in spec.venues if v.name == shock.venue), None)
            if venue is None:
                yield ("shocks", k, "venue"), _unknown("venue", shock.venue, names)
            else:
                listed = dict.fromkeys(_resolve_listings(venue, instruments).listings)
        for s, symbol in enumerate(getattr(shock, "symbols", None) or ()):
            if symbol not in listed:
                yield ("shocks", k, "symbols", s), _unknown("instrument", symbol, listed)
        if isinstance(shock, ISSUER_SHOCKS):
            issuers = {i.issuer for i in instruments if i.issuer}
            if shock.issuer not in issuers:
                yield ("shocks", k, "issuer"), _unknown("issuer", shock.issuer, issuers)
        if isinstance(shock, SpreadShock):
            sectors = {i.sector for i in instruments if i.sector}
            for s, sector in enumerate(shock.sectors or ()):
                if sector not in sectors:
                    yield ("shocks", k, "sectors", s), _unknown("sector", sector, sectors)
    if spec.calibration is not None:
        for key, why in input_free_parameters(spec.calibration, spec.shocks):
            yield ("calibration", "free", key), why
        for t, target in enumerate(spec.calibration.targets):
            if target.shock_day is not None and target.shock_day >= cal.days:
                yield (
                    ("calibration", "targets", t, "shock_day"),
                    f"must be < calendar.days ({cal.days}) (got {target.shock_day})",
                )
    replay = spec.replay
    if spec.fundamentals.kind == "replay":
        if replay is None:
            yield ("fundamentals", "kind"), 'is "replay", which needs a [replay] section'
        elif [i.symbol for i in instruments] != [replay.symbol]:
            yield (
                ("fundamentals", "kind"),
                f'is "replay": the replayed {replay.symbol!r} must be the only instrument',
            )
        elif replay.orderbook_file is None:
            yield ("replay", "orderbook_file"), 'needed when fundamentals.kind = "replay"'
    if replay is not None:
        venue = next((v for v in spec.venues if v.name == replay.venue), None)
        listed = () if venue is None else _resolve_listings(venue, instruments).listings
        if venue is None:
            yield ("replay", "venue"), _unknown("venue", replay.venue, names)
        elif replay.symbol not in listed:
            close = closest(replay.symbol, listed)
            hint = f" (did you mean {close}?)" if close else ""
            yield ("replay", "symbol"), f"{replay.symbol!r} is not listed on {venue.name}{hint}"
        else:
            lot = instruments[first[replay.symbol]].lot_size
            if replay.units_per_share % lot:
                why = f"must be a multiple of {replay.symbol}'s lot size {lot}"
                yield ("replay", "units_per_share"), f"{why} (got {replay.units_per_share})"


def _unknown(what: str, name: str, known: Iterable[str]) -> str:
    close = closest(name, known)
    return f"unknown {what} {name!r}" + (f" (did you mean {close}?)" if close else "")
