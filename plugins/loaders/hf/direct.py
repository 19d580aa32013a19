"""Load a plain BERT sequence classifier without importing transformers.

Why: importing transformers costs about 3 s of the ~5 s a model takes to load, and for the
common model dir (``BertForSequenceClassification`` saved as config.json +
model.safetensors + tokenizer.json) none of it is needed: the packed runner
(:mod:`auditkit.plugins.loaders.hf.packed`) only needs the tensors, and the tokenizer is the
``tokenizers`` library's own. So this module reads both directly, but only when it can show
the result is what transformers would compute: every config field that changes the forward
is the default, the tensors are exactly the classifier's (names, shapes, float32), and the
tokenizer.json is the tokenizer transformers 5 would rebuild from it (``BertTokenizer``
rebuilds the normalizer from tokenizer_config.json's flags, the post-processor from its
[CLS]/[SEP] tokens, and takes the added tokens from tokenizer_config.json's
``added_tokens_decoder`` when present). Anything else gets a one-line reason and the
caller loads through transformers as before.

All JSON handed in here was read and checked by the loader (size caps, no custom code, a
validated safetensors header); this module opens no other file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditkit.plugins.loaders.hf.checks import WeightFiles, first_line
from auditkit.plugins.loaders.hf.packed import PackedBert, config_problems

ARCHITECTURE = "BertForSequenceClassification"
# what the transformers path says when this one is taken
PATH = "packed (direct from safetensors, transformers not imported)"
# BertTokenizer's defaults for the flags and tokens tokenizer_config.json may leave out
_TOKEN_DEFAULTS = {
    "unk_token": "[UNK]",
    "sep_token": "[SEP]",
    "pad_token": "[PAD]",
    "cls_token": "[CLS]",
    "mask_token": "[MASK]",
}
_NAMED_TOKENS = ("bos_token", "eos_token", *_TOKEN_DEFAULTS)
_SHAPE_FIELDS = (
    "hidden_size",
    "num_attention_heads",
    "intermediate_size",
    "num_hidden_layers",
    "vocab_size",
    "max_position_embeddings",
    "type_vocab_size",
)
# non-persistent buffers older transformers versions saved; the model ignores them on load
_OPTIONAL_KEYS = ("bert.embeddings.position_ids", "bert.embeddings.token_type_ids")
# transformers re-patches the pre-tokenizer of vocabularies above this size (Mistral regex)
_MAX_VOCAB = 100_000
# tokenizer_config.json's model_max_length when it sets none (transformers' VERY_LARGE_INTEGER)
_NO_LIMIT = int(1e30)
# above this, transformers treats model_max_length as "no limit" (its LARGE_INTEGER)
_LARGE = int(1e20)


@dataclass
class BertShape:
    """The config.json numbers the tensors must fit."""

    hidden: int
    heads: int
    intermediate: int
    layers: int
    vocab: int
    positions: int
    token_types: int
    labels: int
    eps: float


@dataclass
class TokenizerPlan:
    """A tokenizer.json that is exactly what transformers' BertTokenizer builds from the dir."""

    tokenizer_json: dict[str, Any]
    model_max_length: int
    pad_token: str

    def open(self) -> WordPieceTokenizer:
        """The tokenizer, built from the JSON that was checked (not by re-reading the file)."""
        import json

        from tokenizers import Tokenizer

        backend = Tokenizer.from_str(json.dumps(self.tokenizer_json))
        return WordPieceTokenizer(backend, self.model_max_length, self.pad_token)


@dataclass
class DirectPlan:
    """Everything needed to load without transformers, decided from checked JSON only."""

    weights: Path
    shape: BertShape
    tokenizer: TokenizerPlan


