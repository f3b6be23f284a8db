"""Run every benchmark and write benchmarks/RESULTS.md.

Each `benchmarks/bench_*.py` module exposes `run() -> str`, returning one Markdown section.
Benchmarks are not tests: they measure, they do not assert. Figures that are compared are
measured in the same run, so the ratios hold even on a noisy shared machine.

    python -m benchmarks.run            # all of them
    python -m benchmarks.run book       # only bench_book.py
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent


def machine_details() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import numba
    import numpy

    return (
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n"
        f"- machine: {platform.machine()}, {cpu}, {os.cpu_count()} cores, {mem_gib:.0f} GiB\n"
        f"- os: {platform.platform()}\n"
        f"- python {platform.python_version()} ({os.path.realpath(sys.executable)}, "
        f"{platform.python_compiler()}), numpy {numpy.__version__}, numba {numba.__version__}\n"
    )


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    sections = []
    for name in names:
        print(f"running benchmarks/bench_{name}.py ...", flush=True)
        module = importlib.import_module(f"benchmarks.bench_{name}")
        section = module.run()
        print(section, flush=True)
        sections.append(section)
    out = HERE / "RESULTS.md"
    if argv and out.exists():
        # A partial run replaces only its own sections and keeps the others.
        old = _split_sections(out.read_text())
        old.update({s.splitlines()[0]: s for s in sections})
        sections = list(old.values())
    text = "# Benchmark results\n\nWritten by `make bench`.\n\n" + machine_details() + "\n"
    text += "\n\n".join(s.strip() for s in sections) + "\n"
    tmp = out.with_suffix(".md.tmp")
    tmp.write_text(text)
    tmp.replace(out)
    print(f"wrote {out}")
    return 0


def _split_sections(text: str) -> dict[str, str]:
    """Map each '## ' heading line of an earlier RESULTS.md to its section."""
    sections: dict[str, str] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("## "):
            current = [line]
            sections[line] = ""
        if current is not None:
            if line is not current[0]:
                current.append(line)
            sections[current[0]] = "\n".join(current)
    return sections


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
