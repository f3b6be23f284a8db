"""Scenario files: TOML in, an immutable, fully resolved and hashable `Scenario` out.

A scenario file has the sections ``[run]``, ``[calendar]``, ``[[instruments]]`` and/or
``[universe]``, ``[[venues]]``, ``[fundamentals]``, ``[recording]`` and ``[[shocks]]``; every
other top-level table is an agent population named after a registered agent kind
(`sim.registry.agent_kinds`) and is validated by that kind's parameter model.

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
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import re
import tomllib
import typing
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    AfterValidator,
    AllowInfNan,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    Strict,
    ValidationError,
    model_validator,
)

from sim.registry import agent_kinds

# The values of sim.pricing.Rating and sim.pricing.CONVENTIONS, written out so that loading a
# scenario does not import the pricing engine (scipy, numba); a test keeps them in step.
Rating = Literal["AAA", "AA+", "AA", "AA-", "A+", "A", "A-", "BBB+", "BBB", "BBB-", "BIG", "D"]
DayCount = Literal["30/360", "30E/360", "ACT/ACT-ICMA", "ACT/ACT-ISDA", "ACT/365F", "ACT/ACT-SEBI"]
RATINGS: tuple[str, ...] = typing.get_args(Rating)
BOND_TERMS = ("issuer", "sector", "rating", "coupon", "issue", "maturity", "frequency", "day_count")


class ScenarioError(ValueError):
    """A scenario that cannot be used; ``problems`` holds one line per problem."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


class _Invalid(ValueError):
    """A failed check across fields, reported on ``field`` (dotted, relative to the model)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


def _hhmm(value: object) -> object:
    if isinstance(value, str) and re.fullmatch(r"\d{2}:\d{2}", value):
        hours, minutes = int(value[:2]), int(value[3:])
        if hours < 24 and minutes < 60:
            return time(hours, minutes)
    if isinstance(value, time) and not (value.second or value.microsecond or value.tzinfo):
        return value
    raise ValueError(f'must be a time of day "HH:MM" (got {value!r})')


def _canonical(number: Decimal) -> Decimal:
    return Decimal(format(number.normalize(), "f"))  # "0.010" and "0.01" hash alike


Int = Annotated[int, Strict()]  # TOML integers only: no booleans, no 5.0
Float = Annotated[float, Strict(), AllowInfNan(False)]  # integers welcome, no inf or nan
Dec = Annotated[Decimal, AllowInfNan(False), AfterValidator(_canonical)]
HHMM = Annotated[
    time, BeforeValidator(_hhmm), PlainSerializer(lambda t: f"{t:%H:%M}", when_used="json")
]
Tier = Literal["bronze", "silver", "gold", "platinum"]
Bps = Annotated[Dec, Field(gt=-100, lt=100, decimal_places=2)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Run(_Model):
    """``[run]``: the scenario's name and default seed."""

    name: str = Field(pattern=r"^[a-z0-9_-]+$", max_length=64)
    seed: Int = Field(1, ge=0, lt=2**63)


class CalendarSpec(_Model):
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
            raise _Invalid(
                "close", f"must be after open ({self.open:%H:%M}) (got {self.close:%H:%M})"
            )
        return self


class _Contract(_Model):
    """Price grid and unit size shared by instruments and the universe."""

    tick_size: Dec = Field(Decimal("0.01"), gt=0, le=100)  # rupees per 100 face
    lot_size: Int = Field(1, ge=1, le=1_000_000)
    unit_face_value: Int = Field(1000, ge=1, le=10**9)  # rupees of face per unit

    @model_validator(mode="after")
    def _whole_paise(self) -> _Contract:
        paise = self.tick_size * self.unit_face_value  # paise per tick per unit
        if paise != paise.to_integral_value():
            raise _Invalid(
                "tick_size",
                f"one tick ({self.tick_size} per 100 face) on a unit of {self.unit_face_value} "
                f"rupees face is {paise} paise; it must be whole paise",
            )
        return self