class WordPieceTokenizer:
    """``tokenizers.Tokenizer`` called the way the handle calls transformers' tokenizer.

    ``tokenizer(texts, truncation=True, max_length=N, ...)["input_ids"]`` gives the ids
    transformers' BertTokenizer gives: [CLS] text [SEP], truncated from the right to N
    word pieces including the two special ones, no padding.
    """

    def __init__(self, backend: Any, model_max_length: int, pad_token: str) -> None:
        self._backend = backend
        self.model_max_length = model_max_length
        self.pad_token_id = backend.token_to_id(pad_token)

    def __call__(
        self,
        texts: list[str],
        truncation: bool | None = None,
        max_length: int | None = None,
        return_attention_mask: bool | None = None,
        return_token_type_ids: bool | None = None,
    ) -> dict[str, list[list[int]]]:
        """Token ids per text; truncation follows transformers' rules (a max_length alone
        truncates; truncation alone stops at model_max_length when it has one). Only
        ``input_ids`` is returned, whatever the return_* options say."""
        if truncation is None:
            truncation = max_length is not None
        if truncation and max_length is None and self.model_max_length <= _LARGE:
            max_length = self.model_max_length
        if truncation and max_length is not None:
            self._backend.enable_truncation(max_length, stride=0, strategy="longest_first", direction="right")
        else:
            self._backend.no_truncation()
        self._backend.no_padding()
        encodings = self._backend.encode_batch(list(texts), add_special_tokens=True)
        return {"input_ids": [e.ids for e in encodings]}


def plan(
    model_dir: Path,
    config: dict[str, Any],
    weights: WeightFiles,
    headers: list[dict[str, Any]],
    tokenizer_files: dict[str, Any],
    num_labels: int,
) -> tuple[DirectPlan | None, str]:
    """(plan, "") when the dir can be loaded without transformers, else (None, why not).

    ``config`` is config.json as checked; ``tokenizer_files`` maps a tokenizer file name to
    its checked JSON (absent files are not in it); ``headers`` are the validated
    safetensors headers of ``weights``.
    """
    shape, why = _model_shape(config, num_labels)
    if shape is None:
        return None, f"config.json: {why}"
    if weights.kind != "safetensors" or len(weights.files) != 1:
        return None, f"weights are {weights.kind}, not one model.safetensors"
    why = _tensors_fit(headers[0], shape)
    if why:
        return None, f"model.safetensors: {why}"
    tokenizer, why = tokenizer_plan(model_dir, config, tokenizer_files)
    if tokenizer is None:
        return None, why
    return DirectPlan(weights.files[0], shape, tokenizer), ""


def tokenizer_plan(
    model_dir: Path, config: dict[str, Any], tokenizer_files: dict[str, Any]
) -> tuple[TokenizerPlan | None, str]:
    """(plan, "") when the dir's tokenizer.json can be used as it is, else (None, why not)."""
    if not (model_dir / "tokenizer.json").is_file():
        return None, "no tokenizer.json"
    for name in ("added_tokens.json", "tokenizer.model"):  # transformers would read these too
        if (model_dir / name).exists():
            return None, f"{name} present"
    tokenizer_json = tokenizer_files.get("tokenizer.json")
    options = tokenizer_files.get("tokenizer_config.json", {})
    special_map = tokenizer_files.get("special_tokens_map.json")
    if not isinstance(tokenizer_json, dict) or not isinstance(options, dict):
        return None, "tokenizer.json or tokenizer_config.json is not a JSON object"
    why = _tokenizer_matches(config, tokenizer_json, options, special_map)
    if why:
        return None, why
    limit = options.get("model_max_length", _NO_LIMIT)
    if isinstance(limit, float) and limit.is_integer():
        limit = int(limit)
    if not isinstance(limit, int) or isinstance(limit, bool):
        return None, "tokenizer_config.json: model_max_length is not a number"
    pad = str(_special_tokens(options, special_map)["pad_token"])
    return TokenizerPlan(tokenizer_json, limit, pad), ""


