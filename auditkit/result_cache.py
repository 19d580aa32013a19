"""Results a plugin computes slowly, and the same way every time, kept between runs.

A re-run with the same inputs predicts nothing (the prediction and logit caches). A
plugin step that is slow but deterministic, such as the ThresholdOptimizer what-if
(importing fairlearn and scikit-learn and fitting: about two seconds), is kept the same
way: as JSON under ``OUT/.cache/results/<name>/<key>.json``, where the key hashes
everything the result depends on (the caller lists it, library versions included).
Files are written atomically and sealed with the reviewer's key (:mod:`auditkit.cache`);
an unreadable or unsealed one is a miss, so the step runs again.
``audit.cache_dir`` is None when the run does not cache (``--no-cache``,
``[run] cache = false``), and then nothing is read or written.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from auditkit.cache import read_sealed, write_sealed
from auditkit.hashing import value_sha256

T = TypeVar("T")


def results_dir(out_root: Path) -> Path:
    return out_root / ".cache" / "results"


def entry(cache_dir: str | None, name: str, parts: Any) -> Path | None:
    """The file for the result of step ``name`` on inputs ``parts`` (None: no caching)."""
    if cache_dir is None:
        return None
    return Path(cache_dir) / name / f"{value_sha256([name, parts])}.json"


def remember(
    path: Path | None, compute: Callable[[], T], dump: Callable[[T], Any], load: Callable[[Any], T]
) -> T:
    """The result kept in ``path``; else ``compute()``, kept there (as ``dump`` makes it
    JSON; ``load`` makes it the result again)."""
    payload = read_sealed(path) if path is not None else None
    if payload is not None:
        try:
            return load(json.loads(payload.decode("utf-8"))["result"])
        except (ValueError, KeyError, TypeError):  # of another shape (an older version's)
            pass
    result = compute()
    if path is not None:
        _write(path, json.dumps({"result": dump(result)}, allow_nan=True))
    return result


def kept_any(cache_dir: str | None, name: str) -> bool:
    """Whether step ``name`` has kept any result (so a re-run need not prepare to compute)."""
    if cache_dir is None:
        return False
    folder = Path(cache_dir) / name
    return folder.is_dir() and any(read_sealed(path) is not None for path in folder.glob("*.json"))


def _write(path: Path, text: str) -> None:
    """Atomically, with a temporary name the next run removes if this one dies; a cache
    that cannot be written (disk full, read-only) costs time only."""
    try:
        write_sealed(path, text.encode("utf-8"))
    except OSError:
        pass
