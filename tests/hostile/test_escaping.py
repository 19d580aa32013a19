"""A hostile model dir through ``auditkit run`` in every format: every output stays inert.

What a model owner controls carries HTML, JavaScript, CSS ``url()``, Markdown links,
Jinja syntax and terminal escapes: the folder name, label names (config.json), the
model card (README.md), column names and values (eval.csv), and config strings
(auditkit.toml). The URLs point at a live listener, so a fetch anywhere would be seen.
(The renderers' own escaping is unit-tested on a hand-built audit in
tests/plugins/test_html_escaping.py; this runs the real pipeline end to end.)
"""

from __future__ import annotations

import io
import json
import re
import socketserver
import threading
from html.parser import HTMLParser

import pandas as pd
import pytest

from auditkit.testing import build_tiny_bert, run_cli

SCRIPT = "<script>alert('owned')</script>"
MD_LINK = "[click](javascript:alert(1))"
JINJA = "{{ 7*7 }}{% raw %}"
TERMINAL = "\x1b[31mred\x1b[0m\x1b]8;;http://evil.example/\x07link\x1b]8;;\x07\x9b2J\u202egnp.exe"
CONTROLS = ("\x1b", "\x07", "\x9b", "\u202e")


class Listener(socketserver.ThreadingTCPServer):
    """Counts every connection made to it: a leaked fetch from any renderer."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self) -> None:
        self.connections = 0
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                outer.connections += 1

        super().__init__(("127.0.0.1", 0), Handler)


class Markup(HTMLParser):
    """Every tag, attribute and style text of a document."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attrs: list[tuple[str, str]] = []
        self.style_text: list[str] = []
        self.scripts: list[str] = []
        self._inside = ""

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.add(tag)
        self._inside = tag
        if tag == "script":
            self.scripts.append("")
        self.attrs.extend((name, value or "") for name, value in attrs)

    def handle_endtag(self, tag) -> None:
        self._inside = ""

    def handle_data(self, data) -> None:
        if self._inside == "style":
            self.style_text.append(data)
        elif self._inside == "script":
            self.scripts[-1] += data


def _markup(html: str) -> Markup:
    parser = Markup()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def listener():
    server = Listener()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def hostile_run(listener, tmp_path_factory):
    """Build the hostile model dir, run every format once; (out folder, model folder, result, url)."""
    url = f"http://127.0.0.1:{listener.server_address[1]}"
    css = f"url({url}/steal.png)"
    root = tmp_path_factory.mktemp("hostile")
    name = 'tox-<b>"v3"'  # a folder name may hold markup too (but no slash)
    labels = (f"ok {SCRIPT}", f"toxic <img src={url}/x.png onerror=alert(1)> {css} {MD_LINK} a|b {JINJA} {TERMINAL}")
    model_dir = build_tiny_bert(root / name, labels=labels)
    (model_dir / "README.md").write_text(
        "---\n"
        f'license: mit\ndescription: "{SCRIPT} <style>body{{background:{css}}}</style>"\n'
        f"base_model: \"<a href='javascript:alert(1)'>base</a>\"\n"
        "---\n"
        f"# Injected heading\n{SCRIPT}\n<iframe src={url}/frame></iframe>\n{MD_LINK}\n{TERMINAL}\n",
        encoding="utf-8",
    )
    group = "grp<img src=x>"
    values = [f"a{SCRIPT}", "b|pipe", f"c{TERMINAL}", f"d {MD_LINK}", f"e {css}", f"f {JINJA}"]
    rows = [
        {"text": f"she wrote to mallory{i}@evil.example {SCRIPT}", "label": i % 2, group: values[i % len(values)]}
        for i in range(60)
    ]
    pd.DataFrame(rows).to_csv(model_dir / "eval.csv", index=False)
    (model_dir / "auditkit.toml").write_text(
        f'[data]\npath = "eval.csv"\nsensitive = ["{group}"]\n\n'
        f'[report]\nauthor = "Risk <script>x</script>"\norganisation = "{css}"\n'
        'classification = "\\u001b[5mSECRET\\u202e"\n'
        f'keywords = ["{MD_LINK}", "<img src=x>"]\n',
        encoding="utf-8",
    )
    out = root / "out"
    result = run_cli(["run", model_dir, "--out", out, "--format", "html,pdf,json,md"])
    return out, out / name, result, url


def test_terminal_output_is_sanitised(hostile_run) -> None:
    _, _, result, _ = hostile_run
    printed = result.stdout + result.stderr
    assert "Traceback" not in printed
    assert not [c for c in CONTROLS if c in printed], repr(printed[:2000])
    assert "tox-<b>" in printed  # the name is shown, only its control characters are gone


def test_every_format_was_written(hostile_run) -> None:
    out, folder, result, _ = hostile_run
    assert result.exit_code in (0, 1), result.stderr
    written = {p.name for p in folder.iterdir()}
    assert {"audit.json", "summary.md", "compliance.html", "business.html", "compliance.pdf"} <= written, written
    assert (out / "index.html").is_file()


