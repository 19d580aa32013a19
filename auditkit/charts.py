"""One chart style for every plugin: matplotlib → lean, safe inline SVG with a text alternative.

Plugins draw on a figure from :func:`new_figure` and turn it into a
:class:`~auditkit.audit.Chart` with :func:`to_chart`. matplotlib is imported here only
when a chart is drawn, never at start-up. A chart is drawn only when a report of the run
shows it (:func:`drawn_for`, :func:`chart`): matplotlib and the SVG cost seconds that an
audit writing only audit.json (CI, a 1M-row run) would spend for nothing.

Why the SVG is post-processed (:func:`clean_svg`): weasyprint lays out inline SVG through
its CSS machinery, so its cost grows with the number of nodes and ``style`` attributes,
not with what is drawn. matplotlib wraps every artist in an ``id``-only ``<g>``, writes
every paint property as a CSS ``style`` string and adds an RDF ``<metadata>`` block and a
global ``<style>`` rule. Flattening those groups and turning styles into presentation
attributes roughly halves the PDF time of a chart (see the notes in ``auditkit/rendering.py``).
The same pass is the sanitiser: reports render any plugin's SVG, so scripts, event
handlers, foreign objects and every reference outside the document are dropped.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from auditkit.audit import Chart

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Okabe–Ito: distinguishable with every common colour-vision deficiency.
PALETTE = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#000000",  # black
)
PASS_COLOR, WARN_COLOR, FAIL_COLOR = "#009E73", "#E69F00", "#D55E00"
FONT_FAMILY = "DejaVu Sans"  # ships with matplotlib and Debian: same glyphs in SVG and PDF

_STYLE = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 100,
    "font.size": 9,
    "font.family": FONT_FAMILY,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "legend.fontsize": 8,
    # text as text (not glyph paths): small SVGs that stay searchable in the PDF
    "svg.fonttype": "none",
    "svg.hashsalt": "auditkit",
    "path.simplify": True,
    # group names, labels and currencies come from the model dir: "$\\notacommand$" would
    # fail the whole chart and "$25k-$50k" would draw garbled math. Text made inside this
    # context (axes titles, tick labels made while drawing) starts literal; the rest is set
    # literal in _apply_house_text_style. Plugins write symbols as Unicode (ε, α, P*).
    "text.parse_math": False,
}

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
_HREF = f"{{{XLINK_NS}}}href"

# Everything matplotlib writes, and nothing that can run code or fetch a resource.
_ALLOWED_TAGS = frozenset(
    "svg g defs path rect circle ellipse line polyline polygon text tspan clipPath use "
    "title desc linearGradient radialGradient stop pattern mask symbol marker image".split()
)
# CSS properties that are also SVG presentation attributes (moved out of `style`).
_PRESENTATION = frozenset(
    "fill fill-opacity fill-rule stroke stroke-width stroke-opacity stroke-linecap "
    "stroke-linejoin stroke-miterlimit stroke-dasharray stroke-dashoffset opacity "
    "font-size font-family font-weight font-style font-variant text-anchor "
    "dominant-baseline clip-path clip-rule mask visibility display color "
    "stop-color stop-opacity letter-spacing".split()
)
_UNSAFE_VALUE = re.compile(r"url\s*\(\s*(?![\"']?#)|@import|expression\s*\(|javascript:|\\", re.I)
_SAFE_IMAGE = re.compile(r"data:image/(png|jpeg);base64,[A-Za-z0-9+/=\s]*\Z")


# formats whose reports show no chart: audit.json lists the charts' names and alt texts only,
# summary.md and junit.xml none. Any other format (html, pdf, a plugin's own) may show them.
NO_CHART_FORMATS = frozenset({"json", "md", "junit"})


def drawn_for(formats: Sequence[str] | None) -> bool:
    """Whether a report of these formats may show the charts (None, not known: draw)."""
    return formats is None or not set(formats) <= NO_CHART_FORMATS


def chart(name: str, title: str, alt: str, draw: Callable[[], Figure] | None) -> Chart:
    """``draw()`` makes the figure, as :func:`to_chart` takes it; None: the chart without
    its SVG (no report of the run shows it). Undrawn, a chart keeps its name, title and
    text alternative, so audit.json is the same whichever formats are written."""
    if draw is None:
        _check_words(name, title, alt)
        return Chart(name=name, title=title, svg="", alt=alt)
    return to_chart(draw(), name, title, alt)


def new_figure(width: float = 6.4, height: float = 3.6, ncols: int = 1, nrows: int = 1) -> tuple[Figure, Any]:
    """A figure in the house style; returns (figure, axes) like ``plt.subplots``."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from cycler import cycler
    from matplotlib.figure import Figure

    style = dict(_STYLE)
    style["axes.prop_cycle"] = cycler(color=list(PALETTE))
    with matplotlib.rc_context(style):
        fig = Figure(figsize=(width, height), layout="constrained")
        axes = fig.subplots(nrows=nrows, ncols=ncols, squeeze=True)
    fig._auditkit_style = style  # type: ignore[attr-defined]
    return fig, axes


