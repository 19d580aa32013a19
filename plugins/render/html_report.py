"""HTML renderer: ``compliance.html``, ``business.html`` and the multi-model ``index.html``.

Self-contained pages (inline CSS and SVG, no external URL) that read well on a laptop
and a phone. Declares the ``[report]`` config section the PDF and Markdown renderers
also read (all three declare the same shared section object, so it stays known whichever
of them is disabled). jinja2 and the rendering machinery are imported inside the hooks only.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from auditkit import hookimpl

if TYPE_CHECKING:
    from auditkit import Audit, ConfigSection

REPORTS = ("compliance", "business")


@hookimpl
def auditkit_config_schema() -> ConfigSection:
    from auditkit.rendering import report_config_schema

    return report_config_schema()


@hookimpl
def auditkit_report_formats() -> list[str]:
    return ["html"]


@hookimpl
def auditkit_render(audit: Audit, out_dir: Path, formats: list[str]) -> list[Path] | None:
    if "html" not in formats:
        return None
    from auditkit.rendering import environment_for, render_report

    env = environment_for(audit)
    written = []
    for kind in REPORTS:
        path = Path(out_dir) / f"{kind}.html"
        write_text(path, render_report(audit, kind, env))
        written.append(path)
    return written


@hookimpl
def auditkit_render_index(audits: list[Audit], out_dir: Path, formats: list[str]) -> list[Path] | None:
    if "html" not in formats:
        return None
    from auditkit.rendering import render_index

    path = Path(out_dir) / "index.html"
    write_text(path, render_index(audits))
    return [path]


def write_text(path: Path, text: str) -> None:
    """UTF-8 with LF endings on every platform (byte-identical reruns)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
