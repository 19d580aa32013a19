"""Reports: both reports of the demo audit (HTML + PDF) against matplotlib's default SVG.

The subject is what ``auditkit run`` does in its render step for the html and pdf
renderers: ``compliance`` and ``business`` as HTML and as PDF (weasyprint), charts as
inline vector SVG. The audit is the real demo audit (``auditkit demo --quick``): the
script fine-tunes the quick demo model once (about a minute; reused from a cache folder
or given with ``--model-dir``), audits it in-process, and keeps two SVGs of every chart
the plugins draw: auditkit's (:func:`auditkit.charts.figure_svg`) and matplotlib's default
SVG of the same figure (:func:`auditkit.charts.reference_svg`: every glyph a path, CSS
``style`` strings, an id-only group around every artist). Then it times the render step
from the naive pipeline (matplotlib's default SVG inlined as it is, weasyprint's
automatic table layout, one PDF after the other) to auditkit's, one change at a time.

    python benchmarks/bench_reports.py
    python benchmarks/bench_reports.py --model-dir auditkit-demo --runs 7

The second table takes the charts alone (one PDF holding every chart of the audit) and
changes one thing at a time, to show what weasyprint spends its time on. That the fast
charts draw the same thing as the reference is a test (tests/auditkit/test_rendering_charts.py).
Run it on a quiet machine: the tables show median, min and max of several runs.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import statistics
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bench

LIBRARIES = ("weasyprint", "matplotlib", "jinja2", "pydyf", "tinycss2", "cssselect2")
TARGET = 5.0
DEMO_TOOL = "auditkit demo"


def demo_model(model_dir: Path | None) -> Path:
    """The quick demo model: ``model_dir`` as given, else trained once into a cache folder."""
    if model_dir is not None:
        return model_dir
    cache = Path(tempfile.gettempdir()) / "auditkit-bench-demo-model"
    try:
        if json.loads((cache / "training.json").read_text(encoding="utf-8")).get("tool") == DEMO_TOOL:
            print(f"demo model: {cache} (cached)")
            return cache
    except (OSError, ValueError):
        pass
    from auditkit.plugins.assess.training import demo
    from auditkit.plugins.assess.training.pipeline import train

    start = time.perf_counter()
    options = demo.demo_options(cache, quick=True, seed=42, progress=False, pairs=demo.counterfactual_supported())
    out = train(options).out
    print(f"demo model: {out} (trained in {time.perf_counter() - start:.0f} s)")
    return out


def demo_audit(model_dir: Path, work: Path) -> tuple[Any, dict[str, str], dict[str, str]]:
    """Audit the demo model in-process; returns the Audit and, per chart, matplotlib's
    default SVG and the house-style SVG before :func:`auditkit.charts.clean_svg`."""
    import auditkit.charts as charts
    from auditkit.testing import run_audit

    references: dict[str, str] = {}
    unclean: dict[str, str] = {}
    fast = charts.figure_svg

    def both(fig: Any, name: str) -> str:
        references[name] = charts.reference_svg(fig, name)
        svg = fast(fig, name)
        unclean[name] = house_svg_unclean(fig)
        return svg

    start = time.perf_counter()
    charts.figure_svg = both
    try:
        run = run_audit(model_dir, work / "audit", formats=("json",))
    finally:
        charts.figure_svg = fast
    print(f"demo audit: {len(references)} charts, audited in {time.perf_counter() - start:.0f} s")
    return run.audit, references, unclean


def house_svg_unclean(fig: Any) -> str:
    """The house rc (text as ``<text>``) without :func:`auditkit.charts.clean_svg`."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context(fig._auditkit_style):
        fig.savefig(buffer, format="svg")
    return buffer.getvalue()


AUTO_TABLES = "<style>@media print { table.data, table.metrics { table-layout: auto; } }</style></head>"


def automatic_tables(html: str) -> str:
    """The report as before fixed table layouts: no column shares, weasyprint measures every cell."""
    html = re.sub(r"<colgroup>(?:<col class=\"w\d+\">)+</colgroup>", "", html)
    html = html.replace('<table class="data fixed"', '<table class="data"')
    return html.replace('<table class="metrics fixed"', '<table class="metrics"').replace("</head>", AUTO_TABLES, 1)


@contextmanager
def variant(audit: Any, svgs: dict[str, str] | None = None, sanitise: bool = True,
            auto_tables: bool = False, workers: int | None = None) -> Iterator[None]:
    """Render ``audit`` another way: other chart SVGs (``sanitise=False``: inlined as they
    are), automatic table layout, ``workers`` PDF worker processes (0: one after the other;
    ``None``: as many as auditkit finds free cores for)."""
    from auditkit.plugins.render import pdf_report
    from markupsafe import Markup

    import auditkit.rendering as rendering

    charts = [c for s in audit.sections.values() for c in s.charts]
    kept = {id(c): c.svg for c in charts}
    env = rendering.environment_for(audit)  # the cached environment the renderers use
    saved = env.filters["chart_svg"], rendering.render_report, pdf_report._free_cores
    for chart in charts:
        chart.svg = (svgs or {}).get(chart.name, chart.svg)
    if not sanitise:
        env.filters["chart_svg"] = lambda chart: Markup(chart.svg)
    if auto_tables:
        rendering.render_report = lambda *a, **k: automatic_tables(saved[1](*a, **k))
    if workers is not None:
        pdf_report._free_cores = lambda *_: workers
    try:
        yield
    finally:
        env.filters["chart_svg"], rendering.render_report, pdf_report._free_cores = saved
        for chart in charts:
            chart.svg = kept[id(chart)]


