"""PDF renderer: ``compliance.pdf`` and ``business.pdf`` via weasyprint, from the same HTML.

The print stylesheet in the layout gives the paper size ([report] paper), the running
header (model name, report id), "page X of Y", rows that never split, and one outline
bookmark per section; the document metadata comes from the HTML ``<meta>`` tags, dated
``audit.created`` so reruns with SOURCE_DATE_EPOCH are byte-identical.

Nothing is fetched: the report is self-contained, and :class:`ReportFetcher` refuses
``file:``, ``http(s):`` and every other scheme (an inline PNG ``data:`` image inside a
chart is the only exception). A refused attempt becomes a ``warn`` entry in the audit's
``render_errors`` (audit.json), never a finding: the verdict is fixed before rendering.
"""

from __future__ import annotations

import base64
import functools
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditkit import Finding, hookimpl
from auditkit.warm import cores as _cores

if TYPE_CHECKING:
    from auditkit import Audit, ConfigSection

AUDITKIT_REQUIRES = {"weasyprint": "'auditkit[pdf]'"}
REPORTS = ("compliance", "business")
FETCH_REFUSED = "report-fetch-refused"
_INLINE_IMAGE = re.compile(r"data:(image/(?:png|jpeg));base64,([A-Za-z0-9+/=\s]*)\Z")


@hookimpl
def auditkit_config_schema() -> ConfigSection:
    from auditkit.rendering import report_config_schema

    return report_config_schema()  # the same object as html's: [report] is shared


@hookimpl
def auditkit_report_formats() -> list[str]:
    return ["pdf"]


@hookimpl
def auditkit_render(audit: Audit, out_dir: Path, formats: list[str]) -> list[Path] | None:
    if "pdf" not in formats:
        return None
    from auditkit.rendering import add_render_error, environment_for, render_report

    env = environment_for(audit)
    written = []
    refused: list[str] = []
    since = _cpu_times()  # how idle the other cores stay while this one renders the HTML
    htmls = [render_report(audit, kind, env) for kind in REPORTS]
    pdfs = htmls_to_pdfs(htmls, _free_cores(since))
    for kind, (pdf, refused_here) in zip(REPORTS, pdfs, strict=True):
        path = Path(out_dir) / f"{kind}.pdf"
        path.write_bytes(pdf)
        written.append(path)
        refused.extend(refused_here)
    if refused:  # a fact of the reports, not of the model: never a finding (the verdict is final)
        shown = ", ".join(sorted(set(refused))[:5])
        add_render_error(
            audit,
            Finding("warn", FETCH_REFUSED,
                    f"the PDF renderer refused {len(refused)} external resource(s): {shown[:300]}",
                    plugin="pdf"),
        )
    return written


def html_to_pdf(html: str, fetcher: Any = None) -> bytes:
    """Lay out report HTML with weasyprint; only ``fetcher`` may resolve a URL."""
    import weasyprint

    document = weasyprint.HTML(string=html, url_fetcher=fetcher or make_fetcher(), media_type="print")
    return document.write_pdf()


def htmls_to_pdfs(htmls: list[str], workers: int | None = None) -> list[tuple[bytes, list[str]]]:
    """Several reports at once: ``(pdf, refused URLs)`` each, in order.

    weasyprint is pure Python and holds the GIL, so the reports are laid out side by side
    in processes (:class:`auditkit.warm.WarmProcess`; what weasyprint logs there is logged
    here) while a CPU core is free for one (``workers``, by default :func:`_free_cores`):
    this process lays out the first (the longest, compliance), new workers the others. The
    bytes are those :func:`html_to_pdf` makes one after the other (a test checks). With one
    core, or when a worker cannot start or fails, a report is laid out here.

    No worker is started before the render call (the audit's ``auditkit_render_prepare``
    hook did that, to have weasyprint imported by then): it saved about the import, under a
    second, within the noise of a render step that takes 13-17 s on a shared 2-core machine,
    and it put a renderer's speed-up into the public hooks.
    """
    free = _free_cores() if workers is None else workers
    away: dict[int, Callable[[], tuple[bytes, list[str], list[tuple[int, str]]]]] = {}
    for i in range(1, len(htmls)):
        if free <= 0:
            break
        away[i] = _worker().submit(_pdf_and_refusals, htmls[i], True)
        free -= 1
    results = {i: _pdf_and_refusals(html)[:2] for i, html in enumerate(htmls) if i not in away}
    for i, wait in away.items():
        pdf, refused, records = wait()
        for level, message in records:
            logging.getLogger("weasyprint").log(level, "%s", message)
        results[i] = (pdf, refused)
    return [results[i] for i in range(len(htmls))]


def _worker() -> Any:
    """A process importing weasyprint, for one report. It starts when the reports are ready,
    so it imports no more than it needs: a scrap layout first (fonts loaded ahead) would
    delay its report by more than it saves (about 0.35 s against 0.1 s)."""
    from auditkit.warm import WarmProcess

    return WarmProcess(("weasyprint", "auditkit.plugins.render.pdf_report"))


def _free_cores(since: tuple[int, int] | None = None) -> int:
    """CPU cores this process may use that nothing keeps busy.

    With ``since`` (:func:`_cpu_times` taken while this process kept one core busy): the
    idle share of the machine's CPU time from then to now, in cores; a finished run's
    load is not counted. Without it, or where /proc/stat is missing: the cores less the
    one this process runs on and the others' share of the 1-minute load average, which
    still counts work that just ended (the model's inference, say). On a busy machine a
    worker process only competes with this one, so the reports are laid out one after
    the other.
    """
    cores = _cores()
    now = _cpu_times() if since is not None else None
    if since is not None and now is not None and now[1] - since[1] >= 10 * cores:  # 0.1 s at 100 Hz
        idle = (now[0] - since[0]) / (now[1] - since[1]) * (os.cpu_count() or cores)
        return max(min(int(idle + 0.5), cores - 1), 0)
    try:
        busy = max(os.getloadavg()[0], 1.0)  # this process counts as one
    except (AttributeError, OSError):  # no load average (Windows)
        busy = 1.0
    return max(int(cores - busy + 0.5), 0)


def _cpu_times() -> tuple[int, int] | None:
    """(idle, total) clock ticks of all CPUs since boot, from /proc/stat (None elsewhere)."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(x) for x in stat.readline().split()[1:9]]  # user … steal; guests are in user
    except (OSError, ValueError):
        return None
    if len(fields) < 5:
        return None
    return fields[3] + fields[4], sum(fields)  # idle + iowait


def _pdf_and_refusals(html: str, worker: bool = False) -> tuple[bytes, list[str], list[tuple[int, str]]]:
    """One PDF, the URLs its fetcher refused and (in a worker process) what weasyprint logged."""
    records: list[tuple[int, str]] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: records.append((record.levelno, record.getMessage()))  # type: ignore[method-assign]
    if worker:
        logging.getLogger("weasyprint").addHandler(handler)
    fetcher = make_fetcher()
    try:
        return html_to_pdf(html, fetcher), fetcher.refused, records
    finally:
        logging.getLogger("weasyprint").removeHandler(handler)


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
