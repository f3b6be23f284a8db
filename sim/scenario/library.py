"""The shipped scenarios, found by name: ``baseline`` is the library's ``baseline.toml``.

The files live at the top of the repository, in ``scenarios/``; a wheel carries them as
``sim/scenario/shipped/`` (setup.py). `folder` is whichever of the two this copy of bondlab has,
so a name means the same file in a checkout and in an installed bondlab.

`locate` decides what a scenario argument means: an argument with no folder and no suffix
(``baseline``) that is not an existing path is a shipped scenario's name; anything else is a path
(and reading a missing one says "no such file").
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from sim.scenario.config import closest

SUFFIX = ".toml"


def folder() -> Path:
    """The folder of the shipped scenario files: inside an installed bondlab, else the
    checkout's ``scenarios/``."""
    here = Path(__file__).resolve().parent
    installed = here / "shipped"
    return installed if installed.is_dir() else here.parents[1] / "scenarios"


def names() -> list[str]:
    """The shipped scenarios' names, sorted."""
    return sorted(file.stem for file in folder().glob(f"*{SUFFIX}"))


class UnknownScenario(LookupError):
    """A name that is neither a file nor a shipped scenario; the message is one line."""


def is_name(argument: str | os.PathLike) -> bool:
    """Whether ``argument`` names a shipped scenario rather than a file: it has no folder and no
    suffix, and no such path exists."""
    text = os.fspath(argument)
    separators = {os.sep, os.altsep or os.sep}
    return (
        text.strip(".") != ""
        and not any(separator in text for separator in separators)
        and not Path(text).suffix
        and not Path(text).exists()
    )


def locate(argument: str | os.PathLike) -> str | os.PathLike:
    """The scenario file ``argument`` means: itself when it is a path (`is_name`), else the
    shipped file of that name; raises `UnknownScenario`."""
    if not is_name(argument):
        return argument
    name = os.fspath(argument)
    file = folder() / f"{name}{SUFFIX}"
    if file.is_file():
        return file
    shipped = names()
    close = closest(name, shipped)
    hint = f"did you mean {close}? " if close else ""
    raise UnknownScenario(
        f"{name}: no such file or shipped scenario ({hint}shipped: {', '.join(shipped) or 'none'})"
    )


def period(file: str | os.PathLike) -> str:
    """The dates a scenario's calendar spans: "2024-01-01 to 2024-01-26, 20 trading days"."""
    from sim.market.calendar import TradingCalendar
    from sim.scenario.model import load_scenario

    spec = load_scenario(file).calendar
    days = TradingCalendar(spec.start, spec.days, spec.open, spec.close, spec.holidays)
    first, last = days.trading_days[0], days.trading_days[-1]
    plural = "s" if spec.days > 1 else ""
    return f"{first} to {last}, {spec.days} trading day{plural}"


def summary(file: str | os.PathLike) -> str:
    """The first sentence of the comment a scenario file opens with ('' when it has none)."""
    lines = []
    for line in Path(file).read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    text = " ".join(line for line in lines if line)
    sentence = re.match(r"(.+?[.!?])(\s|$)", text)
    return sentence[1] if sentence else text
