"""compliance.pdf and business.pdf read back: pages, outline, metadata, numbers, layout."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from auditkit.plugins.render import json_report, pdf_report
from pypdf import PdfReader
from reportaudit import REPORT_ID, build_report_audit

from auditkit import warm as warm_process
from auditkit.audit import Section, Table
from auditkit.rendering import render_report

POPPLER = shutil.which("pdftotext") and shutil.which("pdftoppm")
needs_poppler = pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdftotext, pdftoppm) not installed")
EPOCH = "1714564800"  # 2024-05-01T12:00:00Z, as the host derives audit.created from it


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[object, dict[str, Path], list[str]]:
    """Both PDFs of the realistic audit, and whatever weasyprint warned about meanwhile."""
    import logging

    out = tmp_path_factory.mktemp("pdf")
    audit = build_report_audit()
    warnings: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: warnings.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger("weasyprint").addHandler(handler)
    old = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    try:
        paths = pdf_report.auditkit_render(audit=audit, out_dir=out, formats=["pdf", "json"])
    finally:
        logging.getLogger("weasyprint").removeHandler(handler)
        if old is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = old
    return audit, {p.name: p for p in paths}, warnings


def _text_pages(path: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(path).pages]


def _pdftotext(path: Path, *args: str) -> str:
    return subprocess.run(["pdftotext", *args, str(path), "-"], check=True, capture_output=True, text=True).stdout


def test_writes_both_pdfs_only_when_asked(rendered, tmp_path: Path) -> None:
    _, files, _ = rendered
    assert sorted(files) == ["business.pdf", "compliance.pdf"]
    for path in files.values():
        assert path.read_bytes().startswith(b"%PDF-")
    assert pdf_report.auditkit_render(audit=build_report_audit(), out_dir=tmp_path, formats=["html"]) is None
    assert list(tmp_path.iterdir()) == []


def test_page_count_and_page_x_of_y(rendered) -> None:
    _, files, _ = rendered
    for name, minimum in (("compliance.pdf", 8), ("business.pdf", 5)):
        pages = _text_pages(files[name])
        assert len(pages) >= minimum
        for number, text in enumerate(pages, start=1):
            assert f"page {number} of {len(pages)}" in text, (name, number)


def test_outline_has_one_bookmark_per_part_pointing_at_its_page(rendered) -> None:
    _, files, _ = rendered
    expected = {
        "compliance.pdf": [
            "Executive summary",
            "Training record",
            "Fairness",
            "Privacy",
            "Model card (as supplied)",
            "Method notes",
            "Configuration used",
        ],
        "business.pdf": ["Value and recommendation", "Market strategy", "Valuation", "Assumptions"],
    }
    for name, titles in expected.items():
        reader = PdfReader(files[name])
        outline = reader.outline
        assert [item.title for item in outline] == titles
        pages = _text_pages(files[name])
        for item in outline:
            page = reader.get_destination_page_number(item)
            assert item.title in pages[page], (name, item.title, page)


def test_metadata(rendered) -> None:
    _, files, _ = rendered
    meta = PdfReader(files["compliance.pdf"]).metadata
    assert meta.title == "Compliance report: toxicity-bert-v3"
    assert meta.author == "Model Risk Office"
    assert meta.subject == f"Compliance report of model toxicity-bert-v3 (report {REPORT_ID}): overall verdict fail"
    assert meta["/Keywords"] == "auditkit, model audit, compliance, toxicity-bert-v3, sequence-classification"
    assert meta.creation_date == dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)
    assert meta.creator.startswith("auditkit ")
    assert PdfReader(files["business.pdf"]).metadata.title == "Business report: toxicity-bert-v3"


def test_key_numbers_from_audit_json_appear(rendered) -> None:
    audit, files, _ = rendered
    sections = json_report.audit_to_json(audit)["sections"]
    # value in audit.json → how the reports print it (4 significant digits, thousands separated)
    compliance = {
        ("fairness", "score"): (0.8312, "0.8312"),
        ("fairness", "accuracy"): (0.9124, "0.9124"),
        ("privacy", "epsilon"): (7.93, "7.93"),
        ("privacy", "protection_cost"): (12000.0, "12,000"),
        ("training", "training_cost"): (412.5, "412.5"),
    }
    business = {
        ("valuation", "risk_adjusted_value"): (259237.5, "259,238"),
        ("valuation", "npv"): (1184220.0, "1,184,220"),
        ("valuation", "risk_adjusted_value_p5"): (180410.0, "180,410"),
        ("market", "optimal_spend"): (25000.0, "25,000"),
    }
    for name, numbers in (("compliance.pdf", compliance), ("business.pdf", business)):
        text = "\n".join(_text_pages(files[name]))
        for (section, metric), (value, shown) in numbers.items():
            assert sections[section]["metrics"][metric] == value
            assert shown in text, (name, section, metric, shown)


def test_paper_size_follows_config() -> None:
    a4 = PdfReader(_business_pdf("A4")).pages[0].mediabox
    letter = PdfReader(_business_pdf("Letter")).pages[0].mediabox
    assert (round(float(a4.width), 1), round(float(a4.height), 1)) == (595.3, 841.9)  # 210 × 297 mm
    assert (float(letter.width), float(letter.height)) == (612.0, 792.0)  # 8.5 × 11 in


def _business_pdf(paper: str):
    import io

    audit = build_report_audit()
    audit.sections = {"market": audit.sections["market"]}  # one short section is enough
    audit.config.values["report"]["paper"] = paper
    return io.BytesIO(pdf_report.html_to_pdf(render_report(audit, "business")))


def test_charts_are_vector_and_their_text_is_searchable(rendered) -> None:
    _, files, _ = rendered
    reader = PdfReader(files["compliance.pdf"])
    assert all(not page.images for page in reader.pages)  # no raster image anywhere
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Selection rate per group" in text and "selection rate (share)" in text  # inside the SVG


def test_running_header_names_model_and_report_id(rendered) -> None:
    _, files, _ = rendered
    pages = _text_pages(files["compliance.pdf"])
    assert f"Report {REPORT_ID}" not in pages[0]  # not on the cover
    for text in pages[1:]:
        assert "toxicity-bert-v3" in text and f"Report {REPORT_ID}" in text


def test_table_rows_never_split_across_pages() -> None:
    import io

    audit = build_report_audit()
    audit.sections.clear()  # only the long table: a short document, the same layout rules
    rows = [{"row": f"row{i:03d}", "note": f"first{i:03d} " + "filler words " * 18 + f"last{i:03d}"} for i in range(60)]
    audit.sections["long"] = Section("long", "Long table", tables=[Table("Tall rows", pd.DataFrame(rows))], order=150)
    reader = PdfReader(io.BytesIO(pdf_report.html_to_pdf(render_report(audit, "compliance"))))
    pages = [page.extract_text() for page in reader.pages]
    used = set()
    for i in range(60):
        holding = [n for n, text in enumerate(pages) if f"first{i:03d}" in text or f"last{i:03d}" in text]
        assert len(holding) == 1, f"row {i} split over pages {holding}"
        assert f"first{i:03d}" in pages[holding[0]] and f"last{i:03d}" in pages[holding[0]]
        used.add(holding[0])
    assert len(used) >= 2  # the table does run over a page break


def test_weasyprint_has_nothing_to_complain_about(rendered) -> None:
    _, _, warnings = rendered
    # every CSS rule understood; the fontTools fallback note only says libharfbuzz-subset0
    # is not installed (slower font subsetting, same output)
    assert [w for w in warnings if "instead of HarfBuzz-Subset" not in w] == []


def test_identical_bytes_with_source_date_epoch(rendered, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    _, files, _ = rendered
    again = pdf_report.auditkit_render(audit=build_report_audit(), out_dir=tmp_path, formats=["pdf"])
    for path in again:
        assert path.read_bytes() == files[path.name].read_bytes(), path.name


@needs_poppler
def test_pdftotext_layout_and_first_page_png(rendered, tmp_path: Path) -> None:
    _, files, _ = rendered
    layout = _pdftotext(files["compliance.pdf"], "-layout")
    rows = [line.split() for line in layout.splitlines() if line.split()[:1] == ["nonbinary"]]
    assert ["nonbinary", "61", "0.31", "0.79", "0.09"] in rows  # the group table's row, on one line
    assert "Compliance report" in _pdftotext(files["compliance.pdf"], "-f", "1", "-l", "1")
    subprocess.run(
        ["pdftoppm", "-r", "40", "-f", "1", "-l", "2", "-png", str(files["compliance.pdf"]), str(tmp_path / "page")],
        check=True,
    )
    from PIL import Image

    pngs = sorted(tmp_path.glob("page-*.png"))
    assert len(pngs) == 2
    for png in pngs:
        with Image.open(png) as image:
            assert image.size == (331, 468)  # A4 at 40 dpi
            inked = sum(image.convert("L").histogram()[:128])
            assert inked > 500, png.name  # real content, not a blank page
    with Image.open(pngs[0]) as cover:
        import numpy as np

        r, g, b = np.asarray(cover.convert("RGB"), dtype=int).transpose(2, 0, 1)
        vermillion = int(((abs(r - 213) < 25) & (abs(g - 94) < 25) & (b < 40)).sum())
        assert vermillion > 20  # the FAIL verdict badge is drawn in colour on the cover


@pytest.fixture(scope="module")
def two_reports() -> tuple[list[str], list[bytes]]:
    """Both reports' HTML and their PDFs made one after the other (the slow reference)."""
    old = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    try:
        audit = build_report_audit()
        htmls = [render_report(audit, kind) for kind in pdf_report.REPORTS]
        return htmls, [pdf_report.html_to_pdf(html) for html in htmls]
    finally:
        if old is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = old