def load(plan: DirectPlan) -> tuple[Any, WordPieceTokenizer]:
    """(PackedBert, tokenizer) for a dir :func:`plan` accepted. Reads the weights file."""
    from safetensors.torch import load_file

    from auditkit.errors import ModelDirError

    # the same one-line errors as the transformers path
    try:
        tensors = load_file(plan.weights, device="cpu")
    except Exception as exc:
        raise ModelDirError(f"{plan.weights}: the weights cannot be loaded: {first_line(exc)}") from None
    try:
        tokenizer = plan.tokenizer.open()
    except Exception as exc:
        raise ModelDirError(f"{plan.weights.parent}: the tokenizer cannot be loaded: {first_line(exc)}") from None
    shape = plan.shape
    return PackedBert.from_tensors(tensors, heads=shape.heads, layers=shape.layers, eps=shape.eps), tokenizer


# ---------------------------------------------------------------------- the model


def _model_shape(config: dict[str, Any], num_labels: int) -> tuple[BertShape | None, str]:
    if config.get("architectures") != [ARCHITECTURE] or config.get("model_type") != "bert":
        return None, f"architectures is not [{ARCHITECTURE!r}] with model_type 'bert'"
    problems = config_problems(config)
    if problems:
        return None, problems[0]
    if config.get("problem_type") not in (None, "single_label_classification"):
        return None, f"problem_type={config.get('problem_type')!r}"
    if config.get("pruned_heads"):
        return None, "pruned attention heads"
    if config.get("chunk_size_feed_forward", 0) != 0:
        return None, "chunk_size_feed_forward is set"
    for key in ("dtype", "torch_dtype"):
        if config.get(key) not in (None, "float32"):
            return None, f"{key}={config.get(key)!r}; only float32 models load directly"
    numbers = {}
    for key in _SHAPE_FIELDS:
        value = config.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            return None, f"{key} is missing or not a positive integer"
        numbers[key] = value
    eps = config.get("layer_norm_eps")
    if not isinstance(eps, (int, float)) or isinstance(eps, bool) or not 0 < eps < 1:
        return None, "layer_norm_eps is missing or not a small positive number"
    if numbers["hidden_size"] % numbers["num_attention_heads"]:
        return None, "hidden_size is not a multiple of num_attention_heads"
    if numbers["vocab_size"] > _MAX_VOCAB:
        return None, f"vocab_size above {_MAX_VOCAB}"
    shape = BertShape(
        hidden=numbers["hidden_size"],
        heads=numbers["num_attention_heads"],
        intermediate=numbers["intermediate_size"],
        layers=numbers["num_hidden_layers"],
        vocab=numbers["vocab_size"],
        positions=numbers["max_position_embeddings"],
        token_types=numbers["type_vocab_size"],
        labels=num_labels,
        eps=float(eps),
    )
    return shape, ""


def expected_tensors(shape: BertShape) -> dict[str, tuple[int, ...]]:
    """Name → shape of every tensor ``BertForSequenceClassification.save_pretrained`` writes."""
    h, i = shape.hidden, shape.intermediate
    out: dict[str, tuple[int, ...]] = {
        "bert.embeddings.word_embeddings.weight": (shape.vocab, h),
        "bert.embeddings.position_embeddings.weight": (shape.positions, h),
        "bert.embeddings.token_type_embeddings.weight": (shape.token_types, h),
        "bert.embeddings.LayerNorm.weight": (h,),
        "bert.embeddings.LayerNorm.bias": (h,),
        "bert.pooler.dense.weight": (h, h),
        "bert.pooler.dense.bias": (h,),
        "classifier.weight": (shape.labels, h),
        "classifier.bias": (shape.labels,),
    }
    for n in range(shape.layers):
        p = f"bert.encoder.layer.{n}."
        for name, rows, cols in (
            ("attention.self.query", h, h),
            ("attention.self.key", h, h),
            ("attention.self.value", h, h),
            ("attention.output.dense", h, h),
            ("intermediate.dense", i, h),
            ("output.dense", h, i),
        ):
            out[f"{p}{name}.weight"] = (rows, cols)
            out[f"{p}{name}.bias"] = (rows,)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            out[f"{p}{norm}.weight"] = (h,)
            out[f"{p}{norm}.bias"] = (h,)
    return out


