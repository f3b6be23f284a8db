"""Configuration as data: strict field types for TOML values, reading TOML files, dotted
overrides, and validation errors as one ``SOURCE: field.path: reason`` line each.

Nothing here knows what a scenario is: `sim.scenario.model` builds its schema and its messages on
these pieces.
"""

from __future__ import annotations

import difflib
import re
import tomllib
import typing
from collections.abc import Iterable, Mapping
from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AllowInfNan,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    Strict,
    ValidationError,
)

# --- field types and the base model ------------------------------------------------------------


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


class ConfigModel(BaseModel):
    """A frozen model that refuses unknown fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class InvalidField(ValueError):
    """A failed check across fields, reported on ``field`` (dotted, relative to the model)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


# --- reading TOML ------------------------------------------------------------------------------


class TomlFileError(ValueError):
    """A TOML file that cannot be read or parsed; the message names the file and the reason."""


def read_toml(path: str | Path, *, what: str = "TOML file") -> dict[str, Any]:
    """The data of the TOML file at ``path``; raises `TomlFileError` (``what`` names the file
    kind in messages)."""
    source = str(path)
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise TomlFileError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise TomlFileError(f"{source}: is a directory, not a {what}") from None
    except OSError as exc:
        raise TomlFileError(f"{source}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise TomlFileError(f"{source}: not UTF-8 text (byte {exc.start})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TomlFileError(f"{source}: {_toml_problem(str(exc))}") from None


def _toml_problem(message: str) -> str:
    found = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if found is None:  # tomllib reports "(at end of document)" for some errors
        return f"invalid TOML ({message[:1].lower()}{message[1:]})"
    reason = message[: found.start()]
    return f"line {found[1]}, column {found[2]}: invalid TOML ({reason[:1].lower()}{reason[1:]})"


# --- overrides --------------------------------------------------------------------------------


def apply_override(doc: dict[str, Any], text: str) -> tuple:
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


# --- errors as one line each ---------------------------------------------------------------------


def format_problem(loc: tuple, reason: str, source: str, applied: list[tuple[str, tuple]]) -> str:
    """``SOURCE: field.path: reason``; SOURCE is ``--set OVERRIDE`` when the override (as
    ``(text, path)`` from `apply_override`) put the value at ``loc`` there."""
    for text, key in reversed(applied):  # the last override of a path is the one that stuck
        if loc[: len(key)] == key:
            source = f"--set {text}"
            break
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
    return f"{source}: {path.lstrip('.')}: {reason}" if path else f"{source}: {reason}"


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice ``word`` was most likely meant to be, for "did you mean" hints."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return close[0] if close else None


def pydantic_problems(exc: ValidationError, model: type[BaseModel], data: Any) -> list:
    """``(field path, reason)`` for each error pydantic found validating ``data`` as ``model``."""
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
        if isinstance(invalid, InvalidField):
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
        close = closest(str(loc[-1]), _fields_at(model, loc[:-1]))
        return f"unknown field (did you mean {close}?)" if close else "unknown field"
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
    if type(None) in typing.get_args(target):  # an optional field: the type of a given value
        return _unwrap(typing.Union[tuple(args)])  # noqa: UP007 -- no `|` over a list
    return target


def _is_model(target: Any) -> bool:
    return isinstance(target, type) and issubclass(target, BaseModel)
