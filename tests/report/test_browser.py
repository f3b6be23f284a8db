"""The report in a real browser, Debian's headless chromium (`make chromium` installs it): it
renders every section, asks the network for nothing, makes a screenshot of the size asked,
and prints to a PDF through `bondlab report --pdf`."""

from __future__ import annotations

import os
import re
import struct
from html.parser import HTMLParser

import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.presentation.report import SECTION_IDS
from sim.presentation.report.pdf import find_chromium, run_chromium
from sim.records.result import Result
from sim.records.verify import verify
from tests.report.conftest import decision_log, gate_digest

pytestmark = pytest.mark.skipif(
    find_chromium() is None and not os.environ.get("CI"),
    reason="chromium not installed (make chromium, or apt-get install chromium); CI always "
    "runs these",
)

# Chromium's own sign-in account check at start-up, which no flag turns off: not the page's.
CHROMIUMS_OWN = re.compile(r"https://accounts\.google\.com/ListAccounts\?.*source=ChromiumBrowser")


class _SectionIds(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "section":
            self.ids.append(dict(attrs).get("id"))


def requests_while_loading(page) -> tuple[str, list[str]]:
    """The DOM chromium built from `page`, and every URL it asked the network for (its
    network log) but its own sign-in check."""
    done = run_chromium(["--enable-logging=stderr", "--v=1", "--dump-dom", page.as_uri()])
    assert done.returncode == 0, done.stderr[-2000:]
    asked = re.findall(r"NotifyBeforeURLRequest: (\S+)", done.stderr)
    return done.stdout, [url for url in asked if not url.startswith("file:")
                         and not CHROMIUMS_OWN.match(url)]  # fmt: skip


def test_chromium_renders_every_section_and_asks_the_network_for_nothing(page):
    dom, asked = requests_while_loading(page)
    parser = _SectionIds()
    parser.feed(dom)
    assert tuple(parser.ids) == SECTION_IDS
    assert asked == []


def test_the_network_check_sees_a_page_that_fetches(tmp_path):
    page = tmp_path / "fetching.html"
    page.write_text('<img src="http://report.invalid/a.png"><section id="x"></section>')
    _, asked = requests_while_loading(page)
    assert asked == ["http://report.invalid/a.png"]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_a_screenshot_of_the_size_asked(page, tmp_path):
    from PIL import Image  # matplotlib's own dependency

    shot = tmp_path / "report.png"
    done = run_chromium(["--hide-scrollbars", "--window-size=1280,1600",
                         f"--screenshot={shot}", page.as_uri()])  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    data = shot.read_bytes()
    assert png_size(data) == (1280, 1600)
    with Image.open(shot) as image:  # drawn, not a blank page
        assert len(image.convert("L").getcolors(maxcolors=256 * 256)) > 16


def test_bondlab_report_writes_the_page_and_its_pdf(run_dir, tmp_path):
    log = decision_log(tmp_path / "gate", gate_digest(Result.load(run_dir).manifest, tmp_path))
    html = tmp_path / "out" / "report.html"
    html.parent.mkdir()
    out = CliRunner().invoke(app, ["report", str(run_dir), "--no-rerun", "--pdf",
                                   "--out", str(html), "--decisions", str(log.path)])  # fmt: skip
    assert out.exit_code == 0, out.output
    pdf = html.with_suffix(".pdf")
    assert out.stdout.splitlines() == [str(html), str(pdf)]
    text = html.read_text()
    assert all(f'<section id="{i}">' in text for i in SECTION_IDS)
    assert "gate decision in" in text and "mm-desk v3" in text  # the decision it belongs to
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data)) > 1  # pages, not one blank
    assert verify(run_dir).ok  # the run's folder untouched
