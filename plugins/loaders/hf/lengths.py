"""``[model] max_length`` held to what the model's position embeddings can take.

A BERT-style model looks up one learned embedding per position: a text tokenised to more
word pieces than ``max_position_embeddings`` indexes past that table and the forward pass
fails (an IndexError deep in torch, which ended the audit as an internal error). So the
asked length is capped at the model's limit; when the config asked for more, a warning
says so (:func:`capped_finding`), and the audit goes on.
"""

from __future__ import annotations

from typing import Any

from auditkit.audit import Finding

# Models whose position ids start after the padding id (RoBERTa's scheme): with
# pad_token_id 1, a table of 514 positions holds texts of 512 word pieces.
PADDING_OFFSET_TYPES = frozenset(
    "roberta xlm-roberta camembert longformer data2vec-text xmod roberta-prelayernorm ibert mpnet "
    "xlm-roberta-xl markuplm esm".split()
)
# config.json keys that size the position table, by architecture family
POSITION_KEYS = ("max_position_embeddings", "n_positions", "max_seq_len")
CODE = "max-length-capped"


def position_limit(config: dict[str, Any]) -> int | None:
    """Most word pieces per text (special tokens included) this model's positions hold, or
    None when config.json does not say (the model then has no learned position table)."""
    size = next((config[k] for k in POSITION_KEYS if _positive_int(config.get(k))), None)
    if size is None:
        return None
    offset = 0
    if str(config.get("model_type", "")).lower() in PADDING_OFFSET_TYPES:
        pad = config.get("pad_token_id")
        offset = (pad if _positive_int(pad) or pad == 0 else 1) + 1  # positions pad+1 … pad+n
    return max(int(size) - offset, 1)


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def cap(asked: int, limit: int | None) -> int:
    """The length the model is run with: the asked one, or the model's limit if lower."""
    return asked if limit is None or asked <= limit else limit


def capped_note(asked: int, limit: int | None, set_by: str) -> dict[str, Any] | None:
    """What audit.json's model block records about a cap a config asked past, or None.

    Only a value someone set is reported: the built-in default (256) is simply held to a
    small model's limit without a warning, as the user asked for nothing.
    """
    if limit is None or asked <= limit or set_by == "default":
        return None
    return {"asked": asked, "limit": limit, "used": limit, "set_by": set_by}


def capped_finding(note: Any) -> Finding | None:
    """The warning for a capped ``[model] max_length`` (note from :func:`capped_note`)."""
    if not isinstance(note, dict) or not {"asked", "limit"} <= set(note):
        return None
    return Finding(
        "warn",
        CODE,
        f"[model] max_length = {note['asked']} is more than this model's position limit of {note['limit']} "
        f"word pieces (config.json max_position_embeddings); texts were truncated to {note['limit']}: "
        f"set [model] max_length to at most {note['limit']}",
    )