def render_step(audit: Any, out: Path) -> Callable[[], None]:
    """The render step of ``auditkit run`` for html and pdf: two HTML files, two PDFs."""
    from auditkit.plugins.render import html_report, pdf_report

    formats = ["html", "pdf"]

    def render() -> None:
        findings = list(audit.findings)
        html_report.auditkit_render(audit=audit, out_dir=out, formats=formats)
        pdf_report.auditkit_render(audit=audit, out_dir=out, formats=formats)
        audit.findings[:] = findings

    return render


def svg_shape(svgs: list[str]) -> str:
    """Elements, ``<use>``, ``<g>``, clip-path references, ``<text>`` and KB over all charts."""
    elements = uses = groups = clips = texts = 0
    for svg in svgs:
        root = ET.fromstring(svg[svg.index("<svg"):])
        for element in root.iter():
            tag = element.tag.rsplit("}", 1)[-1]
            elements += 1
            uses += tag == "use"
            groups += tag == "g"
            texts += tag == "text"
            clips += "clip-path" in element.attrib or "clip-path" in element.get("style", "")
    size = sum(len(s) for s in svgs) / 1000
    return f"{elements:>5} elements, {uses:>4} use, {groups:>4} g, {clips:>3} clipped, {texts:>3} text, {size:>4.0f} KB"


def charts_pdf(svgs: list[str]) -> Callable[[], None]:
    """One PDF with the given SVGs inline, nothing else on the page."""
    from auditkit.plugins.render.pdf_report import html_to_pdf

    body = "".join(f'<figure style="break-inside: avoid">{re.sub(r"^.*?(?=<svg)", "", s, flags=re.S)}</figure>'
                   for s in svgs)
    html = f"<html><head><style>svg {{ width: 160mm; height: auto }}</style></head><body>{body}</body></html>"
    return lambda: html_to_pdf(html)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, help="an existing demo model (auditkit demo --quick --out DIR)")
    parser.add_argument("--runs", type=int, default=5, help="runs of auditkit's render step")
    parser.add_argument("--baseline-runs", type=int, default=3, help="runs with matplotlib's default SVG")
    args = parser.parse_args(argv)
    print(_bench.environment(LIBRARIES))
    print()
    from auditkit.charts import clean_svg

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        audit, reference, unclean = demo_audit(demo_model(args.model_dir), work)
        ours = {c.name: c.svg for s in audit.sections.values() for c in s.charts}
        render = render_step(audit, work / "reports")
        first = _bench.timed(render, 1)  # imports weasyprint, compiles the templates, loads fonts
        print("\nboth reports of the demo audit, HTML + PDF (the render step of auditkit run), wall seconds\n")
        table = _bench.Table(width=60)
        base = None
        steps = [
            ("naive: matplotlib default SVG inlined, auto tables, serial",
             {"svgs": reference, "sanitise": False, "auto_tables": True, "workers": 0}, args.baseline_runs),
            ("  the same, default SVG through clean_svg", {"svgs": reference, "auto_tables": True, "workers": 0},
             args.baseline_runs),
            ("main before: figure_svg charts, auto tables, serial", {"auto_tables": True, "workers": 0},
             args.baseline_runs),
            ("  + fixed table layout with column shares", {"workers": 0}, args.runs),
            ("auditkit now: + PDFs side by side (a worker process)", {"workers": 1}, args.runs),
        ]
        for name, how, runs in steps:
            cpu: list[float] = []
            with variant(audit, **how):
                med = table.row(name, _bench.timed(render, runs, cpu), base, _cpu(cpu))
            base = base or med
        from auditkit.plugins.render.pdf_report import _free_cores

        print(f"{'':60} target {TARGET:.1f} s: {'met' if med <= TARGET else 'MISSED'}; at this load auditkit "
              f"would start {min(_free_cores(), 1)} worker process(es)")
        table.row("auditkit now, first render in the process", first, base, "imports weasyprint, loads fonts")
        pages = {p.stem: _pdf_pages(p) for p in sorted((work / "reports").glob("*.pdf"))}
        print(f"\npages: {pages}")

        names = sorted(ours)
        variants = {
            "matplotlib default SVG (glyphs as paths)": [reference[n] for n in names],
            "  + clean_svg (no groups, styles as attributes)": [clean_svg(reference[n]) for n in names],
            "svg.fonttype none (text as text), not cleaned": [unclean[n] for n in names],
            "auditkit (figure_svg: text as text, cleaned)": [ours[n] for n in names],
        }
        print(f"\nthe {len(names)} charts alone in one PDF, wall seconds\n")
        table = _bench.Table()
        slowest = None
        for name, svgs in variants.items():
            med = table.row(name, _bench.timed(charts_pdf(svgs), args.runs), slowest, svg_shape(svgs))
            slowest = slowest or med
    print("\nratio = first row's median / this row's median; cpu = median CPU seconds of this process\n"
          "(a PDF laid out in a worker process is not counted there).")
    return 0


def _cpu(seconds: list[float]) -> str:
    return f"cpu {statistics.median(seconds):.2f} s (this process)"


def _pdf_pages(path: Path) -> int | str:
    try:
        from pypdf import PdfReader
    except ImportError:
        return "?"
    return len(PdfReader(path).pages)


if __name__ == "__main__":
    raise SystemExit(main())
