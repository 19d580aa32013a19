"""Local stand-ins for the GitHub, GitLab and Jira REST APIs: the documented subset the
publishers use, on 127.0.0.1, recording every request; checks the headers and multipart
fields the real services insist on, and answers the errors they answer."""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def multipart(self) -> dict[str, tuple[str | None, bytes]]:
        """field name → (filename, content)."""
        raw = f"Content-Type: {self.headers['content-type']}\r\n\r\n".encode() + self.body
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
        return {
            part.get_param("name", header="content-disposition"): (part.get_filename(), part.get_payload(decode=True))
            for part in message.iter_parts()
        }


@dataclass
class Fake:
    """One fake service: ``routes`` map (method, path regex) to a handler returning
    (status, json); ``fail`` queues (status, headers) answers for a path regex."""

    token_header: str
    token: str
    seen: list[Seen] = field(default_factory=list)
    fail: list[tuple[str, int, dict[str, str]]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    url: str = ""

    def writes(self) -> list[Seen]:
        return [s for s in self.seen if s.method != "GET"]


def serve(fake: Fake, routes: list[tuple[str, str, Any]]) -> tuple[ThreadingHTTPServer, Fake]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            headers = {k.lower(): v for k, v in self.headers.items()}
            seen = Seen(self.command, self.path, headers, self.rfile.read(length))
            fake.seen.append(seen)
            for i, (pattern, status, headers) in enumerate(fake.fail):
                if re.search(pattern, self.path):
                    del fake.fail[i]
                    return self._answer(status, {"message": f"fake {status}"}, headers)
            if self.headers.get(fake.token_header) != fake.token:
                return self._answer(401, {"message": "Bad credentials"})
            for method, pattern, handler in routes:
                match = re.fullmatch(pattern, self.path.split("?")[0])
                if method == self.command and match:
                    status, data = handler(seen, match, fake)
                    return self._answer(status, data)
            return self._answer(404, {"message": "Not Found"})

        def _answer(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
            body = json.dumps(data).encode()
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PATCH = do_PUT = _any

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, fake


# ---------------------------------------------------------------- GitHub


def github() -> tuple[ThreadingHTTPServer, Fake]:
    fake = Fake("Authorization", "Bearer gh-token", state={"comments": [], "assets": [], "releases": [], "checks": []})
    s = fake.state

    def release_by_tag(seen: Seen, m: re.Match, f: Fake) -> tuple[int, Any]:
        found = [r for r in s["releases"] if r["tag_name"] == m["tag"]]
        return (200, found[0]) if found else (404, {"message": "Not Found"})

    def create_release(seen: Seen, m: re.Match, f: Fake) -> tuple[int, Any]:
        upload_url = f"{f.url}/uploads/releases/7/assets{{?name,label}}"
        release = {"id": 7, "tag_name": seen.json()["tag_name"], "upload_url": upload_url}
        s["releases"].append(release)
        return 201, release

    def upload(seen: Seen, m: re.Match, f: Fake) -> tuple[int, Any]:
        name = re.search(r"name=([^&]+)", seen.path)[1]  # type: ignore[index]
        asset = {"id": len(s["assets"]) + 1, "name": name, "browser_download_url": f"{f.url}/download/{name}"}
        s["assets"].append(asset)
        return 201, asset

    def comment(seen: Seen, m: re.Match, f: Fake) -> tuple[int, Any]:
        number = len(s["comments"])
        item = {"id": 100 + number, "body": seen.json()["body"], "html_url": f"{f.url}/c/{number}"}
        s["comments"].append(item)
        return 201, item

    def edit(seen: Seen, m: re.Match, f: Fake) -> tuple[int, Any]:
        item = next(c for c in s["comments"] if c["id"] == int(m["id"]))
        item["body"] = seen.json()["body"]
        return 200, item

    def check(seen: Seen, m: re.Match, f: Fake) -> tuple[int, Any]:
        s["checks"].append(seen.json())
        return 201, {"id": len(s["checks"])}

    repo = r"/repos/acme/models"
    return serve(fake, [
        ("GET", repo + r"/releases/tags/(?P<tag>[^/]+)", release_by_tag),
        ("POST", repo + r"/releases", create_release),
        ("GET", repo + r"/releases/7/assets", lambda seen, m, f: (200, s["assets"])),
        ("POST", r"/uploads/releases/7/assets", upload),
        ("GET", repo + r"/issues/5/comments", lambda seen, m, f: (200, s["comments"])),
        ("POST", repo + r"/issues/5/comments", comment),
        ("PATCH", repo + r"/issues/comments/(?P<id>\d+)", edit),
        ("GET", repo + r"/commits/(?P<sha>\w+)/check-runs", lambda seen, m, f: (200, {"check_runs": []})),
        ("POST", repo + r"/check-runs", check),
    ])


# ---------------------------------------------------------------- GitLab


def gitlab() -> tuple[ThreadingHTTPServer, Fake]:
    fake = Fake("PRIVATE-TOKEN", "gl-token", state={"notes": [], "uploads": []})
    s = fake.state
    project = r"/api/v4/projects/acme%2Fmodels"

    def upload(seen: Seen, m: re.Match, f: Fake) -> tuple[int, Any]:
        parts = seen.multipart()
        if "file" not in parts:
            return 400, {"error": "file is missing"}
        name, content = parts["file"]
        s["uploads"].append((name, content))
        return 201, {"url": f"/uploads/{len(s['uploads'])}/{name}", "markdown": f"[{name}](/uploads/x/{name})"}

    def note(seen: Seen, m: re.Match, f: Fake) -> tuple[int, Any]:
        item = {"id": 200 + len(s["notes"]), "body": seen.json()["body"]}
        s["notes"].append(item)
        return 201, item

    def edit(seen: Seen, m: re.Match, f: Fake) -> tuple[int, Any]:
        item = next(n for n in s["notes"] if n["id"] == int(m["id"]))
        item["body"] = seen.json()["body"]
        return 200, item

    return serve(fake, [
        ("POST", project + r"/uploads", upload),
        ("GET", project + r"/merge_requests/3/notes", lambda seen, m, f: (200, s["notes"])),
        ("POST", project + r"/merge_requests/3/notes", note),
        ("PUT", project + r"/merge_requests/3/notes/(?P<id>\d+)", edit),
    ])


# ---------------------------------------------------------------- Jira


def jira() -> tuple[ThreadingHTTPServer, Fake]:
    import base64

    basic = "Basic " + base64.b64encode(b"rev@example.com:jira-token").decode()
    fake = Fake("Authorization", basic, state={"comments": [], "attachments": []})
    s = fake.state
    issue = r"/rest/api/3/issue/AUD-7"

    def attach(seen: Seen, m: re.Match, f: Fake) -> tuple[int, Any]:
        if seen.headers.get("x-atlassian-token") != "no-check":
            return 403, {"errorMessages": ["XSRF check failed"]}
        name, content = seen.multipart()["file"]
        number = str(len(s["attachments"]) + 1)
        item = {"id": number, "filename": name, "content": f"{f.url}/att/{name}", "data": content}
        s["attachments"].append(item)
        return 200, [{k: v for k, v in item.items() if k != "data"}]

    def comment(seen: Seen, m: re.Match, f: Fake) -> tuple[int, Any]:
        body = seen.json()["body"]
        if len(json.dumps(body, ensure_ascii=False)) > 32_767 or body.get("type") != "doc":
            return 400, {"errorMessages": ["comment: too long or not ADF"]}
        item = {"id": str(10 + len(s["comments"])), "body": body}
        s["comments"].append(item)
        return 201, item

    def edit(seen: Seen, m: re.Match, f: Fake) -> tuple[int, Any]:
        item = next(c for c in s["comments"] if c["id"] == m["id"])
        item["body"] = seen.json()["body"]
        return 200, item

    listed = lambda seen, m, f: (  # noqa: E731
        200, {"fields": {"attachment": [{k: v for k, v in a.items() if k != "data"} for a in s["attachments"]]}})
    return serve(fake, [
        ("GET", issue, listed),
        ("POST", issue + r"/attachments", attach),
        ("GET", issue + r"/comment", lambda seen, m, f: (200, {"comments": s["comments"]})),
        ("POST", issue + r"/comment", comment),
        ("PUT", issue + r"/comment/(?P<id>\d+)", edit),
    ])