def to_chart(fig: Figure, name: str, title: str, alt: str) -> Chart:
    """Render a figure to lean inline SVG (deterministic ids, no date) as a Chart.

    ``title`` is shown above the chart and ``alt`` is the text alternative: one or two
    sentences that say what the chart shows in numbers. Both are required, as are axis
    labels with units on the plot itself.
    """
    _check_words(name, title, alt)
    return Chart(name=name, title=title, svg=figure_svg(fig, name), alt=alt)


def _check_words(name: str, title: str, alt: str) -> None:
    if not title.strip() or not alt.strip():
        raise ValueError(f"chart {name!r}: a chart needs a title and a text alternative (alt)")


def figure_svg(fig: Figure, name: str) -> str:
    """The figure as lean inline SVG: house text style, text as text, ids prefixed by ``name``."""
    import matplotlib

    _apply_house_text_style(fig)
    style = getattr(fig, "_auditkit_style", _STYLE)
    buffer = io.StringIO()
    with matplotlib.rc_context(style):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": "auditkit"})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]  # drop the XML prologue and DOCTYPE: it is inline
    return clean_svg(_namespace_ids(svg, name))


def reference_svg(fig: Figure, name: str) -> str:
    """The slow reference of :func:`figure_svg`: matplotlib's SVG with its default ``svg.*``
    settings (every glyph a path, CSS ``style`` strings, metadata), ids prefixed alike.

    The benchmark (benchmarks/bench_reports.py) renders reports from it and a test checks
    that :func:`figure_svg` draws the same chart; reports never use it.
    """
    import matplotlib

    _apply_house_text_style(fig)
    style = dict(getattr(fig, "_auditkit_style", _STYLE))
    for key in [k for k in style if k.startswith("svg.")]:
        style[key] = matplotlib.rcParamsDefault[key]
    buffer = io.StringIO()
    with matplotlib.rc_context(style):
        fig.savefig(buffer, format="svg")
    svg = buffer.getvalue()
    return _namespace_ids(svg[svg.index("<svg") :], name)


def _apply_house_text_style(fig: Figure) -> None:
    """Text made after :func:`new_figure` (titles, legends) missed the rc context: fix it.

    That includes mathtext: a Text takes ``text.parse_math`` when it is made and
    ``Text.update_from`` (how matplotlib clones tick labels) does not copy it, so every
    text artist found here, tick labels and legend entries included, is made literal.
    """
    from matplotlib.text import Text

    for text in fig.findobj(Text):
        text.set_fontfamily(FONT_FAMILY)
        text.set_parse_math(False)
    for ax in fig.axes:
        for title in (ax.title, ax._left_title, ax._right_title):
            title.set_fontsize(_STYLE["axes.titlesize"])
            title.set_fontweight(_STYLE["axes.titleweight"])
        for label in (ax.xaxis.label, ax.yaxis.label):
            label.set_fontsize(_STYLE["axes.labelsize"])
        legend = ax.get_legend()
        if legend is not None:
            for text in legend.get_texts():
                text.set_fontsize(_STYLE["legend.fontsize"])


