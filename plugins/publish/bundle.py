"""What every ticket publisher sends: the report files, their sha256, and the comment text.

Publishers read the written reports, not the live audit: ``auditkit publish OUT/<model>``
has only the folder, and a ticket must show what is on disk. The comment carries a
marker naming the model, so a re-run finds and updates its own comment instead of adding
a second one, and a record of each file's sha256, so an unchanged file is not sent again.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import mimetypes
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditkit.errors import UsageError

# the files a report folder holds that a ticket should get (not caches, not hidden files)
REPORT_SUFFIXES = (".json", ".md", ".html", ".pdf")
AUDIT_JSON_CAP = 256 * 1024 * 1024  # our own report; the cap only guards against a wrong folder
FILES_RECORD = re.compile(r"auditkit:files (\{[^\n]*\})")  # greedy: the record nests objects

_DRY_RUN: contextvars.ContextVar[bool] = contextvars.ContextVar("auditkit_publish_dry_run", default=False)


def dry_run() -> bool:
    """True while ``auditkit publish --dry-run`` runs: describe what would be sent, send nothing."""
    return _DRY_RUN.get()


@contextlib.contextmanager
def dry_run_mode(on: bool = True) -> Iterator[None]:
    token = _DRY_RUN.set(on)
    try:
        yield
    finally:
        _DRY_RUN.reset(token)


@dataclass(frozen=True)
class ReportFile:
    """One report file as a ticket receives it."""

    path: Path
    sha256: str
    size: int
    mode: int

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def content_type(self) -> str:
        if self.path.suffix == ".md":
            return "text/markdown; charset=utf-8"
        return mimetypes.guess_type(self.path.name)[0] or "application/octet-stream"

    def stored_name(self, model: str) -> str:
        """The name on the tracker: model and content in the name, so an unchanged file is
        recognised in the tracker's own file list and two models never overwrite each other."""
        return f"{safe_name(model)}-{self.sha256[:12]}-{self.name}"

    def read(self) -> bytes:
        return self.path.read_bytes()


@dataclass
class ReportBundle:
    """The reports of one model, read back from its report folder."""

    model: str
    report_id: str
    verdict: str
    findings: list[dict[str, Any]]
    summary: str
    files: list[ReportFile] = field(default_factory=list)
    model_path: str = ""  # as audit.json names it: relative, or the folder's name

    def file(self, name: str) -> ReportFile | None:
        return next((f for f in self.files if f.name == name), None)

    @property
    def marker(self) -> str:
        """The id of this model's comment on a ticket (one comment per model)."""
        return f"auditkit:model={urllib.parse.quote(self.model, safe='._-')}"


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "model"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def report_files(folder: Path) -> list[Path]:
    """The report files of ``OUT/<model>/`` (regular files, no symlinks), in a stable order."""
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such report folder; give OUT/<model> as written by auditkit run")
    if not (folder / "audit.json").is_file():
        raise UsageError(f"{folder}: no audit.json here; give OUT/<model> as written by auditkit run")
    return sorted(
        p for p in folder.iterdir()
        if p.suffix in REPORT_SUFFIXES and not p.name.startswith(".") and p.is_file() and not p.is_symlink()
    )


