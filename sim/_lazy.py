"""Lazy package attributes: a package names what it exports, and each name imports its module
only when first used, so that importing a package (or a light module inside it) stays cheap.

    __getattr__, __dir__ = lazy_exports(__name__, {"OrderBook": "book", ...})
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_exports(
    package: str, exports: Mapping[str, str], extra_names: tuple[str, ...] = ()
) -> tuple[Callable, Callable]:
    """Module-level ``__getattr__`` and ``__dir__`` for `package`: ``exports`` maps each public
    name to the submodule (relative to `package`) that defines it, or that it is (a name that
    is the submodule's own last part and that it does not define, such as ``"plots":
    "presentation.plots"``; ``"compare": "presentation.compare"`` is its function)."""

    def __getattr__(name: str):
        if name in exports:
            module = importlib.import_module(f"{package}.{exports[name]}")
            if module.__name__.rpartition(".")[2] == name and not hasattr(module, name):
                return module
            return getattr(module, name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*exports, *extra_names})

    return __getattr__, __dir__
