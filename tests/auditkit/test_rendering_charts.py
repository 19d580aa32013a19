"""Charts: house style, lean SVG, and the sanitiser every chart passes before a report."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from auditkit.audit import Chart
from auditkit.charts import SVG_NS, UnsafeSVG, clean_svg, new_figure, to_chart
from auditkit.rendering import chart_svg


def _drawn(svg: str) -> list[str]:
    """What is actually drawn, in document order: tag and geometry of every leaf."""
    root = ET.fromstring(svg)
    leaves = []
    for element in root.iter():
        tag = element.tag.split("}")[-1]
        if tag in ("path", "use", "text", "rect", "line"):
            leaves.append(f"{tag}:{' '.join((element.get('d') or '').split())}:{element.get('x')}:{element.text}")
    return leaves


@pytest.fixture(scope="module")
def figure_svg() -> tuple[str, Chart]:
    """matplotlib's raw SVG of a figure, and the Chart to_chart made of the same figure."""
    import io

    fig, ax = new_figure()
    ax.bar(["a", "b", "c"], [0.2, 0.5, 0.3], label="rate")
    ax.plot([0, 1, 2], [0.1, 0.4, 0.2], marker="o", label="trend")
    ax.set_title("Selection rate")
    ax.set_xlabel("group")
    ax.set_ylabel("rate (share)")
    ax.legend()
    chart = to_chart(fig, "demo", "Selection rate", "Rates 0.2, 0.5 and 0.3 for groups a, b and c.")
    raw = io.StringIO()
    import matplotlib

    with matplotlib.rc_context(fig._auditkit_style):  # the same settings, without clean_svg
        fig.savefig(raw, format="svg")
    return raw.getvalue(), chart


def test_to_chart_is_lean_and_draws_the_same(figure_svg) -> None:
    raw, chart = figure_svg
    svg = chart.svg
    assert svg.startswith("<svg ") and "<metadata" not in svg and "<style" not in svg
    assert ' style="' not in svg  # presentation attributes instead of CSS
    assert "<g>" not in svg and '<g id="' not in svg  # id-only groups flattened
    raw_root, lean_root = ET.fromstring(raw[raw.index("<svg") :]), ET.fromstring(svg)
    assert sum(1 for _ in lean_root.iter()) < sum(1 for _ in raw_root.iter()) / 2
    # the same leaves in the same order (ids are namespaced, so compare geometry only)
    assert [re.sub(r"#\S+", "", x) for x in _drawn(svg)] == [re.sub(r"#\S+", "", x) for x in _drawn(raw)]
    assert len(svg) < 0.85 * len(raw)


def test_house_style_applies_to_text_made_after_new_figure(figure_svg) -> None:
    _, chart = figure_svg
    title = re.search(r"<text [^>]*>Selection rate</text>", chart.svg).group(0)
    assert 'font-size="10px"' in title and 'font-weight="700"' in title
    assert "'DejaVu Sans'" in title and "Bitstream" not in chart.svg  # one family, no fallback list
    assert "<text" in chart.svg and "<path d" in chart.svg  # text stays text (searchable, small)


def test_to_chart_is_deterministic() -> None:
    def draw() -> str:
        fig, ax = new_figure()
        ax.plot([1, 2, 3], [3, 1, 2])
        ax.set_xlabel("x (s)")
        ax.set_ylabel("y (m)")
        return to_chart(fig, "d", "Title", "Alt text.").svg

    assert draw() == draw()


def test_to_chart_requires_title_and_alt() -> None:
    fig, _ = new_figure()
    with pytest.raises(ValueError, match="title and a text alternative"):
        to_chart(fig, "x", "Title", "  ")


def test_chart_ids_are_namespaced(figure_svg) -> None:
    _, chart = figure_svg
    ids = re.findall(r'id="([^"]+)"', chart.svg)
    assert ids and all(i.startswith("demo-") for i in ids)
    for ref in re.findall(r'(?:href="#|url\(#)([^")]+)', chart.svg):
        assert ref in ids


