"""Rendering machinery shared by the HTML, PDF and Markdown renderers.

Templates are found through one loader: plugin folders (from ``auditkit_template_dirs``)
first, then the built-in ``auditkit.templates`` package; ``default:NAME`` always means
the built-in template, so an override can extend the original. Autoescaping is on for
every template. Each section renders through its own partial on its own, so a failing
partial becomes an error card (and an ``error`` finding) instead of a lost report.
Logic stays here in Python; templates only lay out what :class:`ReportView` holds.

What makes weasyprint slow on these reports, measured on the demo audit (CPU seconds,
both PDFs): CSS columns and flex boxes (7.6 s for one metrics grid: tables now), font
subsetting through fontTools when libharfbuzz-subset0 is missing (0.7 s a document),
``overflow-wrap: anywhere`` (every cell's min-content width breaks at every letter:
``break-word`` instead), and matplotlib's SVG shape: id-only groups, CSS ``style``
strings and an RDF block per chart (see :func:`auditkit.charts.clean_svg`, about half
the SVG layout time). matplotlib's default SVG (``svg.fonttype = "path"``: every glyph a
``<use>`` of an outline) takes four times as long as text kept as text; clip paths cost
little. Data tables: the automatic table layout measures every cell's smallest and
largest width (a text layout each, twice) before laying it out, a fifth of a long
report's time, so they get a fixed layout with :func:`column_shares`. The two PDFs are
laid out side by side (:func:`auditkit.plugins.render.pdf_report.htmls_to_pdfs`).
benchmarks/bench_reports.py measures all of it on the demo audit.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from auditkit import __version__, reportdata
from auditkit.audit import Chart, Finding, Section, severity_rank
from auditkit.charts import UnsafeSVG, clean_svg
from auditkit.config import ConfigSection, Option
from auditkit.reportformat import (  # noqa: F401  (re-exported: renderers and plugins import them from here)
    ILLUSTRATIVE_LABEL,
    STATUS_LABELS,
    Fact,
    ReportSettings,
    format_date,
    format_number,
    format_value,
    is_number,
    parse_created,
    status_label,
    w3c_date,
)

if TYPE_CHECKING:
    import jinja2

    from auditkit.audit import Audit

GENERIC_PARTIAL = "section.html.j2"
ERROR_PARTIAL = "error_card.html.j2"
REPORT_TITLES = {"compliance": "Compliance report", "business": "Business report"}
MAX_TABLE_ROWS = 200  # longer tables are cut in the report; audit.json keeps every row
RENDER_ERROR_CODE = "report-template-error"


# --------------------------------------------------------------------------------------
# [report] configuration (declared by the html renderer, read by all three)
# --------------------------------------------------------------------------------------


@functools.cache
def report_config_schema() -> ConfigSection:
    """``[report]``, one shared object: the html, pdf and markdown renderers all declare it,
    so it stays a known section whichever of them a user disables."""
    return ConfigSection(
        "report",
        [
            Option("paper", "str", "A4", "paper size of the PDF reports", choices=("A4", "Letter")),
            Option("author", "str", "", "author named in the reports and the PDF metadata (empty: auditkit)"),
            Option("organisation", "str", "", "organisation named on the report covers"),
            Option("classification", "str", "", "marking printed on every page, e.g. 'Internal'"),
            Option("keywords", "list[str]", [], "extra PDF keywords (model name, task and 'audit' are always set)"),
            Option("top_findings", "int", 10, "findings listed in summary.md, most severe first",
                   minimum=1, maximum=200),
        ],
        help="Report layout and document metadata (HTML, PDF and summary.md).",
        plugin="html",  # named once, whichever renderer's declaration is collected first
    )


def report_settings(audit: Audit) -> ReportSettings:
    """The ``[report]`` values, with defaults when the declaring plugin is disabled."""
    values = {o.name: o.default for o in report_config_schema().options}
    values.update(audit.config.section("report") if audit.config is not None else {})
    return ReportSettings(
        paper=str(values["paper"]),
        author=str(values["author"]),
        organisation=str(values["organisation"]),
        classification=str(values["classification"]),
        keywords=tuple(values["keywords"]),
        top_findings=int(values["top_findings"]),
    )


# --------------------------------------------------------------------------------------
# environment and loader
# --------------------------------------------------------------------------------------


def builtin_template_dir() -> Path:
    import auditkit.templates

    return Path(auditkit.templates.__file__).parent


def collect_template_dirs(hook: Any, infos: dict[str, Any] | None = None) -> list[str]:
    """Folders from every ``auditkit_template_dirs`` implementation, third parties first.

    ``hook`` is ``pm.hook`` or ``audit.hook`` (the relay without the plugins this audit
    disabled). Implementations come in registration order, and auditkit registers
    external plugins before the built-ins, so a package's folder is searched before a
    built-in plugin's and can override its partial; with ``infos`` (the manager's
    records) built-ins go last whatever the order.
    """
    external: list[str] = []
    builtin: list[str] = []
    from auditkit.isolation import hook_of

    # results come in call order (last registered first): reversed, registration order
    for plugin, result in reversed(hook_of(hook, "auditkit_template_dirs").results()):
        items = result if isinstance(result, (list, tuple)) else [result]
        source = getattr((infos or {}).get(plugin), "source", "")
        target = builtin if source == "built-in" else external
        target.extend(str(Path(item)) for item in items if item)
    return external + builtin


def make_environment(template_dirs: Sequence[str | Path] = ()) -> jinja2.Environment:
    """A jinja2 environment with plugin folders before the built-ins and autoescape on."""
    return _environment(tuple(str(d) for d in template_dirs))


@functools.lru_cache(maxsize=8)
def _environment(template_dirs: tuple[str, ...]) -> jinja2.Environment:
    import jinja2  # here, not at import: the [report] schema is read on light commands too

    builtin = jinja2.FileSystemLoader(str(builtin_template_dir()))
    loader = jinja2.ChoiceLoader(
        [
            jinja2.PrefixLoader({"default": builtin}, delimiter=":"),
            jinja2.FileSystemLoader(list(template_dirs)),
            builtin,
        ]
    )
    env = jinja2.Environment(
        loader=loader,
        autoescape=True,  # every template, whatever its file name
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_finalize,
    )
    env.filters.update(
        num=format_number,
        anchor=anchor,
        chart_svg=chart_svg,
        date=format_date,
        w3c_date=w3c_date,
        plain=format_value,
        status=status_label,
        sources=sources_text,
    )
    env.globals.update(
        auditkit_version=__version__,
        severity_rank=severity_rank,
        status_rank=status_rank,
        MAX_TABLE_ROWS=MAX_TABLE_ROWS,
        GENERIC_PARTIAL=GENERIC_PARTIAL,
        table_rows=table_rows,
        numeric_columns=numeric_columns,
        column_shares=column_shares,
        section_key_numbers=section_key_numbers,
        is_number=is_number,
        sort_findings=lambda findings: sorted(findings, key=lambda f: -severity_rank(f.severity)),
    )
    return env


def environment_for(audit: Audit) -> jinja2.Environment:
    """The environment for this audit: its enabled plugins' template folders first."""
    hook = getattr(audit, "hook", None)
    return make_environment(collect_template_dirs(hook) if hook is not None else ())


