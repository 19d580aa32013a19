"""``auditkit card MODEL_DIR OUT/<model>``: the audit's results into the model card's metadata.

A model published on the Hub carries its evaluation results in README.md's YAML front
matter (``model-index``). This writes each section's metrics there as eval results, and
the verdict under an ``auditkit`` key, through huggingface_hub's ModelCard /
ModelCardData / EvalResult (its own YAML, never text we format by hand), so the Hub
reads the card as it reads any other. The rest of the card is kept; results of an
earlier ``auditkit card`` are replaced, other results stay.

Nothing is fetched (``HF_HUB_OFFLINE``, and the card is parsed from its text, never
loaded by repo id); README.md is replaced atomically; a symlinked README.md, or front
matter with YAML aliases or deep nesting (a vendor's card is untrusted), is refused.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditkit.errors import UsageError

README = "README.md"
MAX_README_BYTES = 4 * 1024 * 1024
# auditkit's eval results carry this in their metric args, so a rerun replaces only them
SOURCE = "auditkit"
# the Hub's task ids for auditkit's model tasks
HUB_TASKS = {
    "sequence-classification": "text-classification",
    "token-classification": "token-classification",
    "scores": "tabular-classification",
}


@dataclass
class CardResult:
    path: Path
    results: int
    verdict: str


def write_card(model_dir: Path, report_dir: Path) -> CardResult:
    """Write ``report_dir/audit.json``'s results into ``model_dir/README.md``; UsageError on bad input."""
    os.environ["HF_HUB_OFFLINE"] = "1"  # before huggingface_hub reads its settings: nothing is fetched
    audit = _read_audit(report_dir)
    readme = _readme_path(model_dir)
    card = _load_card(readme) if readme.exists() else None
    card = _update(card, audit, model_dir)
    _write_atomically(readme, card.content)
    results = sum(1 for r in card.data.eval_results or [] if _ours(r))
    return CardResult(readme, results, audit["verdict"])


def _read_audit(report_dir: Path) -> dict[str, Any]:
    path = report_dir / "audit.json"
    if not path.is_file():
        raise UsageError(f"{path}: no such file; pass OUT/<model>, or run `auditkit run MODEL_DIR --format json` first")
    try:
        audit = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{path}: not readable JSON ({type(exc).__name__}); run the audit again") from None
    ok = (
        isinstance(audit, dict)
        and str(audit.get("schema_version", "")).startswith("1.")
        and isinstance(audit.get("model"), dict)
        and isinstance(audit.get("sections"), dict)
        and audit.get("verdict") in ("pass", "warn", "fail", "error")
    )
    if not ok:
        raise UsageError(f"{path}: not an auditkit audit.json (schema_version 1.x); run the audit again")
    return audit


def _readme_path(model_dir: Path) -> Path:
    if not model_dir.is_dir():
        raise UsageError(f"{model_dir}: no such model dir")
    readme = model_dir / README
    if readme.is_symlink():
        raise UsageError(f"{readme}: a symlink; auditkit card writes only a regular README.md inside the model dir")
    if readme.exists() and not readme.is_file():
        raise UsageError(f"{readme}: not a regular file; move it away and run auditkit card again")
    return readme


def _load_card(readme: Path) -> Any:
    from huggingface_hub import ModelCard

    from auditkit.model_dir import _front_matter

    raw = readme.read_bytes()
    if len(raw) > MAX_README_BYTES:
        raise UsageError(f"{readme}: larger than {MAX_README_BYTES >> 20} MB; not a model card auditkit will rewrite")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{readme}: not UTF-8 text; save it as UTF-8 and run auditkit card again") from None
    front = _front_block(text)
    if front is not None and front.strip() and _front_matter(front) is None:
        raise UsageError(
            f"{readme}: its YAML front matter is malformed, too deep or uses aliases; fix or remove it and run again"
        )
    try:
        return ModelCard(text, ignore_metadata_errors=False)
    except Exception as exc:  # huggingface_hub's own checks (a malformed model-index)
        message = " ".join(str(exc).split())[:200]
        raise UsageError(f"{readme}: its model-card metadata is not valid ({message}); fix it and run again") from None


def _front_block(text: str) -> str | None:
    """The YAML between the opening and closing ``---``, or None when the card has none."""
    if not text.startswith("---"):
        return None
    _, _, rest = text.partition("---")
    front, sep, _ = rest.partition("\n---")
    return front if sep else None


def _update(card: Any, audit: dict[str, Any], model_dir: Path) -> Any:
    from huggingface_hub import ModelCard, ModelCardData

    name = str(audit["model"].get("name") or model_dir.name)
    if card is None:
        data = ModelCardData(model_name=name)
        card = ModelCard(f"---\n{data.to_yaml()}\n---\n\n# {name}\n\nAudited with auditkit: see the results above.\n")
    kept = [r for r in card.data.eval_results or [] if not _ours(r)]
    card.data.eval_results = kept + _eval_results(audit)
    if not card.data.model_name:
        card.data.model_name = name
    card.data.auditkit = {
        "verdict": audit["verdict"],
        "verdict_notes": [str(n) for n in audit.get("verdict_notes") or []],
        "report_id": str(audit.get("report_id", "")),
        "created": str(audit.get("created", "")),
        "auditkit_version": str(audit.get("auditkit_version", "")),
        "schema_version": str(audit["schema_version"]),
        "sections": {str(k): str(s.get("status", s.get("verdict", ""))) for k, s in audit["sections"].items()},
    }
    return card


def _eval_results(audit: dict[str, Any]) -> list[Any]:
    """One EvalResult per numeric metric of each section, in report order."""
    from huggingface_hub import EvalResult

    dataset = audit.get("dataset") or {}
    dataset_name = Path(str(dataset.get("path") or "evaluation data")).name
    task = str(audit["model"].get("task", ""))
    out = []
    for section_name, section in audit["sections"].items():
        metrics = section.get("metrics") if isinstance(section, dict) else None
        for metric, value in (metrics or {}).items():
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                continue  # None: not measured
            out.append(
                EvalResult(
                    task_type=HUB_TASKS.get(task, task or "other"),
                    dataset_type=dataset_name,
                    dataset_name=dataset_name,
                    dataset_revision=dataset.get("sha256"),
                    metric_type=str(metric),
                    metric_name=f"{section.get('title', section_name)}: {metric}",
                    metric_value=value,
                    metric_args={"source": SOURCE, "section": str(section_name), "report_id": audit.get("report_id")},
                )
            )
    return out


def _ours(result: Any) -> bool:
    args = getattr(result, "metric_args", None)
    return isinstance(args, dict) and args.get("source") == SOURCE


def _write_atomically(path: Path, text: str) -> None:
    """A temporary file beside README.md, then a rename: a reader sees the old card or the new one."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".auditkit-tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