def _namespace_ids(svg: str, name: str) -> str:
    """Prefix SVG ids with the chart name, so two charts on one page never collide."""
    prefix = re.sub(r"[^A-Za-z0-9_-]", "-", name) + "-"
    ids = set(re.findall(r'id="([^"]+)"', svg))
    for ident in sorted(ids, key=len, reverse=True):
        svg = svg.replace(f'id="{ident}"', f'id="{prefix}{ident}"')
        svg = svg.replace(f"#{ident})", f"#{prefix}{ident})")
        svg = svg.replace(f'"#{ident}"', f'"#{prefix}{ident}"')
    return svg


_CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


class UnsafeSVG(ValueError):
    """The markup is not an SVG document auditkit can show."""


def clean_svg(svg: str, alt: str | None = None) -> str:
    """Sanitise and slim an SVG string for inline use in HTML and weasyprint.

    Keeps drawing elements only; drops ``<script>``, ``<foreignObject>``, ``<style>``,
    ``<metadata>``, event handlers, and any reference that is not ``#local`` (an
    ``<image>`` may carry an inline PNG or JPEG). Flattens ``id``-only groups and moves
    ``style`` declarations into presentation attributes. With ``alt`` the root gets
    ``role="img"``, an ``aria-label`` and a ``<title>``. Idempotent; raises
    :class:`UnsafeSVG` for markup that does not parse as an ``<svg>`` element.
    """
    # label text comes from the model and its data; matplotlib writes control characters
    # through, and XML forbids them (C1 controls are legal XML but only garble the chart)
    svg = _CONTROL_CHARS.sub("", svg)
    try:
        root = ET.fromstring(svg)
    except ET.ParseError as exc:
        raise UnsafeSVG(f"not well-formed SVG: {exc}") from None
    if root.tag != f"{{{SVG_NS}}}svg":
        raise UnsafeSVG(f"root element is {root.tag!r}, not svg")
    _clean_attributes(root, "svg")
    _clean_element(root, _referenced_ids(root))
    # matplotlib's global `*{stroke-linejoin: round; stroke-linecap: butt}`, as inherited
    # attributes (a <style> in inline SVG would also leak into the HTML page)
    root.attrib.setdefault("stroke-linejoin", "round")
    root.attrib.setdefault("stroke-linecap", "butt")
    for key in [k for k in root.attrib if k in ("role", "aria-label")]:
        del root.attrib[key]
    for old in root.findall(f"{{{SVG_NS}}}title"):
        root.remove(old)
    alt = _CONTROL_CHARS.sub("", alt) if alt else alt
    if alt:
        root.set("role", "img")
        root.set("aria-label", alt)
        title = ET.Element(f"{{{SVG_NS}}}title")
        title.text = alt
        root.insert(0, title)
    return _serialize(root)


def _serialize(root: ET.Element) -> str:
    """SVG markup with the default namespace and no prefixes, for inline use in HTML.

    ElementTree would need ``ET.register_namespace("", SVG_NS)``: that is global state,
    and it breaks weasyprint, whose HTML parser then no longer sees inline ``<svg>``.
    """
    parts: list[str] = []

    def write(element: ET.Element, is_root: bool) -> None:
        tag = element.tag.split("}", 1)[-1]
        attrs = f' xmlns="{SVG_NS}"' if is_root else ""
        attrs += "".join(f' {key}="{_escape(value, quote=True)}"' for key, value in element.attrib.items())
        if element.text is None and len(element) == 0:
            parts.append(f"<{tag}{attrs}/>")
        else:
            parts.append(f"<{tag}{attrs}>{_escape(element.text or '')}")
            for child in element:
                write(child, False)
            parts.append(f"</{tag}>")
        if element.tail:
            parts.append(_escape(element.tail))

    write(root, True)
    return "".join(parts)