def read_bundle(files: list[Path], audit: Any = None) -> ReportBundle:
    """The bundle from the report files; the live ``audit`` fills in only what audit.json
    does not say (a run that did not write the JSON report)."""
    data: dict[str, Any] = {}
    audit_json = next((p for p in files if p.name == "audit.json"), None)
    if audit_json is not None:
        if audit_json.stat().st_size > AUDIT_JSON_CAP:
            raise UsageError(f"{audit_json}: larger than {AUDIT_JSON_CAP >> 20} MB; not an auditkit report")
        try:
            data = json.loads(audit_json.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise UsageError(f"{audit_json}: not valid JSON ({exc}); write the report again (auditkit run)") from None
        if not isinstance(data, dict) or not isinstance(data.get("model"), dict):
            raise UsageError(f"{audit_json}: no 'model' object; not an auditkit report")
    elif audit is None:
        raise UsageError("no audit.json among the report files; run with the json format")
    summary_path = next((p for p in files if p.name == "summary.md"), None)
    summary = summary_path.read_text(encoding="utf-8", errors="replace") if summary_path else ""
    if data:
        model = str(data["model"].get("name") or "model")
        findings = [f for f in data.get("findings", []) if isinstance(f, dict)]
        for section in (data.get("sections") or {}).values():
            if isinstance(section, dict):
                findings.extend(f for f in section.get("findings", []) if isinstance(f, dict))
        report_id, verdict = str(data.get("report_id", "")), str(data.get("verdict", "error"))
    else:
        model, report_id, verdict = audit.model.name, audit.report_id, audit.verdict
        findings = [f.to_json() for f in audit.all_findings()]
    if not summary:
        summary = f"auditkit verdict for {model}: **{verdict}**"
    entries = [ReportFile(p, file_sha256(p), p.stat().st_size, p.stat().st_mode & 0o777) for p in files]
    model_path = str(data["model"].get("path") or model) if data else model
    return ReportBundle(model, report_id, verdict, _unique(findings), summary, entries, model_path)


def _unique(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen, out = set(), []
    for finding in findings:
        key = (finding.get("severity"), finding.get("code"), finding.get("message"))
        if key not in seen:
            seen.add(key)
            out.append(finding)
    return out


# ---------------------------------------------------------------- comment text


def shorten(text: str, budget: int, link: str, tracker: str) -> str:
    """``text`` within ``budget`` characters: cut at the last row (line) or sentence that
    fits, then a note saying so with a link to the full report."""
    if len(text) <= budget:
        return text
    note = f"\n\n_… shortened to fit {tracker}'s comment limit; the full summary: {link}_"
    room = max(budget - len(note), 0)
    head = text[:room]
    cut = max(head.rfind("\n"), _last_sentence_end(head))
    kept = head[:cut].rstrip() if cut > 0 else head
    return (kept + note)[:budget]


def _last_sentence_end(text: str) -> int:
    ends = [m.end() for m in re.finditer(r"[.!?](?=\s)", text)]
    return ends[-1] if ends else -1


def read_files_record(body: str) -> dict[str, dict[str, str]]:
    """``{name: {"sha256": …, "url": …}}`` from a comment this plugin wrote before."""
    match = FILES_RECORD.search(body or "")
    if not match:
        return {}
    try:
        record = json.loads(match.group(1))
    except ValueError:
        return {}
    return {k: v for k, v in record.items() if isinstance(v, dict)} if isinstance(record, dict) else {}


def files_record(links: dict[str, tuple[str, str]]) -> str:
    """The hidden record of what was uploaded: name → sha256 and where it is."""
    record = {name: {"sha256": sha, "url": url} for name, (sha, url) in sorted(links.items())}
    return "auditkit:files " + json.dumps(record, separators=(",", ":"), sort_keys=True).replace("-->", "--\\u003e")


def file_lines(bundle: ReportBundle, links: dict[str, tuple[str, str]]) -> list[str]:
    out = []
    for f in bundle.files:
        url = links.get(f.name, ("", ""))[1]
        label = f"[{f.name}]({url})" if url else f.name
        out.append(f"- {label} · {f.size:,} bytes · sha256 `{f.sha256[:12]}`")
    return out


def markdown_comment(
    bundle: ReportBundle, links: dict[str, tuple[str, str]], limit: int, tracker: str, hidden: bool = True
) -> str:
    """The comment for a Markdown tracker (GitHub, GitLab; Roundup as plain text, ``hidden=False``):
    the summary (shortened to ``limit``), the file list, the marker and the files record."""
    wrap = (lambda s: f"<!-- {s} -->") if hidden else (lambda s: s)
    head = wrap(bundle.marker)
    tail = "\n".join(
        ["", "", f"**Report files** (auditkit report `{bundle.report_id}`):", *file_lines(bundle, links), "",
         wrap(files_record(links))]
    )
    full = next((links[n][1] for n in ("compliance.html", "summary.md", "audit.json") if n in links), "") or (
        "the report files below")
    budget = limit - len(head) - 1 - len(tail)
    return f"{head}\n{shorten(bundle.summary.strip(), budget, full, tracker)}{tail}"


def describe(bundle: ReportBundle, target: str, files_to: str, comment: str, limit: int) -> str:
    """What ``--dry-run`` prints: where the comment and the files would go, and the comment."""
    lines = [
        f"would publish {bundle.model} (verdict {bundle.verdict}) to {target}:",
        f"  comment: {len(comment):,} characters (limit {limit:,}); replaces this model's earlier auditkit "
        "comment if there is one",
        f"  files: {files_to}; a file whose sha256 is already there is not sent again",
        *(f"    {f.name}  {f.size:,} bytes  sha256 {f.sha256}" for f in bundle.files),
        "  --- comment ---",
        comment,
    ]
    return "\n".join(lines)
