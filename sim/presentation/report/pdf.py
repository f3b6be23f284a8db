"""The report as a PDF, printed by headless Chromium (Debian's ``chromium``), with a fresh
profile each time.

The page needs nothing from the network, and Chromium is run so that it reaches for as little
as it can of its own: no background networking, component updates, sync, network time or
AI-mode eligibility check, QUIC off; and it resolves no host name at all, so that what it
still tries (its sign-in account check at start-up) goes nowhere."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from sim.errors import BondlabError

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL = "install Debian's chromium (apt-get install --no-install-recommends chromium)"
HEADLESS = (
    "--headless",
    "--no-sandbox",  # as root, as in CI containers, Chromium refuses its sandbox
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-features=NetworkTimeServiceQuerying,AimEnabled",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)
TIMEOUT_S = 120


class PdfError(BondlabError, RuntimeError):
    """No Chromium to print with, or it could not print the page."""


def find_chromium() -> str | None:
    """The path of the first Chromium on PATH (`BROWSERS`), or None."""
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


def chromium_command(chromium: str, profile: str | Path, *flags: str) -> list[str]:
    """The command line that runs `chromium` headless and quiet on the network, with the
    fresh user-data folder `profile` and `flags` (the page's URL last)."""
    return [chromium, *HEADLESS, f"--user-data-dir={profile}", *flags]


def run_chromium(flags: Sequence[str], timeout: float = TIMEOUT_S) -> subprocess.CompletedProcess:
    """Run headless Chromium with `flags` in a fresh, temporary profile."""
    chromium = find_chromium()
    if chromium is None:
        raise PdfError(f"no chromium found on PATH: {INSTALL}")
    with tempfile.TemporaryDirectory(prefix="bondlab-chromium-") as profile:
        return subprocess.run(
            chromium_command(chromium, profile, *flags),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def print_pdf(html: str | Path, pdf: str | Path) -> Path:
    """Print the page `html` to `pdf` (written atomically: a reader never sees a part)."""
    html, pdf = Path(html).resolve(), Path(pdf)
    partial = pdf.parent / f".{pdf.name}.partial"
    try:
        try:
            done = run_chromium(
                ["--no-pdf-header-footer", f"--print-to-pdf={partial}", html.as_uri()]
            )
        except subprocess.TimeoutExpired:
            raise PdfError(f"{html}: chromium did not print it in {TIMEOUT_S} s") from None
        if not partial.is_file() or not partial.read_bytes().startswith(b"%PDF"):
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise PdfError(f"{html}: chromium printed no PDF (exit {done.returncode}: {last})")
        partial.replace(pdf)
    finally:
        partial.unlink(missing_ok=True)
    return pdf
