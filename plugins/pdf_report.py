"""PDF renderer: ``compliance.pdf`` and ``business.pdf`` via weasyprint, from the same HTML.

The print stylesheet in the layout gives the paper size ([report] paper), the running
header (model name, report id), "page X of Y", rows that never split, and one outline
bookmark per section; the document metadata comes from the HTML ``<meta>`` tags, dated
``audit.created`` so reruns with SOURCE_DATE_EPOCH are byte-identical.

Nothing is fetched: the report is self-contained, and :class:`ReportFetcher` refuses
``file:``, ``http(s):`` and every other scheme (an inline PNG ``data:`` image inside a
chart is the only exception). A refused attempt becomes a ``warn`` finding.
"""

from __future__ import annotations

import base64
import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditkit import Finding, hookimpl

if TYPE_CHECKING:
    from auditkit import Audit, ConfigSection

AUDITKIT_REQUIRES = {"weasyprint": "weasyprint==70.*"}
REPORTS = ("compliance", "business")
FETCH_REFUSED = "report-fetch-refused"
_INLINE_IMAGE = re.compile(r"data:(image/(?:png|jpeg));base64,([A-Za-z0-9+/=\s]*)\Z")


@hookimpl
def auditkit_config_schema() -> ConfigSection:
    from auditkit.rendering import report_config_schema

    return report_config_schema()  # the same object as html's: [report] is shared


@hookimpl
def auditkit_render(audit: Audit, out_dir: Path, formats: list[str]) -> list[Path] | None:
    if "pdf" not in formats:
        return None
    from auditkit.rendering import environment_for, render_report

    env = environment_for(audit)
    written = []
    refused: list[str] = []
    for kind in REPORTS:
        fetcher = make_fetcher()
        pdf = html_to_pdf(render_report(audit, kind, env), fetcher)
        path = Path(out_dir) / f"{kind}.pdf"
        path.write_bytes(pdf)
        written.append(path)
        refused.extend(fetcher.refused)
    if refused:
        shown = ", ".join(sorted(set(refused))[:5])
        audit.findings.append(
            Finding("warn", FETCH_REFUSED,
                    f"the PDF renderer refused {len(refused)} external resource(s): {shown[:300]}",
                    plugin="pdf")
        )
    return written


def html_to_pdf(html: str, fetcher: Any = None) -> bytes:
    """Lay out report HTML with weasyprint; only ``fetcher`` may resolve a URL."""
    import weasyprint

    document = weasyprint.HTML(string=html, url_fetcher=fetcher or make_fetcher(), media_type="print")
    return document.write_pdf()


def make_fetcher() -> Any:
    """A fresh :class:`ReportFetcher` (its ``attempts`` and ``refused`` lists are per use)."""
    return _fetcher_class()()


@functools.lru_cache(maxsize=1)
def _fetcher_class() -> type:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class ReportFetcher(URLFetcher):
        """weasyprint 70 fetcher (a ``URLFetcher`` subclass whose ``fetch`` is called).

        Records every URL asked for in ``attempts``; serves only inline PNG/JPEG
        ``data:`` images and refuses everything else, without touching the network
        or the file system (the urllib handlers of the base class are never used).
        """

        def __init__(self) -> None:
            super().__init__(allowed_protocols=("data",), allow_redirects=False, timeout=1)
            self.attempts: list[str] = []
            self.refused: list[str] = []

        def fetch(self, url: str, headers: Any = None) -> Any:
            self.attempts.append(url)
            match = _INLINE_IMAGE.match(url)
            if match is None:
                self.refused.append(url[:200])
                scheme = url.split(":", 1)[0][:20] if ":" in url else "relative"
                raise ValueError(f"auditkit reports fetch nothing ({scheme}: URL refused)")
            body = base64.b64decode(match[2], validate=False)
            return URLFetcherResponse(url, body=body, headers={"Content-Type": match[1]})

    return ReportFetcher
