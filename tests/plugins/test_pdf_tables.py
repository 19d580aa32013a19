"""Data tables in print: fixed layout with computed column shares against weasyprint's own
automatic layout (the slow reference): the same cells, columns of about the same width."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from reportaudit import build_report_audit

from auditkit.rendering import column_shares, render_report

AUTO_CSS = "<style>@media print { table.data { table-layout: auto; } }</style></head>"


def _as_automatic(html: str) -> str:
    """The reference: the same report with weasyprint's automatic table layout."""
    html = re.sub(r"<colgroup>(?:<col class=\"w\d+\">)+</colgroup>", "", html)
    return html.replace('<table class="data fixed"', '<table class="data"').replace("</head>", AUTO_CSS, 1)


def _data_tables(html: str) -> dict[str, tuple[list[float], list[str]]]:
    """Per data table (by id): column widths in % of the table, and every body cell's text."""
    import weasyprint

    def walk(box):
        yield box
        for child in getattr(box, "children", None) or []:
            yield from walk(child)

    def text(box) -> str:
        return " ".join(b.text for b in walk(box) if hasattr(b, "text") and isinstance(b.text, str))

    found: dict[str, tuple[list[float], list[str]]] = {}
    for page in weasyprint.HTML(string=html, media_type="print").render().pages:
        for box in walk(page._page_box):
            if type(box).__name__ == "TableBox" and "data" in (box.element.get("class") or "").split():
                name = box.element.get("id")
                _, cells = found.setdefault(name, ([100 * w / box.width for w in box.column_widths], []))
                for group in box.children:  # body rows only: the header repeats on every page
                    if not getattr(group, "is_header", False):
                        cells.extend(text(c) for c in walk(group) if type(c).__name__ == "TableCellBox")
    return found


@pytest.fixture(scope="module")
def both_layouts() -> tuple[dict, dict]:
    html = render_report(build_report_audit(), "compliance")
    assert '<table class="data fixed"' in html
    return _data_tables(html), _data_tables(_as_automatic(html))


def test_fixed_tables_hold_the_same_cells_as_automatic_ones(both_layouts) -> None:
    fixed, automatic = both_layouts
    assert fixed.keys() == automatic.keys() and len(fixed) >= 3
    for name in fixed:
        assert any(fixed[name][1]) and fixed[name][1] == automatic[name][1], name


def test_column_shares_are_close_to_the_automatic_layout(both_layouts) -> None:
    fixed, automatic = both_layouts
    for name, (widths, _) in fixed.items():
        reference = automatic[name][0]
        assert len(widths) == len(reference), name
        assert max(abs(a - b) for a, b in zip(widths, reference, strict=True)) < 15, (name, widths, reference)


def test_column_shares_sum_to_100_and_follow_the_text() -> None:
    frame = pd.DataFrame({"id": [1, 2], "comment": ["a long comment " * 8, "short"], "ok": [True, False]})
    shares = column_shares(frame)
    assert sum(shares) == 100 and min(shares) >= 1
    assert shares[1] > shares[0] and shares[1] > shares[2]
    assert column_shares(pd.DataFrame({"a": [], "b": []})) == [50, 50]
    wide = pd.DataFrame({f"c{i}": ["x" * 30] for i in range(12)})  # wider than a line: equal shares
    assert sum(column_shares(wide)) == 100 and max(column_shares(wide)) - min(column_shares(wide)) <= 1