# --------------------------------------------------------------------------------------
# filters: what every string, number, date and chart looks like
# --------------------------------------------------------------------------------------


# CSI / OSC / two-character escape sequences (colours, terminal titles, hyperlinks), any
# other control character, and the bidirectional overrides that make text read
# differently than it is stored. Tabs and newlines stay (pre-formatted text needs them).
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]|\x9b[0-?]*[ -/]*[@-~]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def strip_controls(text: str) -> str:
    """Text a model owner or plugin wrote, without terminal escapes or control characters."""
    return _CONTROL.sub("", _ANSI.sub("", text))


def _finalize(value: Any) -> Any:
    """Applied to every ``{{ … }}`` before escaping: plain strings lose control characters."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return strip_controls(value)
    return value


def anchor(name: str) -> str:
    """A stable, URL-safe id for a section (``section-fairness``)."""
    return "section-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-").lower() or "x")


def chart_svg(chart: Chart) -> Markup:
    """The chart's SVG, sanitised (any plugin may have built it) and marked safe."""
    try:
        return Markup(clean_svg(chart.svg, alt=chart.alt))
    except UnsafeSVG as exc:
        return Markup('<p class="chart-missing">') + escape(f"Chart not shown: {exc}") + Markup("</p>")


def table_rows(frame: Any, limit: int = MAX_TABLE_ROWS) -> list[list[Any]]:
    return [list(row) for row in frame.head(limit).itertuples(index=False)]