def _tensors_fit(header: dict[str, Any], shape: BertShape) -> str:
    expected = expected_tensors(shape)
    names = {n for n in header if n != "__metadata__"} - set(_OPTIONAL_KEYS)
    if names != set(expected):
        extra, missing = sorted(names - set(expected)), sorted(set(expected) - names)
        return f"tensor names differ from {ARCHITECTURE}'s (extra {extra[:2]}, missing {missing[:2]})"
    for name, dims in expected.items():
        entry = header[name]
        if entry["dtype"] != "F32":
            return f"{name} is {entry['dtype']}, not F32"
        if tuple(entry["shape"]) != dims:
            return f"{name} has shape {entry['shape']}, config.json implies {list(dims)}"
    return ""


# ---------------------------------------------------------------------- the tokenizer


def _special_tokens(options: dict[str, Any], special_map: Any) -> dict[str, Any]:
    """The named special tokens transformers ends up with: tokenizer_config.json, then
    special_tokens_map.json over it (read only without added_tokens_decoder), then
    BertTokenizer's defaults."""
    tokens: dict[str, Any] = {k: options[k] for k in _NAMED_TOKENS if k in options}
    if "added_tokens_decoder" not in options and isinstance(special_map, dict):
        tokens.update({k: v for k, v in special_map.items() if k in _NAMED_TOKENS})
    for key, default in _TOKEN_DEFAULTS.items():
        if tokens.get(key) is None:
            tokens[key] = default
    return {k: v.get("content") if isinstance(v, dict) else v for k, v in tokens.items() if v is not None}


