"""The reviewer's own config folder, and the secret key that signs the reviewer's caches.

A cache under the output folder saves the reviewer time; it must never let a model dir
choose the audit's numbers. A delivery can ship a prepared ``auditkit-reports/.cache``
(or the reviewer runs with ``--out`` inside the delivery), so every cache file carries an
HMAC-SHA256 made with a key only the reviewer has: a file this reviewer's runs did not
write does not verify, and is recomputed as if absent.

The folder is ``$AUDITKIT_HOME``, else ``$XDG_CONFIG_HOME/auditkit``, else
``~/.config/auditkit``; the key is ``cache.key`` in it (32 random bytes, mode 0600),
created on first use.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tempfile
from pathlib import Path

HOME_ENV = "AUDITKIT_HOME"
KEY_FILE = "cache.key"
KEY_BYTES = 32
MAGIC = b"auditkit-sealed-1\n"  # a sealed cache file: MAGIC, the 32-byte tag, the payload
TAG_BYTES = 32  # HMAC-SHA256

_keys: dict[Path, bytes | None] = {}  # per key file: read once per process


def home() -> Path:
    """The reviewer's auditkit config folder (not created here)."""
    explicit = os.environ.get(HOME_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    if xdg and os.path.isabs(xdg):  # the XDG spec: a relative value is ignored
        return Path(xdg) / "auditkit"
    return Path.home() / ".config" / "auditkit"


def key_file() -> Path:
    return home() / KEY_FILE


def cache_key() -> bytes | None:
    """The reviewer's cache key, created on first use; None when it can be neither read nor
    made (a read-only home): then no cache is trusted, and the audit predicts again."""
    path = key_file()
    if path not in _keys:
        _keys[path] = _read_or_create(path)
    return _keys[path]


def _read_or_create(path: Path) -> bytes | None:
    key = _read(path)
    if key is not None:
        return key
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".cache.key-", dir=path.parent)  # mkstemp: mode 0600
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(secrets.token_bytes(KEY_BYTES))
                handle.flush()
                os.fsync(handle.fileno())
            # a hard link fails if the file exists: a second run creating its key at the same
            # moment keeps the first one's, so both runs sign with the same key
            os.link(tmp, path)
        except FileExistsError:
            if _read(path) is None:  # there, but not a key (truncated, emptied): replace it
                os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
    except OSError:
        return None
    return _read(path)


def _read(path: Path) -> bytes | None:
    try:
        if path.is_symlink():  # a key someone else points us at is not the reviewer's secret
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if len(data) != KEY_BYTES:
        return None
    try:
        if path.stat().st_mode & 0o077:  # readable by others: tighten it, as ssh would insist
            path.chmod(0o600)
    except OSError:
        pass
    return data


def sign(context: str, payload: bytes) -> bytes | None:
    """The tag of ``payload`` stored as ``context`` (the file's name, so a valid file renamed
    to another entry does not verify); None when there is no key."""
    key = cache_key()
    if key is None:
        return None
    mac = hmac.new(key, context.encode("utf-8", "surrogatepass") + b"\0", hashlib.sha256)
    mac.update(payload)
    return mac.digest()


def verify(context: str, payload: bytes, tag: bytes) -> bool:
    expected = sign(context, payload)
    return expected is not None and hmac.compare_digest(expected, tag)


def seal(context: str, payload: bytes) -> bytes | None:
    """``payload`` with its tag in front, as a cache file holds it; None when there is no key."""
    tag = sign(context, payload)
    return None if tag is None else MAGIC + tag + payload


def unseal(context: str, data: bytes) -> bytes | None:
    """The payload of a sealed file whose tag verifies, else None (a forged, foreign,
    renamed or half-written file: a cache miss)."""
    head = len(MAGIC) + TAG_BYTES
    if len(data) < head or not data.startswith(MAGIC):
        return None
    payload = data[head:]
    return payload if verify(context, payload, data[len(MAGIC) : head]) else None


def context_of(path: Path) -> str:
    """What a cache file's tag is bound to: its folder and file name, which hold its key."""
    return f"{path.parent.name}/{path.name}"
