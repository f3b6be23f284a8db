"""The test command of every mutation session (`tests/mutation/*.toml`): one pytest run of a
module's own tests, in the session's scratch copy of the repository, stopping at the first
failure.

Each run is independent of the runs before it:

- Hypothesis gets an empty example database (`HYPOTHESIS_STORAGE_DIRECTORY`), so a mutant is
  never killed by an example that an earlier mutant's run happened to save;
- with ``--fresh-numba-cache``, numba compiles into an empty cache (`NUMBA_CACHE_DIR`). The
  kernel sessions need it: numba's cache checks only a kernel's own file, so a kernel that
  compiles in a mutated kernel from another file would run its stale, unmutated copy;
- with ``--sync-book-digest``, `BOOK_KERNELS_DIGEST` in `sim/market/_gateway_kernels.py` is set
  to the digest of the (mutated) `_book_kernels.py` first. That check exists to make developers
  refresh numba's cache; with an empty cache per run it would only kill every book-kernel
  mutant at import, which says nothing about the tests.

``--trace-lines FILE.json`` runs pytest in this process and writes which lines of the mutated
modules (``--module``) the tests executed: `run.py` marks mutants on lines the tests never
reach as survivors without running them.

Usage: python tests/mutation/run_pytest.py [options] [--] PYTEST_ARGS...
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

PYTEST_OPTIONS = ["-x", "-q", "-p", "no:cacheprovider"]
BOOK_KERNELS = Path("sim/market/_book_kernels.py")
GATEWAY_KERNELS = Path("sim/market/_gateway_kernels.py")


def sync_book_digest() -> None:
    """Set the gateway's BOOK_KERNELS_DIGEST to the digest of the book's kernels as they are now
    (the same digest `sim.market._gateway_kernels._check_book_kernels` computes)."""
    if Path(".git").exists():
        sys.exit("run_pytest.py --sync-book-digest edits files: run it in a scratch copy only")
    digest = hashlib.sha256(BOOK_KERNELS.read_bytes().replace(b"\r\n", b"\n")).hexdigest()[:16]
    source = GATEWAY_KERNELS.read_text()
    synced, count = re.subn(
        r'^BOOK_KERNELS_DIGEST = "[0-9a-f]*"$',
        f'BOOK_KERNELS_DIGEST = "{digest}"',
        source,
        count=1,
        flags=re.MULTILINE,
    )
    if count != 1:
        sys.exit(f"run_pytest.py: no BOOK_KERNELS_DIGEST line in {GATEWAY_KERNELS}")
    if synced != source:
        GATEWAY_KERNELS.write_text(synced)


def traced_pytest(pytest_args: list[str], modules: list[str], out: Path) -> int:
    """Run pytest here under a line tracer restricted to `modules`; write the executed lines."""
    import pytest

    targets = {str(Path(m).resolve()): m for m in modules}
    executed: dict[str, set[int]] = {m: set() for m in modules}

    def local(frame, event, _arg):
        if event == "line":
            executed[targets[frame.f_code.co_filename]].add(frame.f_lineno)
        return local

    def tracer(frame, event, _arg):
        if event == "call" and frame.f_code.co_filename in targets:
            executed[targets[frame.f_code.co_filename]].add(frame.f_lineno)
            return local
        return None

    threading.settrace(tracer)
    sys.settrace(tracer)
    try:
        code = pytest.main(pytest_args)
    finally:
        sys.settrace(None)
        threading.settrace(None)  # type: ignore[arg-type]
    out.write_text(json.dumps({m: sorted(lines) for m, lines in executed.items()}))
    return int(code)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fresh-numba-cache", action="store_true")
    parser.add_argument("--sync-book-digest", action="store_true")
    parser.add_argument("--trace-lines", type=Path, help="write the executed lines here")
    parser.add_argument("--module", action="append", default=[], help="a module to trace")
    options, pytest_args = parser.parse_known_args()
    if pytest_args[:1] == ["--"]:
        pytest_args = pytest_args[1:]
    if options.sync_book_digest:
        sync_book_digest()

    # Inside the scratch copy, so that the driver clears what a killed run leaves behind.
    scratch = Path("tmp")
    scratch.mkdir(exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=scratch))
    env_before = dict(os.environ)
    try:
        os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = str((run_dir / "hypothesis").resolve())
        if options.fresh_numba_cache:
            os.environ["NUMBA_CACHE_DIR"] = str((run_dir / "numba").resolve())
        if options.trace_lines:
            return traced_pytest(PYTEST_OPTIONS + pytest_args, options.module, options.trace_lines)
        command = [sys.executable, "-m", "pytest", *PYTEST_OPTIONS, *pytest_args]
        return subprocess.call(command)
    finally:
        os.environ.clear()
        os.environ.update(env_before)
        shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