def section_key_numbers(section: Section, limit: int = 6) -> list[Fact]:
    """The metrics a section names in ``key_metrics``, as labelled values."""
    keys = getattr(section, "key_metrics", None) or []
    # a number from default inputs never stands as a plain figure
    tag = " (defaults)" if getattr(section, "illustrative", False) else ""
    return [Fact(k + tag, section.metrics[k]) for k in keys[:limit] if k in section.metrics]


def sources_text(sources: dict[str, str] | None) -> str:
    """A calculation's input sources in a few words: ``default`` when all agree, else
    ``α, β: default; y: measured`` (kinds in order of first appearance)."""
    groups: dict[str, list[str]] = {}
    for name, kind in (sources or {}).items():
        groups.setdefault(kind, []).append(name)
    if len(groups) <= 1:
        return next(iter(groups), "")
    return "; ".join(f"{', '.join(names)}: {kind}" for kind, names in groups.items())


# A print line of table text in characters (A4 less margins at 8.5 pt) and a cell's
# padding; only their ratio to the cell texts matters.
_LINE_CHARS = 88
_CELL_PADDING = 2


def column_shares(frame: Any, limit: int = MAX_TABLE_ROWS) -> list[int]:
    """Percent widths for a data table's columns (summing to 100), chosen the way the CSS
    automatic table layout chooses them, from the texts the table shows.

    With these widths a data table is laid out with ``table-layout: fixed``: weasyprint's
    automatic layout measures the smallest and largest width of every cell first (a text
    layout per cell, twice), which is most of the time a long table takes. Each column
    gets at least its longest word and grows towards its longest text.
    """
    header = [str(c) for c in frame.columns]
    cells = [[format_number(v) if is_number(v) else ("—" if v is None else str(v)) for v in row]
             for row in table_rows(frame, limit)]
    smallest, largest = [], []
    for j, title in enumerate(header):
        texts = [title, *(row[j] for row in cells)]
        smallest.append(max(len(w) for t in texts for w in (t.split() or [""])) + _CELL_PADDING)
        largest.append(max(len(t) for t in texts) + _CELL_PADDING)
    low, high = sum(smallest), sum(largest)
    if high <= _LINE_CHARS or high == low:
        widths = [float(w) for w in largest]
    elif low >= _LINE_CHARS:
        widths = [float(w) for w in smallest]
    else:
        grow = (_LINE_CHARS - low) / (high - low)
        widths = [lo + (hi - lo) * grow for lo, hi in zip(smallest, largest, strict=True)]
    return _percentages(widths)


def _percentages(widths: list[float]) -> list[int]:
    """Whole percentages in proportion to ``widths`` that sum to 100 (largest remainders)."""
    total = sum(widths) or 1.0
    exact = [100 * w / total for w in widths]
    shares = [max(int(x), 1) for x in exact]
    for j in sorted(range(len(exact)), key=lambda j: int(exact[j]) - exact[j])[: max(100 - sum(shares), 0)]:
        shares[j] += 1
    return shares


def numeric_columns(frame: Any) -> set[int]:
    """Positions of number columns (their headings align right, like their cells)."""
    import pandas as pd

    return {i for i, dtype in enumerate(frame.dtypes) if pd.api.types.is_numeric_dtype(dtype)
            and not pd.api.types.is_bool_dtype(dtype)}


# --------------------------------------------------------------------------------------
# views: what a report template receives
# --------------------------------------------------------------------------------------


@dataclass
class SectionView:
    section: Section
    anchor: str
    html: Markup
    error: str | None = None


@dataclass
class ReportView:
    kind: str
    title: str
    audit: Audit
    settings: ReportSettings
    sections: list[SectionView]
    findings: list[Finding]
    facts: list[Fact]
    key_numbers: list[Fact]
    summary: str
    keywords: list[str]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def document_title(self) -> str:
        return f"{self.title}: {self.audit.model.name}"

    @property
    def section_titles(self) -> dict[str, str]:
        return {s.name: s.title for s in self.audit.sections.values()}