def test_reports_side_by_side_are_the_bytes_of_one_after_the_other(two_reports, monkeypatch) -> None:
    htmls, serial = two_reports
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.setattr(pdf_report, "_free_cores", lambda: 1)  # a worker process even on one core
    assert [pdf for pdf, _ in pdf_report.htmls_to_pdfs(htmls)] == serial


def test_workers_start_only_when_the_reports_are_ready(two_reports, monkeypatch) -> None:
    """No worker beside the audit (the public auditkit_render_prepare hook is gone): the
    render call starts one per report after the first, the first is laid out here."""
    from auditkit import hookspecs

    htmls, serial = two_reports
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    assert not hasattr(hookspecs, "auditkit_render_prepare") and not hasattr(pdf_report, "auditkit_render_prepare")
    started = []
    real = warm_process.WarmProcess
    monkeypatch.setattr(warm_process, "WarmProcess", lambda modules: started.append(real(modules)) or started[-1])
    assert [pdf for pdf, _ in pdf_report.htmls_to_pdfs(htmls, workers=1)] == serial
    assert len(started) == len(htmls) - 1 and started[0].proc.wait(timeout=60) == 0  # it did the work
    started.clear()
    assert [pdf for pdf, _ in pdf_report.htmls_to_pdfs(htmls, workers=0)] == serial  # no core to spare
    assert started == []