def _tokenizer_matches(
    config: dict[str, Any], tokenizer_json: dict[str, Any], options: dict[str, Any], special_map: Any
) -> str:
    """An empty string when tokenizer.json already is the tokenizer transformers 5 builds from
    this dir, else why not."""
    where = "tokenizer_config.json"
    for source, value in ((where, options.get("tokenizer_class")), ("config.json", config.get("tokenizer_class"))):
        if value not in (None, "BertTokenizer", "BertTokenizerFast"):
            return f"{source}: tokenizer_class={value!r}, not BertTokenizer"
    for key in ("fast_tokenizer_files", "additional_special_tokens", "extra_special_tokens", "added_tokens"):
        if options.get(key):
            return f"{where}: {key} is set"
    if options.get("split_special_tokens"):
        return f"{where}: split_special_tokens is set"
    if options.get("truncation_side", "right") != "right":
        return f"{where}: truncation_side={options.get('truncation_side')!r}"
    if any(k.endswith("_token") and k not in _NAMED_TOKENS for k in options):
        return f"{where}: model-specific special tokens"
    if isinstance(special_map, dict) and "added_tokens_decoder" not in options:
        if set(special_map) - set(_NAMED_TOKENS):
            return "special_tokens_map.json: holds more than the named special tokens"
    if special_map is not None and not isinstance(special_map, dict):
        return "special_tokens_map.json: not a JSON object"

    model = tokenizer_json.get("model")
    if not isinstance(model, dict) or model.get("type") != "WordPiece" or not isinstance(model.get("vocab"), dict):
        return "tokenizer.json: not a WordPiece model with a vocabulary"
    tokens = _special_tokens(options, special_map)
    if not all(isinstance(v, str) for v in tokens.values()):
        return f"{where}: a special token is neither a string nor an AddedToken"
    # BertTokenizer rebuilds WordPiece(vocab, unk_token) with the library's defaults
    if (model.get("unk_token"), model.get("continuing_subword_prefix"), model.get("max_input_chars_per_word")) != (
        tokens["unk_token"],
        "##",
        100,
    ):
        return "tokenizer.json: WordPiece settings differ from BertTokenizer's (unk_token, ##, 100 chars)"
    # ... and the normalizer from tokenizer_config.json's flags, whatever tokenizer.json says
    flags = {
        "type": "BertNormalizer",
        "clean_text": True,
        "handle_chinese_chars": options.get("tokenize_chinese_chars", True),
        "strip_accents": options.get("strip_accents"),
        "lowercase": options.get("do_lower_case", True),
    }
    if tokenizer_json.get("normalizer") != flags:
        return (
            "tokenizer.json's normalizer disagrees with tokenizer_config.json (do_lower_case, strip_accents, "
            "tokenize_chinese_chars), which transformers follows"
        )
    if tokenizer_json.get("pre_tokenizer") != {"type": "BertPreTokenizer"}:
        return "tokenizer.json: pre_tokenizer is not BertPreTokenizer"
    truncation = tokenizer_json.get("truncation")
    # (tokenizers releases before "direction" existed truncated from the right)
    if truncation is not None and (not isinstance(truncation, dict) or truncation.get("direction", "Right") != "Right"):
        return "tokenizer.json: truncation is not from the right"

    vocab = model["vocab"]
    added = tokenizer_json.get("added_tokens")
    if not isinstance(added, list) or not all(isinstance(t, dict) for t in added):
        return "tokenizer.json: added_tokens is not a list of tokens"
    fields = ("content", "single_word", "lstrip", "rstrip", "normalized", "special")
    ours = {t.get("id"): tuple(t.get(f) for f in fields) for t in added}
    if "added_tokens_decoder" in options:  # transformers takes the added tokens from here then
        decoder = options["added_tokens_decoder"]
        if not isinstance(decoder, dict) or not all(isinstance(t, dict) for t in decoder.values()):
            return f"{where}: added_tokens_decoder is not a map of tokens"
        theirs = {_int(k): tuple(t.get(f) for f in fields) for k, t in decoder.items()}
        if theirs != ours:
            return f"{where}: added_tokens_decoder differs from tokenizer.json's added_tokens"
    for token_id, (content, *_rest, special) in ours.items():
        if vocab.get(content) != token_id or not special:
            return f"tokenizer.json: added token {content!r} is not a special token of the vocabulary"
    specials = {entry[0] for entry in ours.values()}
    missing = sorted(v for v in tokens.values() if v not in specials)
    if missing:
        return f"tokenizer.json: special token {missing[0]!r} is not among its added tokens"
    # BertTokenizer's post-processor: [CLS] A [SEP] (and [CLS] A [SEP] B [SEP] for pairs)
    if tokenizer_json.get("post_processor") != _bert_template(tokens["cls_token"], tokens["sep_token"], vocab):
        return "tokenizer.json: post_processor is not BertTokenizer's [CLS] … [SEP] template"
    return ""


def _int(value: Any) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def _bert_template(cls: str, sep: str, vocab: dict[str, int]) -> dict[str, Any]:
    """The TemplateProcessing JSON BertTokenizer's post-processor serialises to."""

    def special(token: str, type_id: int) -> dict[str, Any]:
        return {"SpecialToken": {"id": token, "type_id": type_id}}

    def seq(name: str, type_id: int) -> dict[str, Any]:
        return {"Sequence": {"id": name, "type_id": type_id}}

    return {
        "type": "TemplateProcessing",
        "single": [special(cls, 0), seq("A", 0), special(sep, 0)],
        "pair": [special(cls, 0), seq("A", 0), special(sep, 0), seq("B", 1), special(sep, 1)],
        "special_tokens": {
            token: {"id": token, "ids": [vocab.get(token)], "tokens": [token]} for token in sorted({cls, sep})
        },
    }
