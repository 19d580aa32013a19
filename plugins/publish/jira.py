"""Publishes reports to a Jira issue: ``--publish jira:KEY-123``.

Each report file is attached (``POST /rest/api/3/issue/{key}/attachments`` with
``X-Atlassian-Token: no-check``) under a name holding the model and the file's sha256, so an
attachment already there is not sent again; then one comment per model in the Atlassian
Document Format, found again by its last line (``auditkit:model=NAME``; ADF has no hidden
text) and edited in place. Jira refuses a comment over 32,767 characters: the summary is
shortened at a row or sentence so that the whole ADF body fits.

Credentials: ``JIRA_URL`` (https://your-site.atlassian.net) and either ``JIRA_EMAIL`` +
``JIRA_API_TOKEN`` (Jira Cloud, basic auth) or ``JIRA_USER`` + ``JIRA_TOKEN`` (the same,
other names), or ``JIRA_TOKEN`` alone (a Data Center personal access token, bearer auth).
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from pathlib import Path
from typing import Any

from auditkit.plugins.publish.bundle import ReportBundle, describe, dry_run, file_lines, read_bundle, shorten
from auditkit.plugins.publish.http import Http, base_url, env, multipart

from auditkit import hookimpl
from auditkit.errors import PublishError, UsageError

TARGET = re.compile(r"^jira:(?P<key>[A-Z][A-Z0-9_]{0,49}-[1-9][0-9]{0,9})$")
COMMENT_LIMIT = 32_767
HINTS = {
    401: "Jira refused the credentials: check JIRA_EMAIL and JIRA_API_TOKEN (or JIRA_TOKEN)",
    403: "the Jira user may not attach files or comment here: grant the project's Create Attachments and "
    "Add Comments permissions, and check that attachments are enabled",
    404: "no such Jira issue, or the user cannot see it: check the key in jira:KEY-123 and JIRA_URL",
    413: "Jira refused a file as larger than its attachment limit: publish fewer formats (--format) or raise the limit",
}


@hookimpl
def auditkit_publish(audit: Any, files: list[Path], target: str) -> str | None:
    if not target.startswith("jira:"):
        return None
    match = TARGET.match(target)
    if not match:
        raise UsageError(f"{target}: expected jira:KEY-123 (project key in capitals, then the number)")
    url = env("JIRA_URL")
    if url is None:
        raise UsageError(f"{target}: set JIRA_URL in the environment, e.g. https://your-site.atlassian.net")
    api = base_url(url, target, "JIRA_URL")
    auth = jira_auth()
    if auth is None:
        raise UsageError(
            f"{target}: set JIRA_EMAIL and JIRA_API_TOKEN (or JIRA_USER and JIRA_TOKEN, "
            "or a personal access token in JIRA_TOKEN) in the environment"
        )
    if not files:
        return target
    bundle = read_bundle(files, audit)
    jira = Jira(target, api, match["key"], auth)
    if dry_run():
        body = json.dumps(adf_comment(bundle, {}, COMMENT_LIMIT), ensure_ascii=False)
        return describe(bundle, target, f"attachments of {match['key']}", body, COMMENT_LIMIT)
    links = jira.attach(bundle)
    return jira.save_comment(bundle, adf_comment(bundle, links, COMMENT_LIMIT))


def jira_auth() -> str | None:
    user, token = env("JIRA_EMAIL", "JIRA_USER"), env("JIRA_API_TOKEN", "JIRA_TOKEN")
    if user and token:
        return "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode("ascii")
    if token and not user and env("JIRA_TOKEN"):
        return f"Bearer {token}"
    return None


class Jira:
    """The REST calls this publisher makes, on one issue."""

    def __init__(self, target: str, api: str, key: str, auth: str) -> None:
        self.http = Http(target, {"Authorization": auth}, HINTS)
        self.api = api
        self.issue_url = f"{api}/rest/api/3/issue/{urllib.parse.quote(key)}"
        self.key = key

    def attach(self, bundle: ReportBundle) -> dict[str, tuple[str, str]]:
        issue = self.http.request("GET", f"{self.issue_url}?fields=attachment").json() or {}
        listed = (issue.get("fields") or {}).get("attachment") or []
        attached = {a.get("filename"): a for a in listed if isinstance(a, dict)}
        links: dict[str, tuple[str, str]] = {}
        for f in bundle.files:
            name = f.stored_name(bundle.model)
            found = attached.get(name)
            if found is None:
                body, ctype = multipart({}, [("file", name, f.content_type, f.read())])
                answer = self.http.request(
                    "POST", f"{self.issue_url}/attachments", data=body, content_type=ctype,
                    headers={"X-Atlassian-Token": "no-check"},
                ).json()
                if not isinstance(answer, list) or not answer or not isinstance(answer[0], dict):
                    raise PublishError(f"{self.http.target}: Jira answered the attachment of {f.name} without a file")
                found = answer[0]
            links[f.name] = (f.sha256, str(found.get("content", "")))
        return links

    def save_comment(self, bundle: ReportBundle, body: dict[str, Any]) -> str:
        mine = None
        for start in range(0, 10_000, 100):
            page = self.http.request("GET", f"{self.issue_url}/comment?startAt={start}&maxResults=100").json() or {}
            comments = page.get("comments") or []
            mine = next((c for c in comments if bundle.marker in json.dumps(c.get("body"))), None)
            if mine is not None or len(comments) < 100:
                break
        if mine is not None:
            answer = self.http.request("PUT", f"{self.issue_url}/comment/{mine['id']}", json_body={"body": body})
        else:
            answer = self.http.request("POST", f"{self.issue_url}/comment", json_body={"body": body})
        data = answer.json() or {}
        return f"{self.api}/browse/{self.key}?focusedCommentId={data.get('id', '')}"


# ---------------------------------------------------------------- ADF


def _text(text: str, code: bool = False) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": text}
    if code:
        node["marks"] = [{"type": "code"}]
    return node


def _paragraph(text: str, code: bool = False) -> dict[str, Any]:
    return {"type": "paragraph", "content": [_text(text, code)] if text else []}


def markdown_to_adf(markdown: str) -> list[dict[str, Any]]:
    """summary.md as ADF blocks: headings, tables as code blocks (columns stay aligned), the
    rest as paragraphs of plain text (Markdown marks are kept as written)."""
    blocks: list[dict[str, Any]] = []
    for chunk in re.split(r"\n\s*\n", markdown.strip()):
        lines = chunk.splitlines()
        if not lines:
            continue
        heading = re.match(r"^(#{1,6})\s+(.*)$", lines[0])
        if heading and len(lines) == 1:
            blocks.append({"type": "heading", "attrs": {"level": len(heading[1])}, "content": [_text(heading[2])]})
        elif all(line.lstrip().startswith("|") for line in lines):
            blocks.append({"type": "codeBlock", "content": [_text("\n".join(lines))]})
        else:
            blocks.append(_paragraph("\n".join(lines)))
    return blocks


def adf_comment(bundle: ReportBundle, links: dict[str, tuple[str, str]], limit: int) -> dict[str, Any]:
    """The comment document, its JSON within ``limit`` characters."""
    tail = [
        _paragraph(f"Report files (auditkit report {bundle.report_id}):"),
        *(_paragraph(line) for line in file_lines(bundle, links)),
        _paragraph(bundle.marker, code=True),
    ]
    full = next((links[n][1] for n in ("compliance.html", "summary.md", "audit.json") if n in links), "") or (
        "the attached report files")

    def doc(summary: str) -> dict[str, Any]:
        return {"type": "doc", "version": 1, "content": [*markdown_to_adf(summary), *tail]}

    summary = bundle.summary
    budget = limit - len(json.dumps(doc(""), ensure_ascii=False))
    for _ in range(20):  # escapes and block wrappers cost characters: shrink until it fits
        document = doc(shorten(summary, max(budget, 0), full, "Jira"))
        excess = len(json.dumps(document, ensure_ascii=False)) - limit
        if excess <= 0:
            return document
        budget -= excess + 64
    return doc("")
