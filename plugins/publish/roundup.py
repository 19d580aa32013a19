"""Publishes reports to a Roundup tracker's issue: ``--publish roundup:issue12`` (or ``roundup:12``).

Through Roundup's REST API (``/rest/data/…``, Roundup 2.x): each report file becomes a
``file`` of the issue, named with the model and its sha256, so a file already on the issue
is not sent again; the summary becomes one message per model, found again by its first
line (``auditkit:model=NAME``; messages are plain text) and edited in place on a re-run
(Roundup lets a message's content be replaced), never a second message.

Credentials: ``ROUNDUP_URL`` (the tracker's web address, e.g. http://host:8080/tracker/),
``ROUNDUP_USER`` and ``ROUNDUP_PASSWORD`` (basic auth), from the environment only: a
target names no password, so it can be logged. Roundup's CSRF checks want the
``X-Requested-With``, ``Origin`` and ``Referer`` headers, which this publisher sends.
"""

from __future__ import annotations

import base64
import re
import urllib.parse
from pathlib import Path
from typing import Any

from auditkit.plugins.publish.bundle import ReportBundle, describe, dry_run, markdown_comment, read_bundle
from auditkit.plugins.publish.http import Http, base_url, env, multipart

from auditkit import hookimpl
from auditkit.errors import PublishError, UsageError

TARGET = re.compile(r"^roundup:(?:issue)?(?P<id>[1-9][0-9]{0,9})$")
MESSAGE_LIMIT = 1_000_000  # Roundup sets none; a message this long is still one a reader can open
HINTS = {
    401: "Roundup refused the login: check ROUNDUP_USER and ROUNDUP_PASSWORD",
    403: "the Roundup user may not do this: give it the User role (create files and messages, edit issues)",
    404: "no such issue on this tracker: check roundup:issueN and ROUNDUP_URL",
    413: "the tracker (or its proxy) refused a file as too large: publish fewer formats (--format)",
}


@hookimpl
def auditkit_publish(audit: Any, files: list[Path], target: str) -> str | None:
    if not target.startswith("roundup:"):
        return None
    match = TARGET.match(target)
    if not match:
        raise UsageError(f"{target}: expected roundup:issueN (or roundup:N); the tracker is ROUNDUP_URL")
    url = env("ROUNDUP_URL")
    user, password = env("ROUNDUP_USER"), env("ROUNDUP_PASSWORD")
    if url is None or user is None or password is None:
        raise UsageError(f"{target}: set ROUNDUP_URL, ROUNDUP_USER and ROUNDUP_PASSWORD in the environment")
    tracker = base_url(url, target, "ROUNDUP_URL") + "/"
    if not files:
        return target
    bundle = read_bundle(files, audit)
    roundup = Roundup(target, tracker, match["id"], user, password)
    if dry_run():
        body = markdown_comment(bundle, {}, MESSAGE_LIMIT, "Roundup", hidden=False)
        return describe(bundle, target, f"files of issue{match['id']}", body, MESSAGE_LIMIT)
    issue = roundup.get(f"issue/{roundup.issue}")
    file_ids, links = roundup.upload(bundle, issue["attributes"].get("files") or [])
    body = markdown_comment(bundle, links, MESSAGE_LIMIT, "Roundup", hidden=False)
    message_ids = [_id(m) for m in issue["attributes"].get("messages") or []]
    mine = roundup.find_message(message_ids, bundle.marker)
    if mine is not None:
        roundup.patch(f"msg/{mine}", {"@op": "replace", "content": body})
        new_messages: list[str] = []
    else:
        # the nosy detector reads the author: a message without one cannot be linked to the issue
        new_messages = [roundup.create("msg", json_body={"content": body, "author": roundup.user_id()})]
    added_files = [i for i in file_ids if i not in {_id(f) for f in issue["attributes"].get("files") or []}]
    if added_files or new_messages:
        change: dict[str, Any] = {"@op": "add"}
        if added_files:
            change["files"] = added_files
        if new_messages:
            change["messages"] = new_messages
        roundup.patch(f"issue/{roundup.issue}", change)
    return f"{tracker}issue{roundup.issue}"


def _id(item: Any) -> str:
    return str(item.get("id")) if isinstance(item, dict) else str(item)


class Roundup:
    """The REST calls this publisher makes, on one issue of one tracker."""

    def __init__(self, target: str, tracker: str, issue: str, user: str, password: str) -> None:
        parts = urllib.parse.urlsplit(tracker)
        credentials = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        self.http = Http(
            target,
            {
                "Authorization": f"Basic {credentials}",
                "X-Requested-With": "rest",  # Roundup's CSRF defence wants these three
                "Origin": f"{parts.scheme}://{parts.netloc}",
                "Referer": tracker,
            },
            HINTS,
        )
        self.rest = f"{tracker}rest/data/"
        self.issue = issue
        self.user = user

    def user_id(self) -> str:
        query = urllib.parse.urlencode({"username": self.user, "@fields": "username"})  # a filter matches parts
        found = (self.http.request("GET", f"{self.rest}user?{query}").json() or {}).get("data") or {}
        for item in found.get("collection") or []:
            if item.get("username") == self.user:
                return str(item.get("id"))
        raise PublishError(f"{self.http.target}: Roundup does not show user {self.user!r}; check ROUNDUP_USER")

    def get(self, path: str) -> dict[str, Any]:
        data = (self.http.request("GET", self.rest + path).json() or {}).get("data")
        if not isinstance(data, dict):
            raise PublishError(f"{self.http.target}: Roundup answered GET {path} without data")
        return data

    def create(self, klass: str, **kwargs: Any) -> str:
        data = (self.http.request("POST", self.rest + klass, **kwargs).json() or {}).get("data") or {}
        if not data.get("id"):
            raise PublishError(f"{self.http.target}: Roundup created a {klass} without an id")
        return str(data["id"])

    def patch(self, path: str, change: dict[str, Any]) -> None:
        etag = self.get(path).get("@etag", "")  # Roundup refuses a change without the current etag
        self.http.request("PATCH", self.rest + path, json_body=change, headers={"If-Match": etag})

    def upload(self, bundle: ReportBundle, attached: list[Any]) -> tuple[list[str], dict[str, tuple[str, str]]]:
        by_name: dict[str, str] = {}
        for item in attached:
            file_id = _id(item)
            name = self.get(f"file/{file_id}")["attributes"].get("name")
            by_name.setdefault(str(name), file_id)
        ids, links = [], {}
        tracker = self.rest.removesuffix("rest/data/")
        for f in bundle.files:
            name = f.stored_name(bundle.model)
            file_id = by_name.get(name)
            if file_id is None:
                body, ctype = multipart({"name": name, "type": f.content_type.split(";")[0]},
                                        [("content", name, f.content_type, f.read())])
                file_id = self.create("file", data=body, content_type=ctype)
            ids.append(file_id)
            links[f.name] = (f.sha256, f"{tracker}file{file_id}/{urllib.parse.quote(name)}")
        return ids, links

    def find_message(self, message_ids: list[str], marker: str) -> str | None:
        for message_id in reversed(message_ids):  # ours is most likely recent
            content = self.get(f"msg/{message_id}/content").get("data")
            if isinstance(content, str) and content.split("\n", 1)[0].strip() == marker:
                return message_id
        return None
