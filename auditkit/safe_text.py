"""Text about a file, safe to put in a report: no file content, no local path.

Reports go to review tickets, so anything a plugin writes about a file it read must not
carry that file's content (a config can name ``/proc/self/environ`` or a reviewer's own
notes) nor where the file lives on the reviewer's machine (home directories, user names).
What may be shown: a file's column names, cleaned and cut short; a path relative to the
model dir; for any other path its file name and a short hash of the full path, which lets
a reviewer who knows the path confirm it without the report revealing it.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from pathlib import Path, PurePath
from typing import Any

# kept as they are in a name; every other non-alphanumeric character is markup somewhere
# (HTML, Markdown, mathtext) or a control character, and becomes "?"
_KEEP = frozenset(" _-.:/+%=…")
_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"")
_PATHLIKE = re.compile(r"(?:\b[A-Za-z]:)?[/\\~][^\s,;)\]]*")
_SNIFF_BYTES = 64 * 1024
# bytes that never occur in CSV/JSON text: C0 controls other than tab, newlines and form feeds
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 11, 12, 13))


def clean_name(text: Any, limit: int = 40, keep: str = "") -> str:
    """A name from a file (a column, a file name) with markup and control characters made "?"."""
    out = []
    for ch in str(text):
        if ch.isalnum() or ch in _KEEP or ch in keep:
            out.append(ch)
        elif ch.isspace():
            out.append(" ")
        else:
            out.append("?")
    name = " ".join("".join(out).split())
    return name if len(name) <= limit else name[: max(limit - 1, 1)] + "…"


def describe_columns(columns: Iterable[Any], shown: int = 4, chars: int = 100) -> str:
    """A file's column list for an error text: a few cleaned names, about ``chars`` long at most."""
    names = [clean_name(c, 30) for c in columns]
    parts: list[str] = []
    used = 0
    for name in names[:shown]:
        item = f"'{name}'"
        if parts and used + len(item) + 2 > chars:
            break
        parts.append(item)
        used += len(item) + 2
    rest = len(names) - len(parts)
    text = ", ".join(parts) or "none"
    return f"{text} and {rest} more" if rest > 0 else text


def path_hash(path: str | PurePath) -> str:
    """Six hex digits of the sha256 of a path's text: names a path without showing it."""
    return hashlib.sha256(os.fspath(path).encode("utf-8", "surrogateescape")).hexdigest()[:6]


def show_path(path: str | PurePath, model_dir: str | PurePath | None = None) -> str:
    """A path as a report may show it: relative to the model dir inside it, else ``name (path #hash)``."""
    text = os.fspath(path)
    given = Path(text)
    if model_dir is not None:
        base = os.path.abspath(os.fspath(model_dir))
        full = os.path.abspath(os.path.join(base, text))  # an absolute ``text`` stays itself
        if full == base or full.startswith(base.rstrip(os.sep) + os.sep):
            return clean_name(Path(os.path.relpath(full, base)).as_posix(), 120)
    elif not given.is_absolute() and ".." not in given.parts and not text.startswith("~"):
        return clean_name(given.as_posix(), 120)
    else:
        full = os.path.abspath(text)
    name = clean_name(Path(full).name, 60) or "file"
    return f"{name} (path #{path_hash(full)})"


def show_origin(origin: str, model_dir: str | PurePath | None = None) -> str:
    """Where a setting came from (a config file as the reviewer typed it, "defaults", a flag)."""
    words = []  # "--config ~/review.toml", "vendor/auditkit.toml (approved)"
    for word in str(origin).split():
        if looks_like_path(word):
            words.append(show_path(word, model_dir if os.path.isabs(word) else None))
        else:
            words.append(clean_name(word, 120, keep="()"))
    return " ".join(words)


def looks_like_path(text: str) -> bool:
    """An absolute, home-relative or upward path: the strings :func:`redact_paths` replaces."""
    if text.startswith(("/", "~", "\\")) or re.match(r"[A-Za-z]:[\\/]", text):
        return True
    return ".." in PurePath(text).parts


def redact_paths(value: Any, model_dir: str | PurePath | None = None) -> Any:
    """A copy of a JSON-like value with every path-like string shown by :func:`show_path`.

    For echoes of the configuration: its path keys hold whatever the reviewer typed,
    often an absolute path under their home directory.
    """
    if isinstance(value, str):
        return show_path(value, model_dir) if looks_like_path(value) else value
    if isinstance(value, dict):
        return {k: redact_paths(v, model_dir) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_paths(v, model_dir) for v in value]
    return value


def not_text(path: str | PurePath) -> str | None:
    """Why a file is not CSV/JSON text (NUL-separated, binary), or None when it looks like text.

    Checked before a parser sees the file, so that a parser's message (which may quote what
    it read) never describes a file like ``/proc/self/environ``.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or type(exc).__name__})"
    if b"\x00" in head:
        return "holds NUL bytes (binary or NUL-separated data, not text)"
    if head and sum(head.count(bytes([b])) for b in _CONTROL) > max(len(head) // 100, 2):
        return "holds control bytes (binary data, not text)"
    for encoding in ("utf-8", "cp1252"):
        try:
            head.decode(encoding)
            return None
        except UnicodeDecodeError as exc:
            if encoding == "utf-8" and len(head) == _SNIFF_BYTES and exc.start >= len(head) - 3:
                return None  # a multi-byte character cut by the sniff
    return "is not text in a known encoding (binary data)"


def clean_reason(text: str, limit: int = 100) -> str:
    """The first line of an error text without what it quoted (cell values) or named (paths)."""
    lines = str(text).strip().splitlines()
    return clean_name(_PATHLIKE.sub("…", _QUOTED.sub("…", lines[0] if lines else "")), limit, keep="(),")


def safe_reason(exc: BaseException, limit: int = 80) -> str:
    """An exception as a short reason without what it quoted (cell values, paths)."""
    text = clean_reason(str(exc), limit)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