class InstrumentSpec(_Contract):
    """``[[instruments]]``: a listed bond; prices are per 100 face. The bond fields are needed
    by the ``bond`` fundamental."""

    symbol: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.&-]*$", max_length=32)
    reference_price: Dec = Field(gt=0, le=10_000)
    issuer: str | None = Field(None, min_length=1)
    sector: str | None = Field(None, min_length=1)
    rating: Rating | None = None
    coupon: Float | None = Field(None, ge=0, le=0.5)
    issue: date | None = None
    maturity: date | None = None
    frequency: Literal[1, 2, 4] | None = None
    day_count: DayCount | None = None

    @model_validator(mode="after")
    def _consistent(self) -> InstrumentSpec:
        if self.reference_price % self.tick_size:
            raise _Invalid(
                "reference_price",
                f"must be on the tick grid, a multiple of {self.tick_size} "
                f"(got {self.reference_price})",
            )
        if self.issue and self.maturity and self.maturity <= self.issue:
            raise _Invalid("maturity", f"must be after issue ({self.issue}) (got {self.maturity})")
        return self


class Universe(_Contract):
    """``[universe]``: ``count`` generated bonds, resolved at load (see `generate_universe`)."""

    count: Int = Field(ge=1, le=10_000)
    seed: Int | None = Field(None, ge=0, lt=2**63)
    ratings: dict[Rating, Annotated[Float, Field(ge=0)]] = Field(
        default_factory=lambda: {"AAA": 0.2, "AA+": 0.2, "AA": 0.2, "A": 0.2, "BBB": 0.2},
        min_length=1,
    )
    sectors: tuple[Annotated[str, Field(min_length=1)], ...] = Field(
        ("NBFC", "PSU", "Infrastructure", "Manufacturing"), min_length=1
    )
    issuers_per_sector: Int = Field(2, ge=1, le=100)
    coupon_range: tuple[Annotated[Float, Field(ge=0, le=0.5)], Float] = (0.07, 0.11)
    maturity_years: tuple[Annotated[Float, Field(ge=0.25, le=50)], Float] = (2.0, 10.0)

    @model_validator(mode="after")
    def _consistent(self) -> Universe:
        if sum(self.ratings.values()) <= 0:
            raise _Invalid("ratings", "needs a positive weight")
        prefixes = [_sector_prefix(s) for s in self.sectors]
        for i, prefix in enumerate(prefixes):
            if not prefix or prefix in prefixes[:i]:
                raise _Invalid(
                    f"sectors.{i}",
                    f"needs letters or digits that start a symbol prefix of its own "
                    f"(got {self.sectors[i]!r}, prefix {prefix!r})",
                )
        for name, (low, high), cap in (
            ("coupon_range", self.coupon_range, 0.5),
            ("maturity_years", self.maturity_years, 50),
        ):
            if not low <= high <= cap:
                raise _Invalid(name, f"needs low <= high <= {cap} (got [{low}, {high}])")
        return self


