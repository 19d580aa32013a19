"""A model whose labels, card and texts carry markup renders inert in HTML, PDF and Markdown.

The hostile strings point at a real listener on localhost, so "nothing is fetched" is
checked at the network too, not only in the fetcher's own records.
"""

from __future__ import annotations

import io
import re
import socketserver
import threading
from pathlib import Path

import pytest
from auditkit.plugins.render import html_report, markdown_report, pdf_report
from pypdf import PdfReader
from reportaudit import ALLOWED_TAGS, build_report_audit, collect, use_template_folder

from auditkit.rendering import render_report


class Listener(socketserver.ThreadingTCPServer):
    """Counts every connection made to it (a leaked fetch)."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self) -> None:
        self.connections = 0

        class Handler(socketserver.BaseRequestHandler):
            def handle(handler) -> None:
                self.connections += 1

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.fixture(scope="module")
def listener():
    server = Listener()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def hostile(listener, tmp_path_factory):
    host = f"127.0.0.1:{listener.server_address[1]}"
    audit = build_report_audit(hostile=True, host=host)
    out = tmp_path_factory.mktemp("hostile")
    files = []
    for plugin, formats in ((html_report, ["html"]), (pdf_report, ["pdf"])):
        files += plugin.auditkit_render(audit=audit, out_dir=out, formats=formats)
    audit.files = [str(p) for p in files]
    files += markdown_report.auditkit_render(audit=audit, out_dir=out, formats=["md"])
    return audit, host, {p.name: p for p in files}


PASSWD = Path("/etc/passwd")


def test_html_escapes_everything(hostile) -> None:
    _, host, files = hostile
    for name in ("compliance.html", "business.html"):
        html = files[name].read_text(encoding="utf-8")
        found = collect(html)
        assert found.tags <= ALLOWED_TAGS, found.tags - ALLOWED_TAGS  # no <script>, <img>, <link>, <style> smuggled
        assert all(h.startswith("#") for h in found.hrefs)
        assert host not in "".join(found.style_text) and not found.styles  # no url() reaches CSS
        assert "<script" not in html and "<img" not in html and "<link" not in html
        assert "\x1b" not in html and "\x07" not in html  # terminal escapes stripped
        assert "&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;" in html  # shown, as text
    compliance = files["compliance.html"].read_text(encoding="utf-8")
    assert "&lt;img src=file:///etc/passwd&gt;" in compliance  # label names and card, as text
    assert f"url(http://{host}/steal.png)" in compliance
    # the label names also reach an SVG chart's tick labels: escaped there too
    assert re.search(
        r"<text [^>]*>&lt;script&gt;alert\('owned'\)&lt;/script&gt;&lt;img src=file:///etc/passwd&gt;</text>",
        compliance,
    )
    assert '<meta name="author" content="Model Risk Office &lt;script&gt;' in compliance


def test_pdf_fetches_nothing_and_holds_no_file_content(hostile, listener) -> None:
    audit, _, files = hostile
    assert listener.connections == 0
    assert not [f for f in audit.render_errors if f.code == pdf_report.FETCH_REFUSED]  # nothing was even asked for
    secret = next(line for line in PASSWD.read_text().splitlines() if line.strip())
    for name in ("compliance.pdf", "business.pdf"):
        data = files[name].read_bytes()
        text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
        assert secret not in text and secret.encode() not in data
        assert all(not page.images for page in PdfReader(io.BytesIO(data)).pages)
    text = "\n".join(page.extract_text() for page in PdfReader(files["compliance.pdf"]).pages)
    assert "<script>alert('owned')</script>" in text  # printed literally, like any text


def test_pdf_fetcher_refuses_every_scheme(listener) -> None:
    """Raw HTML that does ask for resources: every request is refused and none leaves."""
    host = f"127.0.0.1:{listener.server_address[1]}"
    before = listener.connections
    html = f"""<html><head><link rel="stylesheet" href="http://{host}/a.css">
<style>@import url(http://{host}/b.css); body {{ background: url(https://{host}/c.png) }}</style></head>
<body><img src="file:///etc/passwd"><img src="ftp://{host}/d.png"><img src="relative.png">
<object data="file:///etc/hostname"></object><embed src="http://{host}/e.svg">
<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">
<image href="http://{host}/f.png" width="5" height="5"/></svg>
<p>text</p></body></html>"""
    fetcher = pdf_report.make_fetcher()
    pdf = pdf_report.html_to_pdf(html, fetcher)
    assert listener.connections == before
    assert fetcher.attempts and fetcher.refused == [url[:200] for url in fetcher.attempts]
    assert {"file:///etc/passwd", f"http://{host}/a.css", f"ftp://{host}/d.png"} <= set(fetcher.attempts)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "text" in text and PASSWD.read_text().splitlines()[0] not in text


def test_pdf_fetcher_serves_an_inline_png_only() -> None:
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    fetcher = pdf_report.make_fetcher()
    pdf_report.html_to_pdf(f'<p>x</p><img src="data:image/png;base64,{png}">', fetcher)
    assert len(fetcher.attempts) == 1 and fetcher.refused == []
    fetcher = pdf_report.make_fetcher()
    pdf_report.html_to_pdf('<p>x</p><img src="data:text/html;base64,PHNjcmlwdD4=">', fetcher)
    assert len(fetcher.refused) == 1


def test_refused_fetch_becomes_a_warning(tmp_path: Path, monkeypatch) -> None:
    """A third-party partial that references a URL: refused, and the reviewer is told."""
    (tmp_path / "leaky").mkdir()
    (tmp_path / "leaky" / "section.html.j2").write_text('<img src="https://example.invalid/x.png">', encoding="utf-8")
    audit = build_report_audit()
    from auditkit.audit import Section

    audit.sections["leaky"] = Section("leaky", "Leaky", template="leaky/section.html.j2", order=260)
    use_template_folder(audit, tmp_path, name="leaky")
    assert "https://example.invalid/x.png" in render_report(audit, "compliance")
    pdf_report.auditkit_render(audit=audit, out_dir=tmp_path, formats=["pdf"])
    (warning,) = [f for f in audit.render_errors if f.code == pdf_report.FETCH_REFUSED]
    assert warning.severity == "warn" and "https://example.invalid/x.png" in warning.message


def test_markdown_is_inert(hostile) -> None:
    _, host, files = hostile
    text = files["summary.md"].read_text(encoding="utf-8")
    assert f"http://{host}" not in text  # escaped (http\\://…), so no autolink either
    text = files["summary.md"].read_text(encoding="utf-8")
    assert "<script" not in text and "<img" not in text and "<link" not in text
    assert not re.search(r"(?<!\\)\]\(", text)  # no link can form: every ] is escaped
    assert "\x1b" not in text and "\x07" not in text
    assert "&lt;script&gt;" in text and r"\[click me\](javascript:alert(1))" in text
    assert r"a\|b" in text  # a pipe inside a cell is escaped ...
    for line in text.splitlines():
        if line.startswith("|"):  # ... so every table row keeps its column count
            cells = len(re.findall(r"(?<!\\)\|", line))
            assert cells in (3, 5, 6), line
