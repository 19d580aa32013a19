"""Markdown renderer: ``summary.md``, ready to paste into a GitHub, GitLab or Jira ticket.

Verdict line, sections, key numbers, top findings, and the report files with their
sha256. Runs ``trylast`` so the HTML and PDF files exist when it hashes them (the json
renderer, also ``trylast`` and registered later, runs after it). Every piece of text
that comes from a model, its data or a plugin goes through :func:`md_text`: no Markdown
or HTML injection, no table breakage, no terminal escape sequences. Under 65,000
characters (the Jira and GitHub comment limits) whatever the audit holds.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditkit import hookimpl

if TYPE_CHECKING:
    from auditkit import Audit, ConfigSection

FILENAME = "summary.md"
MAX_CHARS = 65_000

# What can turn text into markup: link and image brackets, code spans, emphasis stars,
# table pipes, strikethrough, underscores at a word edge (`V_net` stays literal in GFM,
# `_x_` would not), and the autolinks GFM finds in bare text ("://", "www."). Parentheses,
# colons and hashes are inert without these, so they stay readable.
_MARKDOWN = re.compile(r"([\\`*\[\]|~])|(?<!\w)_|_(?!\w)|(?<=[A-Za-z])(?=://)|(?<=\bwww)(?=\.)", re.I)
# What a ticket system links after rendering, so a backslash escape does not help (GitHub's
# and GitLab's reference filters run over the rendered text): @mentions (they notify
# people), e-mail autolinks, #12 / !12 / ~label / %milestone / $snippet / &epic refs. An
# invisible word joiner after the sigil keeps the text readable and the link out.
_REFERENCE = re.compile(r"([@#!~%$&])(?=[\w\"])")
_JOINER = "\u2060"
# Block markers that only count at the start of a line (a heading, a quote, a list item,
# a setext underline): the text may open a line in a ticket that quotes it.
_LEADING = re.compile(r"^(?:(#|>|-|\+|=)|(\d+)([.)]))")


def md_text(value: Any, limit: int | None = None) -> str:
    """Untrusted text as inert Markdown on one line (safe inside a table cell or at a line start)."""
    from auditkit.rendering import strip_controls

    text = " ".join(strip_controls(str(value)).split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    text = _REFERENCE.sub(lambda m: m.group(1) + _JOINER, text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MARKDOWN.sub(lambda m: "\\" + m.group(0), text)
    return _LEADING.sub(lambda m: f"\\{m.group(1)}" if m.group(1) else f"{m.group(2)}\\{m.group(3)}", text)


@hookimpl
def auditkit_config_schema() -> ConfigSection:
    from auditkit.rendering import report_config_schema

    return report_config_schema()  # the same object as html's: [report] is shared


@hookimpl
def auditkit_report_formats() -> list[str]:
    return ["md"]


@hookimpl(trylast=True)
def auditkit_render(audit: Audit, out_dir: Path, formats: list[str]) -> list[Path] | None:
    if "md" not in formats:
        return None
    from auditkit.rendering import report_settings

    settings = report_settings(audit)
    files = report_files(audit, Path(out_dir))
    text = build_summary(audit, files, settings.top_findings, json_written="json" in formats)
    path = Path(out_dir) / FILENAME
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
    return [path]


def report_files(audit: Audit, out_dir: Path) -> list[tuple[str, str]]:
    """(name, sha256) of every report file written so far, sorted by name.

    The host records each renderer's returned files in ``audit.files`` (and moves only
    those into place), so that list, not the staging folder, says what is delivered.
    """
    from auditkit.hashing import file_sha256

    found = {}
    for name in getattr(audit, "files", []):
        path = Path(name)
        if path.name != FILENAME and path.is_file():
            found[path.name] = file_sha256(path)
    return sorted(found.items())


def _code(text: str) -> str:
    """A code span only for plain identifiers (hashes, ids); anything else as text."""
    return f"`{text}`" if re.fullmatch(r"[\w.-]{1,80}", text) else md_text(text, 80)


def _md_date(created: str) -> str:
    from auditkit.rendering import format_date, parse_created

    return format_date(created) if parse_created(created) else md_text(created or "no date", 40)


def _md_value(value: Any) -> str:
    from auditkit.reportformat import format_number, is_number

    # our own number formatting needs no escaping (digits, separators, sign, e, dash)
    return format_number(value) if is_number(value) or value is None else md_text(value, 60)


def build_summary(audit: Audit, files: list[tuple[str, str]], top: int, json_written: bool = True) -> str:
    """The whole summary, shrinking the findings list until it fits in MAX_CHARS."""
    while True:
        text = _summary(audit, files, top, json_written)
        if len(text) <= MAX_CHARS or top == 0:
            break
        top //= 2
    if len(text) > MAX_CHARS:  # only with absurdly many sections or files
        cut = text.rfind("\n", 0, MAX_CHARS - 100)
        text = text[:cut] + "\n\n_Summary truncated: audit.json holds everything._\n"
    return text


def _summary(audit: Audit, files: list[tuple[str, str]], top: int, json_written: bool) -> str:
    from auditkit.rendering import section_key_numbers, sorted_findings, status_label
    from auditkit.reportdata import advising_section, finding_counts, key_numbers, recommendation

    findings = sorted_findings(audit)
    verdict = audit.verdict.upper()
    notes = "; ".join(md_text(note, 200) for note in audit.verdict_notes)
    qualified = f"{verdict}** ({notes})" if notes else f"{verdict}**"  # the notes sit beside the verdict
    lines = [
        f"## auditkit: {md_text(audit.model.name, 120)}: **{qualified}",
        "",
        f"**Verdict: {qualified} ({finding_counts(findings)}) · report {_code(audit.report_id)}"
        f" · {_md_date(audit.created)}",
        "",
    ]
    sections = audit.ordered_sections()
    if sections:
        lines += ["| Section | Report | Verdict | Key numbers | Summary |", "| --- | --- | --- | --- | --- |"]
        for s in sections:
            title, summary = md_text(s.title, 80), md_text(s.summary, 240)
            keys = "; ".join(f"{md_text(f.label, 40)} {_md_value(f.value)}" for f in section_key_numbers(s, 3))
            lines.append(f"| {title} | {s.report} | **{status_label(s.status).upper()}** | {keys or '—'} | {summary} |")
        lines.append("")
    numbers = {f.label: f for f in key_numbers(audit, "compliance") + key_numbers(audit, "business")}
    if numbers:
        lines += ["### Key numbers", "", "| Quantity | Value |", "| --- | ---: |"]
        # a label may carry config text (the currency), so it is escaped like any other
        lines += [f"| {md_text(f.label, 80)} | {_md_value(f.value)} |" for f in numbers.values()]
        lines.append("")
    if advising_section(audit) is not None:
        label, reason = recommendation(audit)
        lines += [f"**Recommendation: {md_text(label)}**: {md_text(reason, 300)}", ""]
    if findings:
        shown = findings[:top]
        lines += [f"### Top findings ({len(shown)} of {len(findings)})", ""]
        if shown:
            titles = {s.name: s.title for s in audit.sections.values()}
            lines += ["| Severity | Section | Code | Finding |", "| --- | --- | --- | --- |"]
            for f in shown:
                section = titles.get(f.section or "", f.section or "audit")
                # no code span for the code: backslash escapes would show inside one
                cells = (md_text(section, 60), md_text(f.code, 60), md_text(f.message, 300))
                lines.append(f"| **{f.severity.upper()}** | {' | '.join(cells)} |")
        lines.append("")
    lines += ["### Report files", ""]
    if files:
        lines += ["| File | SHA-256 |", "| --- | --- |"]
        lines += [f"| {md_text(name, 100)} | `{digest}` |" for name, digest in files]
    else:
        lines.append("No other report files were written.")
    if json_written:
        lines += ["", "audit.json, written with this summary, holds every number with its inputs."]
    lines.append("")
    return "\n".join(lines)
