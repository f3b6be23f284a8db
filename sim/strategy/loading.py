"""Strategies by reference: ``"module:Class"`` (an importable module, such as
``"strategies.momentum:Momentum"``) or ``"path/to/file.py:Class"`` (a file of one's own), and
their parameters.

A strategy class is built with no arguments, or, when it declares its parameters as a pydantic
model in a ``Params`` attribute, with the validated parameters; either way its context holds
them as a plain read-only mapping (`Context.params`), defaults filled in. A reference that does
not resolve, a class without a handler, or parameters its model refuses are the user's to fix:
a `StrategyError` naming the reference, and the field and reason for a parameter.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.errors import BondlabError
from sim.strategy.api import HANDLERS


class StrategyError(BondlabError, ValueError):
    """A strategy reference or its parameters cannot be used."""


def load_strategy(ref: str) -> type:
    """The strategy class `ref` names (``"module:Class"`` or ``"file.py:Class"``)."""
    where, sep, name = str(ref).rpartition(":")
    if not sep or not where or not name.isidentifier():
        raise StrategyError(f"strategy {ref!r}: expected module:Class or path/to/file.py:Class")
    module = _module_of(ref, where)
    found = getattr(module, name, None)
    if not isinstance(found, type):
        raise StrategyError(f"strategy {ref!r}: {where} has no class {name!r}")
    if not any(callable(getattr(found, handler, None)) for handler in HANDLERS):
        raise StrategyError(
            f"strategy {ref!r}: {name} defines none of the handlers {', '.join(HANDLERS)}"
        )
    return found


def _module_of(ref: str, where: str):
    if where.endswith(".py"):
        path = Path(where)
        if not path.is_file():
            raise StrategyError(f"strategy {ref!r}: no such file {where}")
        # A file of one's own: a module named after its resolved path, loaded once per process.
        digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
        key = f"bondlab_strategy_{digest}"
        if key in sys.modules:
            return sys.modules[key]
        spec = importlib.util.spec_from_file_location(key, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[key]
            raise
        return module
    try:
        return importlib.import_module(where)
    except ModuleNotFoundError as exc:
        if exc.name and where.startswith(exc.name):  # the module itself, not one it imports
            raise StrategyError(f"strategy {ref!r}: no module named {where!r}") from None
        raise


def strategy_params(cls: type, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """`params` checked against the class's ``Params`` model (defaults filled in), as plain
    values; unchanged for a class without one."""
    model = getattr(cls, "Params", None)
    given = dict(params or {})
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return given
    try:
        return model.model_validate(given).model_dump(mode="json")
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        where = f"{field}: " if field else ""
        raise StrategyError(f"{cls.__name__} params: {where}{message}") from None


def build_strategy(cls: type, params: Mapping[str, Any]):
    """An instance of `cls` for `params` (already checked by `strategy_params`)."""
    model = getattr(cls, "Params", None)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return cls(model.model_validate(dict(params)))
    return cls()
