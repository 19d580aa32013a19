"""A small HTTP client for the ticket publishers: the standard library only (no new
dependency), a timeout on every request, one bounded wait on a rate limit, and each
refusal turned into one line naming the target and the fix (exit code 4)."""

from __future__ import annotations

import email.utils
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

from auditkit._version import __version__
from auditkit.errors import PublishError

TIMEOUT = 30.0  # seconds per request; a tracker that hangs must not hang the CI job
MAX_RETRY_WAIT = 60.0  # the longest Retry-After we honour (once) before giving up
RESPONSE_CAP = 32 * 1024 * 1024


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        if not self.body:
            return None
        try:
            return json.loads(self.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None


# status → what the user should do; each publisher adds its own words (which token, which scope)
DEFAULT_HINTS = {
    401: "the credentials were refused: check the token in the environment",
    403: "the token lacks the permission for this: grant it or use another token",
    404: "not found: check the ticket in the target and that the token can see it",
    413: "the tracker refused a file as too large: publish fewer formats (--format) or raise its limit",
    429: "rate limited: try again later",
}


class Http:
    """Requests to one tracker; ``target`` and ``hints`` go into every error message."""

    def __init__(
        self, target: str, headers: dict[str, str], hints: dict[int, str] | None = None, timeout: float | None = None
    ) -> None:
        self.target = target
        self.headers = {"User-Agent": f"auditkit/{__version__}", "Accept": "application/json", **headers}
        self.hints = {**DEFAULT_HINTS, **(hints or {})}
        self.timeout = timeout or float(os.environ.get("AUDITKIT_PUBLISH_TIMEOUT", TIMEOUT))

    def request(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
        allow: tuple[int, ...] = (),
    ) -> Response:
        """Send one request; a status >= 400 not in ``allow`` is a :class:`PublishError`."""
        all_headers = {**self.headers, **(headers or {})}
        if json_body is not None:
            data = json.dumps(json_body).encode("utf-8")
            content_type = "application/json"
        if content_type:
            all_headers["Content-Type"] = content_type
        waited = False
        while True:
            response = self._send(method, url, data, all_headers)
            if response.status < 400 or response.status in allow:
                return response
            wait = retry_after(response)
            if wait is not None and not waited and wait <= MAX_RETRY_WAIT:
                waited = True
                time.sleep(wait)
                continue
            raise PublishError(self._message(method, url, response, wait))

    def _send(self, method: str, url: str, data: bytes | None, headers: dict[str, str]) -> Response:
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        host = urllib.parse.urlsplit(url).netloc
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # base_url() allows http(s) only
                return Response(answer.status, dict(answer.headers.items()), answer.read(RESPONSE_CAP))
        except urllib.error.HTTPError as exc:
            body = exc.read(RESPONSE_CAP) if exc.fp is not None else b""
            return Response(exc.code, dict(exc.headers.items()) if exc.headers else {}, body)
        except TimeoutError:
            raise PublishError(self._timeout(host)) from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise PublishError(self._timeout(host)) from None
            raise PublishError(
                f"{self.target}: cannot reach {host} ({exc.reason}); check the tracker URL and the network"
            ) from None
        except (OSError, ValueError) as exc:
            raise PublishError(f"{self.target}: request to {host} failed ({exc}); check the tracker URL") from None

    def _timeout(self, host: str) -> str:
        return (
            f"{self.target}: {host} did not answer within {self.timeout:g} s; try again, or set "
            "AUDITKIT_PUBLISH_TIMEOUT higher"
        )

    def _message(self, method: str, url: str, response: Response, wait: float | None) -> str:
        path = urllib.parse.urlsplit(url).path
        hint = self.hints.get(response.status)
        if response.status in (403, 429) and wait is not None:
            hint = f"rate limited (the tracker asks to wait {wait:g} s); try again later"
        elif hint is None:
            hint = "the tracker refused the request"
        said = _error_text(response)
        return f"{self.target}: {method} {path} answered HTTP {response.status}: {hint}" + (
            f" (the tracker said: {said})" if said else ""
        )


def retry_after(response: Response) -> float | None:
    """Seconds the tracker asks us to wait (Retry-After, or GitHub's exhausted rate limit)."""
    if response.status not in (403, 429, 503):
        return None
    headers = {k.lower(): v for k, v in response.headers.items()}
    value = headers.get("retry-after")
    if value is not None:
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(moment.timestamp() - time.time(), 0.0)
    if headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset", "").isdigit():
        return max(float(headers["x-ratelimit-reset"]) - time.time(), 0.0)
    return None


def _error_text(response: Response) -> str:
    data = response.json()
    text = ""
    if isinstance(data, dict):
        for key in ("message", "error", "errorMessages", "error_description"):
            value = data.get(key)
            if isinstance(value, list):
                value = "; ".join(str(v) for v in value)
            if isinstance(value, dict):
                value = value.get("msg") or json.dumps(value)
            if value:
                text = str(value)
                break
    return " ".join(text.split())[:200]


def multipart(fields: dict[str, str], files: list[tuple[str, str, str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body: text ``fields`` and ``(field, filename, type, bytes)`` files."""
    boundary = f"auditkit-{uuid.uuid4().hex}"
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"\r\n\r\n'.encode() + value.encode()
        )
    for name, filename, ctype, content in files:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"; filename="{_quote(filename)}"\r\n'
            f"Content-Type: {ctype}\r\n\r\n"
        )
        parts.append(head.encode() + content)
    body = b"\r\n".join(parts) + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', "%22").replace("\r", " ").replace("\n", " ")


def env(name: str, *alternatives: str) -> str | None:
    """The first of these environment variables that is set and not empty."""
    for key in (name, *alternatives):
        value = os.environ.get(key, "").strip()
        if value:
            return value
    return None


def base_url(value: str, target: str, variable: str) -> str:
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        from auditkit.errors import UsageError

        # the value itself is not quoted: a URL may carry a password
        raise UsageError(f"{target}: {variable} is not an http(s) URL; set it to the tracker's base URL")
    return value.rstrip("/")