HOSTILE_SVG = f"""<svg xmlns="{SVG_NS}" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 10 10"
 onload="alert(1)">
<script>alert('svg')</script>
<style>@import url(http://evil.example/x.css); * {{ fill: url(http://evil.example/p.png) }}</style>
<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">html</div></foreignObject>
<defs><clipPath id="c"><rect width="5" height="5"/></clipPath></defs>
<g id="only-id"><path d="M 0 0 L 1 1" clip-path="url(#c)" onclick="steal()"
 style="fill: url(http://evil.example/f.png); stroke: #000000; stroke-width: 0.8"/></g>
<image xlink:href="file:///etc/passwd" width="1" height="1"/>
<image href="data:image/png;base64,iVBORw0KGgo=" width="1" height="1"/>
<use xlink:href="http://evil.example/sprite.svg#a"/>
<a xlink:href="javascript:alert(1)"><text x="1" y="1">link</text></a>
<text x="2" y="2" style="font: bold 9px 'DejaVu Sans'; text-anchor: middle">label &lt;b&gt;</text>
</svg>"""


def test_clean_svg_removes_everything_active_or_external() -> None:
    svg = clean_svg(HOSTILE_SVG)
    bad_parts = ("script", "onload", "onclick", "foreignObject", "<style", "evil.example", "file:", "javascript:")
    for bad in (*bad_parts, "<a "):
        assert bad not in svg, bad
    assert 'clip-path="url(#c)"' in svg  # local references stay
    assert 'stroke="#000000"' in svg and 'stroke-width="0.8"' in svg  # safe declarations kept
    assert "data:image/png;base64,iVBORw0KGgo=" in svg  # an inline PNG is allowed
    assert 'font-weight="bold"' in svg and 'font-size="9px"' in svg and 'text-anchor="middle"' in svg
    assert "label &lt;b&gt;</text>" in svg  # text content stays escaped
    assert clean_svg(svg) == svg  # idempotent


def test_clean_svg_adds_the_text_alternative() -> None:
    svg = clean_svg(HOSTILE_SVG, alt='Rates <rise> & "fall"')
    root = ET.fromstring(svg)
    assert root.get("role") == "img" and root.get("aria-label") == 'Rates <rise> & "fall"'
    assert root[0].tag == f"{{{SVG_NS}}}title" and root[0].text == 'Rates <rise> & "fall"'
    assert "<rise>" not in svg


@pytest.mark.parametrize(
    "markup",
    ["<html><body>no svg</body></html>", "<svg", "not markup at all", '<svg xmlns="http://example.com/x"/>'],
)
def test_clean_svg_refuses_what_is_not_svg(markup: str) -> None:
    with pytest.raises(UnsafeSVG):
        clean_svg(markup)


def test_report_shows_a_note_instead_of_a_broken_chart() -> None:
    html = str(chart_svg(Chart("x", "X", "<script>alert(1)</script>", "alt")))
    assert html.startswith('<p class="chart-missing">Chart not shown:') and "<script>" not in html


# --------------------------------------------------------------------------------------
# the fast SVG against its slow reference: matplotlib's default SVG of the same figure
# --------------------------------------------------------------------------------------


