"""Publishes reports to a GitLab issue or merge request: ``--publish gitlab:group/project#N``
(issue) or ``gitlab:group/project!N`` (merge request).

Each report file is uploaded to the project (``POST /projects/:id/uploads``) and linked
from one note per model, found again by its hidden marker and edited in place on a
re-run. GitLab lists a project's uploads to maintainers only, so the note itself records
each file's sha256 and upload link: an unchanged file is linked again, not uploaded again.

Credentials: ``GITLAB_TOKEN`` (a project or personal access token with the ``api`` scope;
CI_JOB_TOKEN cannot write notes). The API is ``$GITLAB_URL/api/v4`` when GITLAB_URL is
set, else ``$CI_API_V4_URL`` (set by GitLab CI), else https://gitlab.com/api/v4.
"""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path
from typing import Any

from auditkit.plugins.publish.bundle import ReportBundle, describe, dry_run, markdown_comment, read_bundle
from auditkit.plugins.publish.bundle import read_files_record as _read_record
from auditkit.plugins.publish.http import Http, base_url, env, multipart

from auditkit import hookimpl
from auditkit.errors import PublishError, UsageError

TARGET = re.compile(r"^gitlab:(?P<project>[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+)(?P<kind>[#!])(?P<iid>[1-9][0-9]{0,9})$")
NOTE_LIMIT = 1_000_000
HINTS = {
    401: "GITLAB_TOKEN was refused: set a valid access token with the api scope",
    403: "GITLAB_TOKEN may not do this: give it the api scope and at least the Reporter role",
    404: "no such project, issue or merge request, or GITLAB_TOKEN cannot see it: check group/project#N",
    413: "GitLab refused a file as too large: raise the instance's max attachment size or publish fewer formats",
}


@hookimpl
def auditkit_publish(audit: Any, files: list[Path], target: str) -> str | None:
    if not target.startswith("gitlab:"):
        return None
    match = TARGET.match(target)
    if not match:
        raise UsageError(
            f"{target}: expected gitlab:GROUP/PROJECT#ISSUE or gitlab:GROUP/PROJECT!MR, "
            "e.g. gitlab:acme/models!7"
        )
    token = env("GITLAB_TOKEN")
    if token is None:
        raise UsageError(f"{target}: set GITLAB_TOKEN in the environment (a token with the api scope)")
    explicit = env("GITLAB_URL")
    if explicit:
        api = base_url(explicit, target, "GITLAB_URL") + "/api/v4"
    else:
        api = base_url(env("CI_API_V4_URL") or "https://gitlab.com/api/v4", target, "CI_API_V4_URL")
    if not files:
        return target
    bundle = read_bundle(files, audit)
    gitlab = GitLab(target, api, match["project"], "merge_requests" if match["kind"] == "!" else "issues",
                    int(match["iid"]), token)
    if dry_run():
        body = markdown_comment(bundle, {}, NOTE_LIMIT, "GitLab")
        return describe(bundle, target, f"uploads of project {match['project']}", body, NOTE_LIMIT)
    notes = gitlab.notes()
    mine = next((n for n in notes if f"<!-- {bundle.marker} -->" in str(n.get("body", ""))), None)
    links = gitlab.upload(bundle, _read_record(str(mine.get("body", ""))) if mine else {})
    return gitlab.save_note(mine, markdown_comment(bundle, links, NOTE_LIMIT, "GitLab"))


class GitLab:
    """The REST calls this publisher makes, on one project and one issue or merge request."""

    def __init__(self, target: str, api: str, project: str, kind: str, iid: int, token: str) -> None:
        self.http = Http(target, {"PRIVATE-TOKEN": token}, HINTS)
        self.project_url = f"{api}/projects/{urllib.parse.quote(project, safe='')}"
        self.notes_url = f"{self.project_url}/{kind}/{iid}/notes"

    def notes(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in range(1, 101):
            batch = self.http.request("GET", f"{self.notes_url}?sort=asc&per_page=100&page={page}").json()
            if not isinstance(batch, list):
                break
            items.extend(n for n in batch if isinstance(n, dict))
            if len(batch) < 100:
                break
        return items

    def upload(self, bundle: ReportBundle, record: dict[str, dict[str, str]]) -> dict[str, tuple[str, str]]:
        links: dict[str, tuple[str, str]] = {}
        for f in bundle.files:
            earlier = record.get(f.name, {})
            if earlier.get("sha256") == f.sha256 and earlier.get("url"):
                links[f.name] = (f.sha256, earlier["url"])
                continue
            body, ctype = multipart({}, [("file", f.stored_name(bundle.model), f.content_type, f.read())])
            answer = self.http.request("POST", f"{self.project_url}/uploads", data=body, content_type=ctype).json()
            url = answer.get("url") if isinstance(answer, dict) else None
            if not url:
                raise PublishError(f"{self.http.target}: GitLab answered the upload of {f.name} without a url")
            links[f.name] = (f.sha256, str(url))
        return links

    def save_note(self, mine: dict[str, Any] | None, body: str) -> str:
        if mine is not None:
            answer = self.http.request("PUT", f"{self.notes_url}/{mine['id']}", json_body={"body": body})
        else:
            answer = self.http.request("POST", self.notes_url, json_body={"body": body})
        data = answer.json() or {}
        return f"{self.http.target} (note {data.get('id', '?')})"