class Fees(_Model):
    """``[venues.fees]``: basis points of notional; a tier's negative maker fee is a rebate."""

    maker_bps: Bps = Field(Decimal(0), ge=0)
    taker_bps: Bps = Field(Decimal(1), ge=0)
    tiers: dict[Tier, Bps] = Field(
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
                raise _Invalid(
                    f"tiers.{tier}",
                    f"a rebate of {-bps} bp exceeds taker_bps ({self.taker_bps}) (got {bps})",
                )
        return self


class PriceBandSpec(_Model):
    """``[venues.price_band]``: orders beyond ``limit_pct`` of the reference are rejected; a
    trade beyond ``halt_pct`` halts the instrument for ``halt_minutes``."""

    limit_pct: Float = Field(10.0, gt=0, lt=100)
    halt_pct: Float = Field(5.0, gt=0, lt=100)
    halt_minutes: Float = Field(15.0, gt=0, le=1440)

    @model_validator(mode="after")
    def _halt_within_limit(self) -> PriceBandSpec:
        if self.halt_pct > self.limit_pct:
            raise _Invalid(
                "halt_pct", f"must be <= limit_pct ({self.limit_pct}) (got {self.halt_pct})"
            )
        return self


class Latency(_Model):
    """``[venues.latency]``: one-way venue latency, a fixed base plus seeded jitter."""

    base_us: Float = Field(100.0, ge=0, le=10_000_000)
    jitter_us: Float = Field(0.0, ge=0, le=10_000_000)


class VenueSpec(_Model):
    """``[[venues]]``: a venue, the symbols it lists (``"*"``: all) and its rules."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$", max_length=32)
    listings: tuple[str, ...] = Field(("*",), min_length=1)
    settlement_lag_days: Int = Field(1, ge=0, le=2)
    market_protection_pct: Float = Field(5.0, gt=0, lt=100)
    fees: Fees = Fees()
    price_band: PriceBandSpec | None = None
    latency: Latency = Latency()


class MeanRevertingFundamentals(_Model):
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


class BondFundamentals(_Model):
    """Bond fair value from the pricing engine, driven by a level/slope curve factor model and
    rating-spread dynamics (rates as decimals, kappas per year)."""

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


Fundamentals = Annotated[MeanRevertingFundamentals | BondFundamentals, Field(discriminator="kind")]


class Recording(_Model):
    """``[recording]``: L2 book snapshots every ``book_interval_seconds``, ``book_depth`` deep."""

    book_interval_seconds: Int = Field(60, ge=1, le=86_400)
    book_depth: Int = Field(5, ge=1, le=100)


class _Shock(_Model):
    """On trading day ``day`` (0-based) at ``at`` (default: the open); ``path`` holds points
    (day offset, fraction of full size), linear in between and flat after the last."""

    day: Int = Field(ge=0)
    at: HHMM | None = None
    path: tuple[tuple[Float, Float], ...] = Field(((0.0, 1.0),), min_length=1)

    @model_validator(mode="after")
    def _path_increasing(self) -> _Shock:
        offsets = [offset for offset, _ in self.path]
        if offsets[0] < 0 or any(b <= a for a, b in pairwise(offsets)):
            raise _Invalid("path", f"day offsets must be >= 0 and increasing (got {offsets})")
        return self


class RatesParallelShock(_Shock):
    """Every tenor of the risk-free curve moves by ``size_bp``."""

    kind: Literal["rates_parallel"]
    size_bp: Float = Field(ge=-5000, le=5000)


class RatesTwistShock(_Shock):
    """Tenors up to the short pivot move ``short_bp``, from the long pivot on ``long_bp``."""

    kind: Literal["rates_twist"]
    short_bp: Float = Field(ge=-5000, le=5000)
    long_bp: Float = Field(ge=-5000, le=5000)
    short_pivot_years: Float = Field(2.0, ge=0, le=50)
    long_pivot_years: Float = Field(10.0, ge=0, le=50)

    @model_validator(mode="after")
    def _pivots_ordered(self) -> RatesTwistShock:
        if self.short_pivot_years >= self.long_pivot_years:
            raise _Invalid(
                "long_pivot_years",
                f"must be > short_pivot_years ({self.short_pivot_years}) "
                f"(got {self.long_pivot_years})",
            )
        return self


class RatesButterflyShock(_Shock):
    """The wings move ``wings_bp`` and the belly ``belly_bp``, linear in tenor between."""

    kind: Literal["rates_butterfly"]
    wings_bp: Float = Field(ge=-5000, le=5000)
    belly_bp: Float = Field(ge=-5000, le=5000)
    short_pivot_years: Float = Field(2.0, ge=0, le=50)
    belly_years: Float = Field(5.0, ge=0, le=50)
    long_pivot_years: Float = Field(10.0, ge=0, le=50)

    @model_validator(mode="after")
    def _tenors_ordered(self) -> RatesButterflyShock:
        if not self.short_pivot_years < self.belly_years < self.long_pivot_years:
            raise _Invalid(
                "belly_years",
                f"must lie strictly between short_pivot_years ({self.short_pivot_years}) and "
                f"long_pivot_years ({self.long_pivot_years}) (got {self.belly_years})",
            )
        return self


class SpreadShock(_Shock):
    """Credit spreads of the given ratings (default: all) widen by ``size_bp``."""

    kind: Literal["spread"]
    size_bp: Float = Field(ge=-5000, le=5000)
    ratings: tuple[Rating, ...] | None = Field(None, min_length=1)


class FundamentalJumpShock(_Shock):
    """The fundamental value of the given symbols (default: all) jumps by ``size_pct``."""

    kind: Literal["fundamental_jump"]
    size_pct: Float = Field(gt=-100, le=1000)
    symbols: tuple[str, ...] | None = Field(None, min_length=1)


class PanicShock(_Shock):
    """Retail panic of the given ``intensity`` (0: calm, 1: everyone runs)."""

    kind: Literal["panic"]
    intensity: Float = Field(ge=0, le=1)


class LiquidityWithdrawalShock(_Shock):
    """Market makers withdraw ``fraction`` of their quoting."""

    kind: Literal["liquidity_withdrawal"]
    fraction: Float = Field(ge=0, le=1)


Shock = Annotated[
    RatesParallelShock
    | RatesTwistShock
    | RatesButterflyShock
    | SpreadShock
    | FundamentalJumpShock
    | PanicShock
    | LiquidityWithdrawalShock,
    Field(discriminator="kind"),
]


class _Sections(_Model):
    run: Run
    calendar: CalendarSpec
    instruments: tuple[InstrumentSpec, ...] = ()
    universe: Universe | None = None
    venues: tuple[VenueSpec, ...] = Field(min_length=1)
    fundamentals: Fundamentals = MeanRevertingFundamentals(kind="mean_reverting")
    recording: Recording = Recording()
    shocks: tuple[Shock, ...] = ()


SECTIONS = tuple(_Sections.model_fields)


@dataclass(frozen=True, eq=False)
class Scenario:
    """A validated, fully resolved scenario; equal scenarios have equal `hash`."""

    run: Run
    calendar: CalendarSpec
    instruments: tuple[InstrumentSpec, ...]
    venues: tuple[VenueSpec, ...]
    fundamentals: MeanRevertingFundamentals | BondFundamentals
    recording: Recording
    shocks: tuple[_Shock, ...]
    populations: Mapping[str, BaseModel]  # in file order
    source: str = "scenario"  # where it came from, for messages; not part of the hash
    hash: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "populations", MappingProxyType(dict(self.populations)))
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
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
        for name, params in self.populations.items():
            out[name] = params.model_dump(mode="json")  # None may be meaningful to a kind
        return out

    def __getstate__(self) -> dict[str, Any]:
        # a mappingproxy does not pickle, and process pools (sweeps) pickle scenarios
        return {**self.__dict__, "populations": dict(self.populations)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "populations", MappingProxyType(state["populations"]))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Scenario) and other.hash == self.hash

    def __hash__(self) -> int:
        return hash(self.hash)


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True)  # our None means "the default"


def load_scenario(path: str | Path, overrides: Iterable[str] = ()) -> Scenario:
    """Read, override, validate and resolve a scenario file; raises `ScenarioError`."""
    source = str(path)
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ScenarioError([f"{source}: no such file"]) from None
    except IsADirectoryError:
        raise ScenarioError([f"{source}: is a directory, not a scenario file"]) from None
    except OSError as exc:
        raise ScenarioError([f"{source}: cannot read ({exc.strerror})"]) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError([f"{source}: not UTF-8 text (byte {exc.start})"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([f"{source}: {_toml_problem(str(exc))}"]) from None
    return scenario_from_dict(data, source=source, overrides=overrides)


def _toml_problem(message: str) -> str:
    found = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if found is None:  # tomllib reports "(at end of document)" for some errors
        return f"invalid TOML ({message[:1].lower()}{message[1:]})"
    reason = message[: found.start()]
    return f"line {found[1]}, column {found[2]}: invalid TOML ({reason[:1].lower()}{reason[1:]})"


def scenario_from_dict(
    data: Mapping[str, Any], source: str = "scenario", overrides: Iterable[str] = ()
) -> Scenario:
    """Validate and resolve scenario data (a parsed file, or `Scenario.to_dict` output)."""
    doc = copy.deepcopy(dict(data))
    problems: list[str] = []
    applied: list[tuple[str, tuple]] = []
    for text in overrides or ():
        try:
            applied.append((text, _apply_override(doc, text)))
        except ValueError as exc:
            problems.append(f"--set {text}: {exc}")
    errors: list[tuple[tuple, str]] = []  # (field path, reason)
    sections = {key: value for key, value in doc.items() if key in SECTIONS}
    try:
        spec = _Sections.model_validate(sections)
    except ValidationError as exc:
        spec = None
        errors += _pydantic_errors(exc, _Sections, sections)
    populations = {}
    kinds = agent_kinds()
    for name, table in doc.items():
        if name in SECTIONS:
            continue
        kind = kinds.get(name)
        if kind is None:
            errors.append(((name,), _unknown_kind(name, kinds)))
            continue
        try:
            populations[name] = kind.params.model_validate(table)
        except ValidationError as exc:
            errors += [
                ((name, *loc), why) for loc, why in _pydantic_errors(exc, kind.params, table)
            ]
    if spec is not None:
        instruments = spec.instruments
        if spec.universe is not None:
            instruments += generate_universe(spec.universe, spec.calendar.start, spec.run.seed)
        venues = tuple(_resolve_listings(v, instruments) for v in spec.venues)
        errors += _cross_checks(spec, instruments)
    problems += [_format(loc, why, source, applied) for loc, why in errors]
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
    )


def _format(loc: tuple, reason: str, source: str, applied: list[tuple[str, tuple]]) -> str:
    for text, key in reversed(applied):  # the last override of a path is the one that stuck
        if loc[: len(key)] == key:
            source = f"--set {text}"
            break
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
    return f"{source}: {path.lstrip('.')}: {reason}" if path else f"{source}: {reason}"


def _unknown_kind(name: str, kinds: Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(name, [*SECTIONS, *kinds], n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    return f"no agent kind {name!r} ({hint}known: {', '.join(kinds) or 'none registered'})"


# --- overrides --------------------------------------------------------------------------------


def _apply_override(doc: dict[str, Any], text: str) -> tuple:
    """Set ``key.path=value`` in ``doc``, creating missing tables; raises ValueError. Returns
    the path the override answers for: its key, or the first table it created."""
    key, sep, raw = text.partition("=")
    parts = key.strip().split(".")
    if not sep or not all(parts):
        raise ValueError("expected key.path=value, e.g. sip.buffer_fraction=0.3")
    loc: list[str | int] = []
    created = 0  # length of the path to the first table created, if any
    node: Any = doc
    for i, part in enumerate(parts):
        above = ".".join(parts[:i])
        if isinstance(node, list):
            if not part.isdigit():
                raise ValueError(f"{above} is an array: use an index, not {part!r}")
            if int(part) >= len(node):
                raise ValueError(f"{above} has no index {part} ({len(node)} entries)")
            step: str | int = int(part)
        elif isinstance(node, dict):
            step = part
            if i < len(parts) - 1 and part not in node:
                node[part] = {}
                created = created or i + 1
        else:
            raise ValueError(f"{above} is a value, not a table")
        loc.append(step)
        if i == len(parts) - 1:
            node[step] = _parse_value(raw)
        else:
            node = node[step]
    return tuple(loc[: created or None])


def _parse_value(text: str) -> Any:
    text = text.strip()
    try:
        parsed = tomllib.loads(f"value = {text}")
    except tomllib.TOMLDecodeError:
        return text
    return parsed["value"] if parsed.keys() == {"value"} else text


# --- pydantic errors as field paths and reasons -------------------------------------------------


def _pydantic_errors(exc: ValidationError, model: type[BaseModel], data: Any) -> list:
    out = []
    raw = exc.errors()
    for error in raw:
        n = len(error["loc"])
        if error["type"] == "too_short" and any(
            len(e["loc"]) > n for e in raw if e["loc"][:n] == error["loc"]
        ):
            continue  # pydantic does not count the entries that failed: they are reported
        loc = _field_path(error["loc"], data)
        invalid = error.get("ctx", {}).get("error")
        if isinstance(invalid, _Invalid):
            loc += tuple(int(p) if p.isdigit() else p for p in invalid.field.split("."))
            out.append((loc, str(invalid)))
        elif loc and loc[-1] == "[key]":
            out.append((loc[:-1], f"not an allowed key: {_reason(error, model)}"))
        else:
            out.append((loc, _reason(error, model)))
    return out


def _field_path(loc: tuple, data: Any) -> tuple:
    """``loc`` without the discriminator tags pydantic inserts for tagged unions."""
    path: list = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part not in node and node.get("kind") == part:
            continue
        path.append(part)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return tuple(path)


_BOUNDS = {
    "greater_than": ">",
    "greater_than_equal": ">=",
    "less_than": "<",
    "less_than_equal": "<=",
}


def _reason(error: Mapping[str, Any], model: type[BaseModel]) -> str:
    kind, ctx, value, loc = error["type"], error.get("ctx", {}), error["input"], error["loc"]
    got = "" if isinstance(value, dict | list) else f" (got {value!r})"
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(loc[-1]), _fields_at(model, loc[:-1]), n=1)
        return f"unknown field (did you mean {close[0]}?)" if close else "unknown field"
    if kind in _BOUNDS:
        bound = next(iter(ctx.values()))
        bound = int(bound) if isinstance(bound, float) and bound.is_integer() else bound
        return f"must be {_BOUNDS[kind]} {bound}{got}"
    if kind == "union_tag_invalid":
        return f"unknown kind {ctx['tag']!r} (expected one of {', '.join(_tags_at(model, loc))})"
    if kind == "union_tag_not_found":
        return f"needs a kind (one of {', '.join(_tags_at(model, loc))})"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"must be a table{got}"
    if kind in ("tuple_type", "list_type"):
        return f"must be an array{got}"
    if kind == "too_short":
        return (
            "must not be empty"
            if ctx["min_length"] == 1
            else f"needs at least {ctx['min_length']} entries"
        )
    if kind == "string_pattern_mismatch":
        return f"must match {ctx['pattern']}{got}"
    if kind == "value_error":
        return str(ctx["error"])
    message = re.sub(r"^Input should", "must", error["msg"])
    return message[:1].lower() + message[1:] + got


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    target = _type_at(model, loc)
    return list(target.model_fields) if _is_model(target) else []


def _tags_at(model: type[BaseModel], loc: tuple) -> list[str]:
    members = typing.get_args(_type_at(model, loc))
    return [repr(typing.get_args(m.model_fields["kind"].annotation)[0]) for m in members]


def _type_at(model: type, loc: tuple) -> Any:
    """The type that pydantic's error location ``loc`` reaches from ``model``."""
    target: Any = model
    for part in loc:
        target = _unwrap(target)
        args = typing.get_args(target)
        if typing.get_origin(target) is dict:
            target = args[1]
        elif isinstance(part, int):
            target = args[0] if args else None
        elif _is_model(target) and part in target.model_fields:
            target = target.model_fields[part].annotation
        elif args and all(_is_model(m) and "kind" in m.model_fields for m in args):
            tagged = [m for m in args if part in typing.get_args(m.model_fields["kind"].annotation)]
            target = tagged[0] if tagged else None  # a tagged union: ``part`` is the tag
        else:
            return None
    return _unwrap(target)


def _unwrap(target: Any) -> Any:
    while typing.get_origin(target) is Annotated:
        target = typing.get_args(target)[0]
    args = [a for a in typing.get_args(target) if a is not type(None)]
    if type(None) in typing.get_args(target) and len(args) == 1:
        return _unwrap(args[0])
    return target


def _is_model(target: Any) -> bool:
    return isinstance(target, type) and issubclass(target, BaseModel)


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
                yield ("venues", v, "listings", s), _unknown_symbol(symbol, first)
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
        for s, symbol in enumerate(getattr(shock, "symbols", None) or ()):
            if symbol not in first:
                yield ("shocks", k, "symbols", s), _unknown_symbol(symbol, first)


def _unknown_symbol(symbol: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(symbol, list(known), n=1)
    return f"unknown instrument {symbol!r}" + (f" (did you mean {close[0]}?)" if close else "")


# --- the generated universe ------------------------------------------------------------------


def _sector_prefix(sector: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", sector).upper()[:5]


def generate_universe(universe: Universe, start: date, run_seed: int) -> tuple[InstrumentSpec, ...]:
    """``universe.count`` bonds drawn from ``universe.seed`` (default ``run_seed``).

    Each sector has ``issuers_per_sector`` issuers (``NBFC1``, ``NBFC2``, ...), each with one
    rating drawn from the weights; a bond picks an issuer, a maturity in whole months within
    ``maturity_years`` of ``start``, an issue date whole years earlier (on or before ``start``,
    so coupon periods are regular), a coupon rising with credit risk (rounded to 1bp), semi-annual
    coupons on ``30/360`` or ``ACT/365F``, and a reference price near par on the tick grid.
    Symbols are ``ISSUER-YEAR-LETTER``, e.g. ``NBFC1-2031-A``.
    """
    rng = np.random.default_rng(run_seed if universe.seed is None else universe.seed)
    names = list(universe.ratings)
    weights = np.array([universe.ratings[r] for r in names])
    issuers = [
        (sector, f"{_sector_prefix(sector)}{k}")
        for sector in universe.sectors
        for k in range(1, universe.issuers_per_sector + 1)
    ]
    issuer_ratings = [
        names[j] for j in rng.choice(len(names), len(issuers), p=weights / weights.sum())
    ]
    ranks = sorted({RATINGS.index(r) for r in names})
    low, high = universe.coupon_range
    first_month, last_month = (round(12 * y) for y in universe.maturity_years)
    taken: dict[tuple[str, int], int] = {}
    bonds = []
    for _ in range(universe.count):
        j = int(rng.integers(len(issuers)))
        sector, issuer = issuers[j]
        months = int(rng.integers(max(first_month, 1), max(last_month, first_month, 1) + 1))
        maturity = _add_months(start, months)
        issue = _add_months(maturity, -12 * (months // 12 + int(rng.integers(1, 4))))
        risk = ranks.index(RATINGS.index(issuer_ratings[j])) / max(len(ranks) - 1, 1)
        coupon = round(low + (high - low) * (0.7 * risk + 0.3 * rng.random()), 4)
        ticks = round((100 + rng.normal(0, 0.5)) / float(universe.tick_size))
        letter = taken.get((issuer, maturity.year), 0)
        taken[(issuer, maturity.year)] = letter + 1
        bonds.append(
            InstrumentSpec(
                symbol=f"{issuer}-{maturity.year}-{_letters(letter)}",
                tick_size=universe.tick_size,
                lot_size=universe.lot_size,
                unit_face_value=universe.unit_face_value,
                reference_price=max(ticks, 1) * universe.tick_size,
                issuer=issuer,
                sector=sector,
                rating=issuer_ratings[j],
                coupon=coupon,
                issue=issue,
                maturity=maturity,
                frequency=2,
                day_count=("30/360", "ACT/365F")[int(rng.integers(2))],
            )
        )
    return tuple(bonds)


def _add_months(day: date, months: int) -> date:
    year, month = divmod(day.month - 1 + months, 12)
    return date(day.year + year, month + 1, min(day.day, 28))  # day 28 exists in every month


def _letters(n: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA, ..."""
    text = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        text = chr(65 + r) + text
    return text
