"""One chart style for every plugin: matplotlib → inline SVG with a text alternative.

Plugins draw on a figure from :func:`new_figure` and turn it into a
:class:`~auditkit.model.Chart` with :func:`to_chart`. matplotlib is imported here only
when a chart is drawn, never at start-up.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING, Any

from auditkit.model import Chart

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

_STYLE = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 100,
    "font.size": 9,
    "font.family": "DejaVu Sans",
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "legend.fontsize": 8,
    # text as text (not glyph paths): small SVGs that stay searchable in the PDF
    "svg.fonttype": "none",
    "svg.hashsalt": "auditkit",
    "path.simplify": True,
}


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
    """Render a figure to inline SVG (deterministic ids, no metadata date) as a Chart.

    ``title`` is shown above the chart and ``alt`` is the text alternative: one or two
    sentences that say what the chart shows in numbers.
    """
    import matplotlib

    style = getattr(fig, "_auditkit_style", _STYLE)
    buffer = io.StringIO()
    with matplotlib.rc_context(style):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": "auditkit"})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]  # drop the XML prologue and DOCTYPE: it is inline
    svg = _namespace_ids(svg, name)
    return Chart(name=name, title=title, svg=svg, alt=alt)


def _namespace_ids(svg: str, name: str) -> str:
    """Prefix SVG ids with the chart name, so two charts on one page never collide."""
    prefix = re.sub(r"[^A-Za-z0-9_-]", "-", name) + "-"
    ids = set(re.findall(r'id="([^"]+)"', svg))
    for ident in sorted(ids, key=len, reverse=True):
        svg = svg.replace(f'id="{ident}"', f'id="{prefix}{ident}"')
        svg = svg.replace(f"#{ident})", f"#{prefix}{ident})")
        svg = svg.replace(f'"#{ident}"', f'"#{prefix}{ident}"')
    return svg