def _escape(text: str, quote: bool = False) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace('"', "&quot;").replace("\n", "&#10;") if quote else text


def _referenced_ids(root: ET.Element) -> set[str]:
    found: set[str] = set()
    for element in root.iter():
        for value in element.attrib.values():
            found.update(re.findall(r"url\(\s*['\"]?#([^)'\"\s]+)", value))
            if value.startswith("#"):
                found.add(value[1:])
    return found


def _clean_element(element: ET.Element, referenced: set[str]) -> None:
    kept: list[ET.Element] = []
    for child in list(element):
        tag = child.tag.split("}", 1)[-1] if isinstance(child.tag, str) else ""
        in_svg = isinstance(child.tag, str) and child.tag.startswith(f"{{{SVG_NS}}}")
        if not in_svg or tag not in _ALLOWED_TAGS:
            continue  # script, style, foreignObject, metadata, comments, other namespaces
        _clean_attributes(child, tag)
        _clean_element(child, referenced)
        if tag == "g" and set(child.attrib) <= {"id"} and child.get("id") not in referenced:
            kept.extend(child)  # an id-only group draws nothing: keep its children only
        elif tag == "defs" and len(child) == 0:
            continue
        else:
            kept.append(child)
    for child in list(element):
        element.remove(child)
    element.extend(kept)
    # matplotlib indents its output: whitespace between tags is not content
    if element.text is not None and not element.text.strip() and len(element):
        element.text = None
    for child in element:
        if child.tail is not None and not child.tail.strip():
            child.tail = None


def _clean_attributes(element: ET.Element, tag: str) -> None:
    style = element.attrib.pop("style", None)
    if style:
        for prop, value in _declarations(style):
            element.attrib.setdefault(prop, value)
    href = element.attrib.pop(_HREF, None)
    if href is not None:  # SVG 2 `href` (weasyprint and browsers read it): no xlink prefix
        element.attrib.setdefault("href", href)
    for key in list(element.attrib):
        value = element.attrib[key]
        if key.startswith("{") or key.lower().startswith("on"):
            del element.attrib[key]  # other namespaces and event handlers
        elif key == "href":
            if not (value.startswith("#") or (tag == "image" and _SAFE_IMAGE.match(value))):
                del element.attrib[key]
        elif _UNSAFE_VALUE.search(value):
            del element.attrib[key]
        elif key == "d":
            element.attrib[key] = " ".join(value.split())  # matplotlib breaks paths per point


def _declarations(style: str) -> list[tuple[str, str]]:
    """``a: b; c: d`` → presentation attributes; unknown properties are dropped."""
    out: list[tuple[str, str]] = []
    for declaration in style.split(";"):
        prop, sep, value = declaration.partition(":")
        prop, value = prop.strip().lower(), value.strip()
        if not sep or not value or _UNSAFE_VALUE.search(value):
            continue
        if prop == "font":
            out.extend(_font_shorthand(value))
        elif prop in _PRESENTATION:
            out.append((prop, value))
    return out


def _font_shorthand(value: str) -> list[tuple[str, str]]:
    """matplotlib writes ``font: [style] [weight] 9px 'Family', ...``; split it up."""
    match = re.match(r"(?P<pre>(?:[\w-]+\s+)*?)(?P<size>[\d.]+(?:px|pt|em|%))\s+(?P<family>.+)", value)
    if not match:
        return []
    out = [("font-size", match["size"]), ("font-family", match["family"].strip())]
    for word in match["pre"].split():
        if word in ("italic", "oblique"):
            out.append(("font-style", word))
        elif word == "small-caps":
            out.append(("font-variant", word))
        elif word.isdigit() or word in ("bold", "bolder", "lighter"):
            out.append(("font-weight", word))
    return out
