"""The ``bondlab`` command line: one module a family of commands (`sim.cli.runs`,
`strategies`, `studies`, `records`, `pulse`, `report`, `service`), each registering on the one
application of `sim.cli.base`.

A user's mistake (a bad file, flag or override) prints one line per problem on stderr and
exits with status 2, without a traceback; a bug in bondlab still raises.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

from sim.cli.base import app
from sim.engine import collector

# Each family registers its commands on `app`; `bondlab --help` lists them in this order.
# isort: off
from sim.cli import runs  # noqa: F401
from sim.cli import strategies  # noqa: F401
from sim.cli import studies  # noqa: F401
from sim.cli import records  # noqa: F401
from sim.cli import pulse  # noqa: F401
from sim.cli import report  # noqa: F401
from sim.cli import service  # noqa: F401
# isort: on

__all__ = ["app", "main"]


def main() -> NoReturn:
    """Entry point of the ``bondlab`` console script."""
    collector.off_during_start_up()
    try:
        app()
    except SystemExit as done:
        code = done.code
    else:
        code = 0
    if not isinstance(code, int):  # sys.exit("message") convention
        if code is not None:
            print(code, file=sys.stderr)
        code = 0 if code is None else 1
    # Tearing down numba's LLVM, polars, pandas and scipy at exit takes a quarter of a
    # second and does nothing for a finished command: its files are written and closed.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
