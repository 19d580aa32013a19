"""Model directories: finding them, and reading their files as untrusted input.

A model dir is handed over by another team or a vendor. Nothing here follows a symlink
out of the dir, reads an unbounded file, or trusts a JSON document's size or depth.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from auditkit.config import CONFIG_FILE, read_toml
from auditkit.errors import ConfigError, ModelDirError, UsageError

MAX_JSON_BYTES = 20_000_000
MAX_CARD_BYTES = 1_000_000
CARD_MAX_NODES = 10_000
CARD_MAX_DEPTH = 20
SKIP_DIRS = {".git", "__pycache__", ".cache", "node_modules", ".venv"}


def is_model_dir(path: Path) -> bool:
    """A dir holding config.json (or a PEFT adapter), or an auditkit.toml naming predictions."""
    if (path / "config.json").is_file() or (path / "adapter_config.json").is_file():
        return True
    toml = path / CONFIG_FILE
    if toml.is_file():
        try:
            predictions = read_toml(toml).get("predictions", {})
        except ConfigError:
            return True  # let the audit report the broken config with its message
        if not isinstance(predictions, dict):
            return True  # `predictions = false`: the audit's config check names it
        return bool(predictions.get("file"))
    return False


def discover(root: Path, exclude: Path | None = None) -> list[Path]:
    """``root`` itself when it is a model dir, else every model dir below it.

    Dirs below a model dir (a Trainer's ``checkpoint-500/``) are not audited separately.
    """
    if not root.exists():
        raise UsageError(f"{root}: no such directory")
    if not root.is_dir():
        raise UsageError(f"{root}: not a directory; pass a model dir (holding config.json) or a folder of them")
    if is_model_dir(root):
        return [root]
    found: list[Path] = []
    excluded = exclude.resolve() if exclude else None
    for current, dirs, _files in os.walk(root, followlinks=False):
        here = Path(current)
        dirs[:] = sorted(
            d for d in dirs if d not in SKIP_DIRS and not d.startswith(".") and (here / d).resolve() != excluded
        )
        if here != root and is_model_dir(here):
            found.append(here)
            dirs[:] = []
    if not found:
        raise UsageError(
            f"{root}: no model directories found below it (a model dir holds config.json, "
            f"or an {CONFIG_FILE} whose [predictions] names a file)"
        )
    return found


def unique_names(dirs: list[Path], root: Path) -> list[str]:
    """Output folder names: the dir name, or its path below ``root`` where names collide.

    Names come from the resolved folder (``m/x/sub/..`` is ``x``, ``.`` is the current
    folder's name), so a name never steps out of ``--out``; see :func:`safe_name`.
    """
    names = [safe_name(d) for d in dirs]
    if len(set(names)) == len(names):
        return names
    out = []
    for d, name in zip(dirs, names, strict=True):
        try:
            rel = d.resolve().relative_to(root.resolve())
            out.append(safe_name(d, "-".join(rel.parts)) if rel.parts else name)
        except ValueError:
            out.append(name)
    return out


def safe_name(model_dir: Path, name: str | None = None) -> str:
    """``name`` (default: the resolved folder's name) as one safe folder name under ``--out``.

    Never empty, ``.`` or ``..``, never with a path separator or a control character, never
    hidden (a leading dot could clash with ``.cache``, ``.lock`` and the staging folders).
    A name that cannot be made safe (the file-system root) is a usage error.
    """
    if name is None:
        try:
            name = model_dir.resolve().name
        except (OSError, RuntimeError):  # a symlink loop: discover() has reported it already
            name = model_dir.name
    cleaned = "".join("-" if char in "/\\" or not char.isprintable() else char for char in name)
    cleaned = cleaned.strip(". ")  # every mix of dots and spaces at either end: " .. " too
    if not cleaned:
        raise UsageError(
            f"{model_dir}: cannot name its report folder from {name!r}; "
            "pass the model dir by a path that ends in its own folder name"
        )
    return cleaned


def inside(model_dir: Path, relative: str | Path) -> Path:
    """Resolve ``relative`` inside ``model_dir``; refuse any path (or symlink) leading out."""
    base = model_dir.resolve()
    candidate = model_dir / relative
    try:
        resolved = candidate.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        raise ModelDirError(f"{candidate}: a symlink loop; replace the link with the file itself") from None
    if resolved != base and base not in resolved.parents:
        how = "is a symlink pointing" if candidate.is_symlink() else "points"
        fix = "; copy the real files in (cp -rL) to audit them" if candidate.is_symlink() else ""
        raise ModelDirError(
            f"{candidate}: {how} outside the model dir ({resolved}); auditkit reads only files inside the model dir"
            + fix
        )
    return resolved


def refuse_escaping_symlinks(model_dir: Path) -> None:
    """Refuse a dir holding a symlink that leads out of it, before anything reads a file.

    transformers and plugins open files auditkit never names (vocab.txt, trainer_state.json,
    checkpoint-500/…); checking every entry of the tree covers them all, whatever reads them.
    """
    for current, dirs, files in os.walk(model_dir, followlinks=False):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        for name in sorted(dirs + files):
            entry = Path(current) / name
            if entry.is_symlink():
                inside(model_dir, entry.relative_to(model_dir))


def list_files(model_dir: Path) -> list[str]:
    """Relative names of the files in the dir (top level and one level down), sorted."""
    out = []
    for entry in sorted(model_dir.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_file():
            out.append(entry.name)
        elif entry.is_dir() and entry.name not in SKIP_DIRS and not entry.is_symlink():
            out.extend(f"{entry.name}/{child.name}" for child in sorted(entry.iterdir()) if child.is_file())
    return out


def read_json(model_dir: Path, name: str, limit: int = MAX_JSON_BYTES) -> Any:
    """Parse a JSON file of the model dir with a size cap; every failure is one line."""
    path = inside(model_dir, name)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ModelDirError(f"{model_dir / name}: cannot read ({exc.strerror})") from None
    if size > limit:
        raise ModelDirError(f"{model_dir / name}: {size} bytes, more than the {limit}-byte limit for a JSON file")
    try:
        return json.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ModelDirError(f"{model_dir / name}: not UTF-8 text; expected a JSON document") from None
    except json.JSONDecodeError as exc:
        raise ModelDirError(
            f"{model_dir / name}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except RecursionError:
        raise ModelDirError(f"{model_dir / name}: JSON nested too deeply to be a real config") from None


def read_model_card(model_dir: Path) -> dict[str, Any]:
    """The YAML front matter of README.md (model card), or {} when there is none."""
    path = model_dir / "README.md"
    if not path.is_file():
        return {}
    with open(inside(model_dir, "README.md"), "rb") as handle:
        text = handle.read(MAX_CARD_BYTES).decode("utf-8", errors="replace")
    if not text.startswith("---"):
        return {"text": text[:5000]}
    _, _, rest = text.partition("---")
    front, sep, body = rest.partition("\n---")
    if not sep:
        return {"text": text[:5000]}
    meta = _front_matter(front)
    card = meta if isinstance(meta, dict) else {}
    card = {str(k): v for k, v in card.items()}
    card["text"] = body.lstrip("-\n")[:5000]
    return card


def _front_matter(text: str) -> Any:
    """YAML front matter as plain JSON-like data, or None when it is not safe to keep.

    Aliases are refused: a few nested anchors expand to billions of nodes the moment a
    report writes the card out ("billion laughs"). Depth and node count are capped too.
    """
    import yaml

    if _nesting(text) > CARD_MAX_DEPTH:  # the pure-Python parser is quadratic in depth
        return None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=loader)):
            return None
        return _plain(yaml.load(text, Loader=loader), [CARD_MAX_NODES])
    except Exception:  # malformed, too deep (RecursionError) or too big: no front matter
        return None


def _nesting(text: str) -> int:
    """A cheap upper bound on YAML nesting: open brackets, or indentation (4 per level)."""
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    indent = max((len(line) - len(line.lstrip(" -")) for line in text.splitlines()), default=0)
    return max(deepest, indent // 4)


def _plain(value: Any, budget: list[int], depth: int = 0) -> Any:
    budget[0] -= 1
    if budget[0] < 0 or depth > CARD_MAX_DEPTH:
        raise ValueError("model card front matter too large")
    if isinstance(value, dict):
        return {str(k): _plain(v, budget, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v, budget, depth + 1) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)  # dates, timestamps, binary