def test_a_failing_worker_process_costs_time_not_the_report(two_reports, monkeypatch) -> None:
    htmls, serial = two_reports
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.setattr(pdf_report, "_free_cores", lambda: 1)
    monkeypatch.setattr(warm_process, "_PROGRAM", "import sys; sys.exit(3)")
    assert [pdf for pdf, _ in pdf_report.htmls_to_pdfs(htmls)] == serial
    monkeypatch.setattr(pdf_report, "_free_cores", lambda: 0)  # one core: no worker at all
    assert [pdf for pdf, _ in pdf_report.htmls_to_pdfs(htmls)] == serial


def test_a_worker_reports_the_urls_it_refused(monkeypatch) -> None:
    monkeypatch.setattr(pdf_report, "_free_cores", lambda: 1)
    page = '<html><body><img src="http://127.0.0.1:9/x.png" alt="x"></body></html>'
    (_, here), (_, there) = pdf_report.htmls_to_pdfs([page, page.replace("x.png", "y.png")])
    assert here == ["http://127.0.0.1:9/x.png"] and there == ["http://127.0.0.1:9/y.png"]


def test_free_cores_from_the_idle_time_while_the_html_renders(monkeypatch) -> None:
    """Measured over the HTML rendering (this process busy on one core), so the load a
    finished inference left in the load average does not stop the worker."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (1.9, 1.9, 1.9))  # just after a busy phase
    for idle_ticks, free in ((50, 1), (35, 1), (20, 0), (0, 0)):
        monkeypatch.setattr(pdf_report, "_cpu_times", lambda idle=idle_ticks: (1000 + idle, 10_100))
        assert pdf_report._free_cores(since=(1000, 10_000)) == free, idle_ticks
    # too short a window to tell (under 0.1 s): the load average decides
    monkeypatch.setattr(pdf_report, "_cpu_times", lambda: (1010, 10_010))
    assert pdf_report._free_cores(since=(1000, 10_000)) == 0


def test_cpu_times_are_read_from_proc_stat() -> None:
    if not os.path.exists("/proc/stat"):
        pytest.skip("no /proc/stat here")
    idle, total = pdf_report._cpu_times()
    with open("/proc/stat", encoding="ascii") as stat:
        first = stat.readline().split()
    later = [int(x) for x in first[1:9]]
    assert first[0] == "cpu" and 0 < idle <= later[3] + later[4] and idle < total <= sum(later)


def test_a_worker_only_where_a_core_is_free(monkeypatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    for load, free in ((0.1, 1), (1.3, 1), (1.7, 0), (5.0, 0)):
        monkeypatch.setattr(os, "getloadavg", lambda load=load: (load, load, load))
        assert pdf_report._free_cores() == free, load
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert pdf_report._free_cores() == 0
