"""The regulator's report of a real run: every section under its stable id, figures read from
the run's own files, nothing the page would fetch from elsewhere, the verdict shown whatever it
is, and the gate decisions the run belongs to found by its manifest's hash."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser

import pytest

from sim.analytics.stress import stress_outcomes
from sim.analytics.surveillance import tier_compliance
from sim.presentation.report import SECTION_IDS, Decisions, build_report, render_html
from sim.presentation.report.formats import percent
from sim.presentation.report.gate import gate_section, manifest_digests
from sim.presentation.report.model import FAIL, OK
from sim.presentation.report.surveillance import MAX_IDS, surveillance_section
from sim.records.result import Result
from sim.records.verify import TAMPERED, VERIFIED, verify
from tests.report.conftest import decision_log, gate_digest, make_alerts


def sections(report) -> dict:
    return {section.id: section for section in report.sections}


def cells(section) -> list[str]:
    return [cell for table in section.tables for row in table.rows for cell in row]


def test_every_section_is_there_under_its_id_in_order(report):
    assert tuple(s.id for s in report.sections) == SECTION_IDS
    html = render_html(report)
    ids = re.findall(r'<section id="([^"]+)"', html)
    assert tuple(ids) == SECTION_IDS
    for section_id in SECTION_IDS:  # and the table of contents links to each
        assert f'href="#{section_id}"' in html


def test_the_scenario_section_is_the_manifests_provenance(report, run_dir):
    manifest = json.loads((run_dir / "manifest.json").read_text())
    text = " ".join(cells(sections(report)["scenario"]))
    for value in (manifest["run_id"], manifest["scenario_hash"], manifest["git_commit"],
                  manifest["code_hash"], manifest["manifest_hash"],
                  manifest["audit"]["final_hash"]):  # fmt: skip
        assert value in text
    for name, digest in manifest["files"].items():
        assert name in text and digest in text
    for package, version in manifest["packages"].items():
        assert package in text and version in text


def test_reproducibility_shows_verifys_verdict_with_its_rerun(report):
    section = sections(report)["reproducibility"]
    assert section.status == OK and section.status_text == VERIFIED
    assert any(cell.startswith("verified: ") for cell in cells(section))


def test_market_quality_has_a_row_a_book_and_the_price_figure(report, run_dir):
    section = sections(report)["market-quality"]
    quality = Result.load(run_dir).metrics["market_quality"]
    (table,) = section.tables
    books = {(row[0], row[1]) for row in table.rows}
    assert books == {(bond, venue) for bond, venues in quality.items() for venue in venues}
    (figure,) = section.figures
    assert figure.uri.startswith("data:image/png;base64,") and len(figure.uri) > 10_000


def test_stress_outcomes_are_judged_against_the_scenarios_targets(report, run_dir):
    section = sections(report)["stress"]
    assert section.status == FAIL  # one target is missed on purpose, one cannot be measured
    targets, outcomes = section.tables
    verdicts = {row[0]: row[6] for row in targets.rows}
    assert verdicts == {
        "credit_spread_move_bp_AAA": "met",
        "spread_multiple": "MISSED",
        "fx_move_pct_USDINR": "not measured",
    }
    measured = stress_outcomes(Result.load(run_dir))
    shown = dict((row[0], row[1]) for row in outcomes.rows)
    assert shown["margin calls"] == f"{measured['margin_calls']:,}"
    assert any("opens on trading day 1" in line for line in section.lead)


def test_sip_market_makers_and_repo_show_the_runs_figures(report, run_dir):
    metrics = Result.load(run_dir).metrics
    found = sections(report)
    sip = " ".join(found["sip"].lead)
    assert f"{metrics['sip']['exit_units_requested']:,}" in sip and "stress window" in sip
    makers = found["market-makers"]
    tiers, each = makers.tables
    # by tier from the records, as surveillance reckons it; each maker as it measured itself
    compliance = tier_compliance(Result.load(run_dir))
    assert [row[0] for row in tiers.rows] == compliance["tier"].to_list() == ["gold"]
    assert tiers.rows[0][-1] == percent(compliance["breach_share"][0]).text
    assert len(each.rows) == len(metrics["market_makers"])
    repo = " ".join(found["repo"].lead)
    assert f"{metrics['repo']['margin_calls']} margin calls" in repo


def test_surveillance_lists_each_alert_with_its_evidence(report, alerts):
    section = sections(report)["surveillance"]
    summary, each = section.tables
    assert [row[:2] for row in summary.rows] == [("spoofing", "1"), ("wash_trade", "1")]
    spoof = each.rows[0]  # highest score first
    assert spoof[0] == "spoofing" and each.details[0] == f"Evidence: {alerts['evidence'][0]}"
    assert spoof[8].endswith(f"(+{12 - MAX_IDS} more)")  # 12 order ids, 8 listed
    html = render_html(report)
    assert "<b>while</b>" not in html and "&lt;b&gt;while&lt;/b&gt;" in html  # escaped


def test_no_alerts_is_said_so():
    section = surveillance_section(make_alerts([]))
    assert section.status == OK and section.tables == ()
    with pytest.raises(ValueError, match="evidence"):
        surveillance_section(make_alerts([]).drop("evidence"))


# --- nothing from elsewhere ---------------------------------------------------------------


class _References(HTMLParser):
    """Every reference a page makes to anything outside itself."""

    URL_ATTRIBUTES = frozenset({"src", "href", "srcset", "poster", "data", "action",
                                "formaction", "background", "xlink:href", "ping",
                                "manifest"})  # fmt: skip

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "link", "iframe", "object", "embed", "base"):
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            value = (value or "").strip()
            if name in self.URL_ATTRIBUTES and not value.startswith(("#", "data:")):
                self.found.append(f"{tag} {name}={value[:60]}")
            if name == "style":
                self.found += _css_references(value)

    def handle_data(self, data):
        self.found += _css_references(data)


def _css_references(css: str) -> list[str]:
    urls = re.findall(r"url\(\s*['\"]?([^'\")]*)", css)
    return [f"url({u[:60]})" for u in urls if not u.startswith("data:")] + re.findall(
        r"@import[^;]*", css
    )


def external_references(html: str) -> list[str]:
    parser = _References()
    parser.feed(html)
    return parser.found + re.findall(r"https?://[^\s\"'<>)]+", html)


def test_the_page_refers_to_nothing_outside_itself(report):
    assert external_references(render_html(report)) == []


def test_the_reference_check_finds_what_a_page_would_fetch():
    page = ('<link rel="stylesheet" href="https://cdn.example/a.css"><script src="x.js">'
            '</script><img src="http://example.invalid/a.png"><a href="#ok">in page</a>'
            '<p style="background: url(bg.png)"><style>@import "f.css";</style>')  # fmt: skip
    found = external_references(page)
    assert "<link>" in found and "<script>" in found and "url(bg.png)" in found
    assert any("@import" in item for item in found)
    assert "http://example.invalid/a.png" in found and not any("#ok" in f for f in found)


# --- the verdict, whatever it is ----------------------------------------------------------


def test_a_tampered_run_is_reported_with_its_figures_withheld(run_dir, tmp_path, alerts):
    copy = shutil.copytree(run_dir, tmp_path / run_dir.name)
    data = bytearray((copy / "trades.parquet").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "trades.parquet").write_bytes(bytes(data))
    report = build_report(copy, rerun=False, alerts=alerts)
    assert tuple(s.id for s in report.sections) == SECTION_IDS
    found = sections(report)
    assert found["reproducibility"].status == FAIL
    assert found["reproducibility"].status_text == TAMPERED
    assert any("trades.parquet" in cell for cell in cells(found["reproducibility"]))
    for section_id in ("market-quality", "stress", "sip", "market-makers", "pulse", "repo",
                       "surveillance"):  # fmt: skip
        section = found[section_id]
        assert section.lead[0].startswith("Withheld") and not section.tables


# --- the gate decisions it belongs to -----------------------------------------------------


def test_the_gate_hashes_a_suite_run_as_the_report_matches_it(run_dir, tmp_path):
    result = Result.load(run_dir)
    assert gate_digest(result.manifest, tmp_path / "written") in manifest_digests(result.manifest)
    # A gate's suite runs are held in memory: saved afterwards, the run's folder holds what
    # writing adds, and the report takes it away again.
    frames = {name.removesuffix(".parquet"): result.frame(name.removesuffix(".parquet"))
              for name in result.manifest["files"] if name.endswith(".parquet")}  # fmt: skip
    held = {k: v for k, v in result.manifest.items()
            if k not in ("audit", "files", "manifest_hash")}  # fmt: skip
    saved = Result.in_memory(frames, result.metrics, held).save(tmp_path / "saved")
    assert gate_digest(held, tmp_path / "held") in manifest_digests(saved.manifest)


def test_the_gate_section_shows_the_decisions_the_run_belongs_to(run_dir, tmp_path):
    manifest = Result.load(run_dir).manifest
    log = decision_log(tmp_path, gate_digest(manifest, tmp_path))
    section = gate_section(manifest, Decisions(str(log.path), tuple(log.records())))
    assert section.status == OK and "mm-desk v3" in section.lead[0]
    (table,) = section.tables
    assert [(row[2], row[3], row[4]) for row in table.rows] == [
        ("decision", "mm-desk", "3"),
        ("approval", "mm-desk", "3"),
    ]
    assert table.rows[0][-1] == "manifests/baseline-seed1.json"


def test_a_run_in_no_decision_says_so(run_dir, tmp_path):
    manifest = Result.load(run_dir).manifest
    log = decision_log(tmp_path, "a" * 64)
    section = gate_section(manifest, Decisions(str(log.path), tuple(log.records())))
    assert section.lead == (f"The run belongs to no gate decision in {log.path} (3 records).",)
    assert gate_section(manifest, None).lead[0].startswith("The run belongs to no gate decision")


def test_the_report_leaves_the_run_folder_as_it_was(page, run_dir):
    assert page.parent == run_dir.parent and page.name == f"{run_dir.name}-report.html"
    assert verify(run_dir).ok  # nothing added to a folder whose manifest lists every file