@pytest.mark.parametrize("name", ["compliance.html", "business.html", "../index.html"])
def test_html_is_inert(hostile_run, name: str) -> None:
    _, folder, _, url = hostile_run
    html = (folder / name).read_text(encoding="utf-8")
    found = _markup(html)
    assert not found.tags & {"img", "iframe", "object", "embed", "link", "base", "form", "input"}
    if name == "../index.html":  # auditkit's own table sorter, and nothing from the model in it
        assert len(found.scripts) == 1 and "innerHTML" not in found.scripts[0]
        assert not [m for m in ("owned", "alert", url, "tox-") if m in found.scripts[0]]
    else:
        assert "script" not in found.tags
    assert not [a for a, _ in found.attrs if a.startswith("on")], "an event handler attribute got through"
    for attr, value in found.attrs:
        if attr in ("href", "src", "xlink:href", "action", "data"):
            inline_chart_image = re.match(r"data:image/(png|jpeg);base64,", value)  # a chart's own raster
            assert inline_chart_image or not re.match(r"\s*[a-z][a-z0-9+.-]*:", value, re.I), (
                f"{attr}={value[:80]!r} leaves the report"
            )
        if attr == "style":
            assert url not in value and "url(" not in value
    assert url not in "".join(found.style_text), "a CSS url() reached a stylesheet"
    assert not [c for c in CONTROLS if c in html]
    if name == "compliance.html":
        assert "&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;" in html  # shown as text
        assert "{{ 7*7 }}{% raw %}" in html


def test_markdown_is_inert(hostile_run) -> None:
    from markdown_it import MarkdownIt

    _, folder, _, url = hostile_run
    text = (folder / "summary.md").read_text(encoding="utf-8")
    assert not [c for c in CONTROLS if c in text]
    rendered = MarkdownIt("commonmark", {"html": True}).enable("table").render(text)  # as a ticket would show it
    found = _markup(rendered)
    assert not found.tags & {"script", "img", "iframe", "style", "link", "h1"}, found.tags
    hrefs = [v for a, v in found.attrs if a in ("href", "src")]
    assert not [h for h in hrefs if h.lower().startswith(("javascript:", url))], hrefs
    assert "<script" not in text and url not in text
    for table in re.findall(r"(?:^\|.*\n?)+", text, re.M):  # a pipe from the data cannot add a column
        counts = {len(re.findall(r"(?<!\\)\|", row)) for row in table.splitlines()}
        assert len(counts) == 1, table
    assert r"b\|pipe" in text or "b|pipe" not in text


def test_pdf_is_inert_and_fetched_nothing(hostile_run, listener) -> None:
    from pypdf import PdfReader

    _, folder, _, _ = hostile_run
    assert listener.connections == 0, "a renderer fetched a URL from the model dir"
    for name in ("compliance.pdf", "business.pdf"):
        data = (folder / name).read_bytes()
        assert b"/JavaScript" not in data and b"/JS " not in data and b"/Launch" not in data
        reader = PdfReader(io.BytesIO(data))
        for page in reader.pages:
            for annotation in page.get("/Annots") or []:
                action = annotation.get_object().get("/A") or {}
                uri = str(action.get("/URI", ""))
                assert not uri or uri.startswith("#"), f"{name} links out to {uri!r}"
    text = "\n".join(page.extract_text() for page in PdfReader(folder / "compliance.pdf").pages)
    assert "<script>alert('owned')</script>" in text  # printed as text, never run


def test_json_keeps_the_data_as_data(hostile_run) -> None:
    _, folder, _, _ = hostile_run
    raw = (folder / "audit.json").read_text(encoding="utf-8")
    audit = json.loads(raw)
    assert audit["model"]["labels"][0] == f"ok {SCRIPT}"  # exactly what config.json said
    assert "\x1b" not in raw  # JSON escapes control characters (\u001b)
    assert audit["model"]["name"] == 'tox-<b>"v3"'


def test_error_lines_and_debug_tracebacks_are_sanitised(hostile_run, tmp_path) -> None:
    """A config error quoting a hostile section name raw, with --debug: line and traceback clean."""
    import shutil

    _, folder, _, _ = hostile_run
    model_dir = tmp_path / "copy"
    source = next(p for p in folder.parent.parent.iterdir() if p.name.startswith("tox-"))
    shutil.copytree(source, model_dir)
    toml = model_dir / "auditkit.toml"
    toml.write_text(toml.read_text() + '\n["x\\u001b[2J\\u001b]0;pwned\\u0007\\u202ey"]\nk = 1\n')
    result = run_cli(["run", model_dir, "--out", tmp_path / "out", "--format", "json", "--debug"])
    assert result.exit_code == 2
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("auditkit: error:")]
    assert "unknown section" in line
    assert "Traceback" in result.stderr  # --debug shows it ...
    assert not [c for c in CONTROLS if c in result.stderr]  # ... sanitised like every line
