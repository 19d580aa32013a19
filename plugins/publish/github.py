"""Publishes reports to a GitHub issue or pull request: ``--publish github:owner/repo#N``.

- The report files become assets of one release of the repository (tag ``auditkit-reports``,
  a pre-release; ``AUDITKIT_GITHUB_RELEASE`` names another). GitHub has no API to attach a
  file to an issue (the web editor's upload is not part of the REST API), and a gist holds
  text only, while the PDF reports are binary: release assets are the one place the API
  takes any file and serves it to everyone who can read the repository.
- One comment per model on the issue or PR, found again by its hidden marker and edited in
  place on a re-run; the summary is shortened to GitHub's 65,536-character limit.
- In a pull-request workflow (``GITHUB_EVENT_PATH`` names a pull_request event), a check
  run on the PR's head commit with the verdict and the findings as annotations.
- With ``GITHUB_STEP_SUMMARY`` set (GitHub Actions), summary.md is appended to the job summary.

Credentials: ``GITHUB_TOKEN`` (the workflow token needs ``issues: write`` or
``pull-requests: write``, ``contents: write`` for the release and ``checks: write``).
``GITHUB_API_URL`` (set by GitHub Actions; GitHub Enterprise) replaces https://api.github.com.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from pathlib import Path
from typing import Any

from auditkit.plugins.publish.bundle import ReportBundle, describe, dry_run, markdown_comment, read_bundle, shorten
from auditkit.plugins.publish.http import Http, base_url, env

from auditkit import hookimpl
from auditkit.errors import PublishError, UsageError

TARGET = re.compile(r"^github:(?P<owner>[A-Za-z0-9_.-]+)/(?P<repo>[A-Za-z0-9_.-]+)#(?P<number>[1-9][0-9]{0,9})$")
COMMENT_LIMIT = 65_536
CHECK_SUMMARY_LIMIT = 65_535
ANNOTATIONS_PER_REQUEST = 50
CONCLUSION = {"pass": "success", "warn": "neutral", "fail": "failure", "error": "failure"}
LEVEL = {"info": "notice", "warn": "warning", "fail": "failure", "error": "failure"}
HINTS = {
    401: "GITHUB_TOKEN was refused: set a valid token",
    403: "GITHUB_TOKEN lacks a permission: give the workflow issues/pull-requests, contents and checks: write",
    404: "no such repository, issue or PR, or GITHUB_TOKEN cannot see it: check owner/repo#N",
    413: "GitHub refused a file as too large (release assets take up to 2 GiB): check the report files",
}


@hookimpl
def auditkit_publish(audit: Any, files: list[Path], target: str) -> str | None:
    if not target.startswith("github:"):
        return None
    match = TARGET.match(target)
    if not match:
        raise UsageError(f"{target}: expected github:OWNER/REPO#NUMBER, e.g. github:acme/models#12")
    token = env("GITHUB_TOKEN")
    if token is None:
        raise UsageError(f"{target}: set GITHUB_TOKEN in the environment (a token that may comment)")
    api = base_url(env("GITHUB_API_URL") or "https://api.github.com", target, "GITHUB_API_URL")
    if not files:  # the check before an audit starts
        return target
    bundle = read_bundle(files, audit)
    github = GitHub(target, api, match["owner"], match["repo"], int(match["number"]), token)
    if dry_run():
        body = markdown_comment(bundle, {}, COMMENT_LIMIT, "GitHub")
        where = f"assets of release {github.release_tag!r} of {match['owner']}/{match['repo']}"
        return describe(bundle, target, where, body, COMMENT_LIMIT)
    links = github.upload_assets(bundle)
    url = github.upsert_comment(bundle, markdown_comment(bundle, links, COMMENT_LIMIT, "GitHub"))
    github.check_run(bundle, url)
    append_step_summary(bundle)
    return url


class GitHub:
    """The REST calls this publisher makes, on one repository and one issue or PR."""

    def __init__(self, target: str, api: str, owner: str, repo: str, number: int, token: str) -> None:
        self.http = Http(
            target,
            {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
             "X-GitHub-Api-Version": "2022-11-28"},
            HINTS,
        )
        self.repo_url = f"{api}/repos/{urllib.parse.quote(owner)}/{urllib.parse.quote(repo)}"
        self.number = number
        self.release_tag = env("AUDITKIT_GITHUB_RELEASE") or "auditkit-reports"

    def _pages(self, url: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in range(1, 101):  # 10,000 items: bounded, whatever the server says
            sep = "&" if "?" in url else "?"
            batch = self.http.request("GET", f"{url}{sep}per_page=100&page={page}").json()
            if not isinstance(batch, list):
                break
            items.extend(i for i in batch if isinstance(i, dict))
            if len(batch) < 100:
                break
        return items

    def _release(self) -> dict[str, Any]:
        tag = urllib.parse.quote(self.release_tag, safe="")
        found = self.http.request("GET", f"{self.repo_url}/releases/tags/{tag}", allow=(404,))
        if found.status != 404 and isinstance(found.json(), dict):
            return found.json()
        created = self.http.request(
            "POST",
            f"{self.repo_url}/releases",
            json_body={
                "tag_name": self.release_tag,
                "name": "auditkit reports",
                "body": "Report files attached to review tickets by auditkit (one asset per file and content).",
                "prerelease": True,
            },
        ).json()
        if not isinstance(created, dict) or "id" not in created:
            raise PublishError(f"{self.http.target}: GitHub answered the release request without an id")
        return created

    def upload_assets(self, bundle: ReportBundle) -> dict[str, tuple[str, str]]:
        """name → (sha256, download URL); an asset of the same name (hence content) is kept."""
        release = self._release()
        have = {a.get("name"): a for a in self._pages(f"{self.repo_url}/releases/{release['id']}/assets")}
        upload = str(release.get("upload_url", "")).split("{", 1)[0]
        if not upload:
            raise PublishError(f"{self.http.target}: GitHub's release has no upload_url")
        links: dict[str, tuple[str, str]] = {}
        for f in bundle.files:
            name = f.stored_name(bundle.model)
            asset = have.get(name)
            if asset is None:
                asset = self.http.request(
                    "POST",
                    f"{upload}?{urllib.parse.urlencode({'name': name})}",
                    data=f.read(),
                    content_type=f.content_type.split(";")[0],
                ).json() or {}
            links[f.name] = (f.sha256, str(asset.get("browser_download_url", "")))
        return links

    def upsert_comment(self, bundle: ReportBundle, body: str) -> str:
        marker = f"<!-- {bundle.marker} -->"
        comments = self._pages(f"{self.repo_url}/issues/{self.number}/comments")
        mine = next((c for c in comments if marker in str(c.get("body", ""))), None)
        if mine is not None:
            method, url = "PATCH", f"{self.repo_url}/issues/comments/{mine['id']}"
        else:
            method, url = "POST", f"{self.repo_url}/issues/{self.number}/comments"
        answer = self.http.request(method, url, json_body={"body": body})
        data = answer.json() or {}
        return str(data.get("html_url") or f"{self.http.target} (comment {data.get('id', '?')})")

    def check_run(self, bundle: ReportBundle, comment_url: str) -> None:
        """A check run on the PR's head commit, updated in place when this model has one there."""
        head_sha = pull_request_head()
        if head_sha is None:
            return
        name = f"auditkit: {bundle.model}"
        summary = shorten(bundle.summary, CHECK_SUMMARY_LIMIT - 200, comment_url, "GitHub's check run")
        annotations = [
            {
                "path": bundle.model_path or ".",
                "start_line": 1,
                "end_line": 1,
                "annotation_level": LEVEL.get(str(f.get("severity")), "notice"),
                "title": str(f.get("code", "finding"))[:255],
                "message": str(f.get("message", ""))[:64_000],
            }
            for f in bundle.findings
            if f.get("severity") in ("warn", "fail", "error")
        ][:ANNOTATIONS_PER_REQUEST]
        payload = {
            "name": name,
            "head_sha": head_sha,
            "status": "completed",
            "conclusion": CONCLUSION.get(bundle.verdict, "neutral"),
            "output": {"title": f"auditkit verdict: {bundle.verdict}", "summary": summary, "annotations": annotations},
        }
        query = urllib.parse.urlencode({"check_name": name})
        existing = self.http.request("GET", f"{self.repo_url}/commits/{head_sha}/check-runs?{query}").json() or {}
        runs = existing.get("check_runs") if isinstance(existing, dict) else None
        if runs:
            self.http.request("PATCH", f"{self.repo_url}/check-runs/{runs[0]['id']}", json_body=payload)
        else:
            self.http.request("POST", f"{self.repo_url}/check-runs", json_body=payload)


def pull_request_head() -> str | None:
    """The PR's head commit when this runs in a pull-request workflow, else None."""
    path = env("GITHUB_EVENT_PATH")
    if path is None or env("GITHUB_SHA") is None:
        return None
    try:
        event = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    pr = event.get("pull_request") if isinstance(event, dict) else None
    sha = pr.get("head", {}).get("sha") if isinstance(pr, dict) else None
    return str(sha) if sha else None


def append_step_summary(bundle: ReportBundle) -> None:
    path = env("GITHUB_STEP_SUMMARY")
    if path is None:
        return
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(bundle.summary.rstrip() + "\n\n")