def render_section(env: jinja2.Environment, audit: Audit, section: Section) -> SectionView:
    """Render one section through its partial; a failure becomes an error card."""
    name = section.template or GENERIC_PARTIAL
    ident = anchor(section.name)
    try:
        html = env.get_template(name).render(section=section, audit=audit, anchor=ident)
        return SectionView(section, ident, Markup(html))
    except Exception as exc:  # a broken partial must not take the report down with it
        error = f"{type(exc).__name__}: {exc}"
        try:
            card = env.get_template(ERROR_PARTIAL).render(section=section, template=name, error=error)
        except Exception:  # the error card itself is broken (an override): plain text
            card = str(Markup("<p>") + escape(f"{name}: {error}") + Markup("</p>"))
        return SectionView(section, ident, Markup(card), error)


def record_render_errors(audit: Audit, views: Iterable[SectionView]) -> None:
    """Each failed partial is an ``error`` in ``audit.render_errors`` once (html and pdf
    render the same partials); never a finding, so the verdict other reports state stands."""
    for view in views:
        if view.error:
            template = view.section.template or GENERIC_PARTIAL
            add_render_error(
                audit,
                Finding("error", RENDER_ERROR_CODE, f"template {template} failed: {view.error}",
                        section=view.section.name, plugin=view.section.plugin),
            )


def add_render_error(audit: Audit, finding: Finding) -> None:
    """Record a problem met while writing a report, once per (code, section, message).

    Renderers read the audit and write files; this list is the one thing they may add to
    (the verdict is fixed before they run: :meth:`auditkit.audit.Audit.finalize`).
    """
    errors = getattr(audit, "render_errors", None)
    if errors is None:  # an Audit-like object built by hand without the field
        return
    key = (finding.code, finding.section, finding.message)
    if all((f.code, f.section, f.message) != key for f in errors):
        errors.append(finding)


def status_rank(status: str) -> int:
    """Sort order of a badge: not assessed and illustrative below pass (nothing real passed)."""
    return -1 if status in ("not_assessed", "illustrative") else severity_rank(status)


def sorted_findings(audit: Audit, sections: Iterable[Section] | None = None) -> list[Finding]:
    """Most severe first, then in report order, then by code (a stable, readable order)."""
    order = {s.name: (s.order, s.name) for s in audit.sections.values()}
    chosen = audit.all_findings()
    if sections is not None:
        names = {s.name for s in sections}
        chosen = [f for f in chosen if f.section is None or f.section in names]
    return sorted(
        chosen,
        key=lambda f: (-severity_rank(f.severity), order.get(f.section or "", (-1, "")), f.code, f.message),
    )


def build_view(audit: Audit, kind: str, env: jinja2.Environment | None = None) -> ReportView:
    """Everything the ``compliance`` or ``business`` template shows, computed in Python."""
    env = env or environment_for(audit)
    views = [render_section(env, audit, s) for s in audit.ordered_sections(kind)]
    record_render_errors(audit, views)
    settings = report_settings(audit)
    chosen = [v.section for v in views]
    findings = sorted_findings(audit) if kind == "compliance" else sorted_findings(audit, chosen)
    return ReportView(
        kind=kind,
        title=REPORT_TITLES[kind],
        audit=audit,
        settings=settings,
        sections=views,
        findings=findings,
        facts=reportdata.cover_facts(audit, settings),
        key_numbers=reportdata.key_numbers(audit, kind),
        summary=reportdata.executive_summary(audit, kind, findings),
        keywords=reportdata.keywords(audit, kind, settings),
        extra=reportdata.extra(audit, kind),
    )


def render_report(audit: Audit, kind: str, env: jinja2.Environment | None = None) -> str:
    """The complete, self-contained HTML of one report (also the PDF's source)."""
    env = env or environment_for(audit)
    view = build_view(audit, kind, env)
    return env.get_template(f"{kind}.html.j2").render(view=view, audit=audit, settings=view.settings)


def render_index(audits: Sequence[Audit], env: jinja2.Environment | None = None) -> str:
    """The multi-model comparison page (``index.html``)."""
    if env is None:
        env = environment_for(audits[0]) if audits else make_environment()
    rows = reportdata.index_rows(audits)
    created = max((a.created for a in audits), default="")
    columns = reportdata.index_columns(audits)
    return env.get_template("index.html.j2").render(rows=rows, columns=columns, created=created)