def _marks(svg: str, reference: bool) -> dict[str, object]:
    """What a chart shows: its texts in order, every drawn path and every placed marker.

    In the reference each text is glyph outlines (``<use>`` of ``DejaVuSans-*`` paths) with
    the text in a comment before it; in the fast SVG it is a ``<text>``. Coordinates are
    compared to 0.1 pt (a text laid out as text may move a tick by a few thousandths).
    """
    root = ET.fromstring(svg[svg.index("<svg") :])
    definitions = {e.get("id"): e for e in root.iter() if e.get("id")}

    def geometry(d: str | None) -> str:
        return re.sub(r"-?\d+\.\d+", lambda m: f"{float(m.group()):.1f}", " ".join((d or "").split()))

    paths, markers, images = [], [], 0
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        ident = element.get("id") or ""
        if tag == "path" and "DejaVu" not in ident:
            paths.append(geometry(element.get("d")))
        elif tag == "use":
            href = element.get("href") or element.get(f"{{{XLINK}}}href") or ""
            if "DejaVu" not in href:
                target = definitions[href[1:]]
                where = f"{geometry(element.get('x'))},{geometry(element.get('y'))}"
                markers.append(f"{geometry(target.get('d'))} at {where}")
        images += tag == "image"
    if reference:
        texts = re.findall(r"<!-- (.*?) -->", svg)
    else:
        texts = ["".join(t.itertext()) for t in root.iter(f"{{{SVG_NS}}}text")]
    return {"texts": texts, "paths": sorted(paths), "markers": sorted(markers), "images": images}


XLINK = "http://www.w3.org/1999/xlink"


def _elements(svg: str) -> int:
    return sum(1 for _ in ET.fromstring(svg[svg.index("<svg") :]).iter())


def _busy_figure():
    fig, (left, right) = new_figure(width=7.2, height=3.4, ncols=2)
    left.bar(["north", "south", "east", "west"], [0.31, 0.52, 0.27, 0.44], label="selection rate", hatch="//")
    left.errorbar([0, 1, 2, 3], [0.3, 0.5, 0.3, 0.4], yerr=0.05, fmt="o", color="#000000", label="95 % interval")
    left.tick_params(axis="x", labelrotation=30)
    left.set_ylabel("rate (share)")
    left.set_title("Rates by region")
    left.legend()
    right.plot(range(50), [(i % 7) / 7 for i in range(50)], marker="s", markersize=3, label="loss")
    right.fill_between(range(50), 0, [(i % 5) / 10 for i in range(50)], alpha=0.3)
    right.axhline(0.5, linestyle="--")
    right.set_xlabel("step")
    right.annotate("peak", (6, 6 / 7))
    return fig


def test_fast_svg_draws_what_matplotlibs_default_svg_draws() -> None:
    from auditkit.charts import figure_svg, reference_svg

    fig = _busy_figure()
    reference, fast = reference_svg(fig, "busy"), figure_svg(fig, "busy")
    ref_marks, fast_marks = _marks(reference, reference=True), _marks(fast, reference=False)
    assert fast_marks == ref_marks
    assert fast_marks["images"] == 0 and len(fast_marks["paths"]) > 20  # vector, and something drawn
    assert {"Rates by region", "north", "rate (share)", "selection rate", "peak"} <= set(fast_marks["texts"])
    # what weasyprint pays for: the glyph outlines and the id-only groups are gone
    assert _elements(fast) < _elements(reference) / 2 and len(fast) < len(reference) / 2


def test_plugin_charts_keep_their_data(monkeypatch) -> None:
    """A real plugin chart (the valuation waterfall): same bars, labels and values as the reference."""
    from auditkit.plugins.value.business.charts import waterfall_chart

    import auditkit.charts as charts

    references: dict[str, str] = {}
    fast = charts.figure_svg

    def both(fig, name: str) -> str:
        references[name] = charts.reference_svg(fig, name)
        return fast(fig, name)

    monkeypatch.setattr(charts, "figure_svg", both)
    steps = [("V technology", 51_000.0), ("− C privacy", -4_000.0), ("+ g(P*) market", 23_906.0),
             ("× F fairness", -30_000.0)]
    chart = waterfall_chart(steps, 40_906.0, "EUR")
    ref_marks = _marks(references["valuation-waterfall"], reference=True)
    fast_marks = _marks(chart.svg, reference=False)
    assert fast_marks == ref_marks
    assert {"V technology", "51,000", "-30,000", "40,906", "risk-adjusted"} <= set(fast_marks["texts"])
