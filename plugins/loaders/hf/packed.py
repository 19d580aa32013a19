"""A padding-free forward pass for BERT-family sequence classifiers (the fast inference path).

Why not the model's own ``forward``: on a CPU the encoder's cost is its matrix products,
and those run near the machine's peak only when they are tall (thousands of token rows).
The transformers forward takes a padded ``(texts × longest)`` batch, so a batch is either
short in rows or wasteful in padding, and it rebuilds an attention mask every call. Here
every linear layer runs once over all tokens of a batch packed end to end (no padding row
is ever multiplied). Only attention, a small share of the work for texts of realistic
length, sees a padded layout: the tokens are scattered into ``(texts × longest)`` slots,
one masked attention (two batched products) covers them all, and the results are
gathered back. The batch is sorted by length, so few slots are empty, and each layer is a
handful of large operations rather than many small ones (which matters on a busy machine,
where every small parallel operation waits for both threads). The weights are the model's
own tensors (Q, K and V concatenated once into one product), and the arithmetic is the
reference forward's, so the logits agree to float32 rounding; the agreement is tested
against ``model(...)`` and re-checked on the model itself when it is loaded
(:func:`packed_or_none`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Architectures whose forward this module reproduces exactly (others use model.forward).
SUPPORTED = ("BertForSequenceClassification",)
# The self-check at load: largest |logit difference| allowed against model.forward.
SELF_CHECK_TOLERANCE = 1e-4


@dataclass
class _Layer:
    qkv_weight: Any  # (3H, H): Q, K, V stacked, so one product serves all three
    qkv_bias: Any
    out_weight: Any
    out_bias: Any
    ln1_weight: Any
    ln1_bias: Any
    up_weight: Any
    up_bias: Any
    down_weight: Any
    down_bias: Any
    ln2_weight: Any
    ln2_bias: Any


class PackedBert:
    """Runs a ``BertForSequenceClassification`` on packed (unpadded) token batches.

    Built from the model (``PackedBert(model)``) or straight from its saved tensors
    (:meth:`from_tensors`, which needs no transformers import at all).
    """

    def __init__(self, model: Any) -> None:
        config = model.config
        self._setup(
            dict(model.state_dict()),
            heads=int(config.num_attention_heads),
            layers=len(model.bert.encoder.layer),
            eps=float(model.bert.embeddings.LayerNorm.eps),
        )

    @classmethod
    def from_tensors(cls, tensors: dict[str, Any], heads: int, layers: int, eps: float) -> PackedBert:
        """A runner from ``BertForSequenceClassification`` state-dict tensors (names as
        ``save_pretrained`` writes them) and the config numbers the tensors do not carry."""
        packed = cls.__new__(cls)
        packed._setup(tensors, heads=heads, layers=layers, eps=eps)
        return packed

    def _setup(self, tensors: dict[str, Any], heads: int, layers: int, eps: float) -> None:
        import torch

        def t(name: str) -> Any:
            return tensors[name].detach()

        self.heads = heads
        self.word = t("bert.embeddings.word_embeddings.weight")
        self.hidden = int(self.word.shape[1])
        self.head_size = self.hidden // heads
        # LayerNorm as F.layer_norm over the last dim with each norm's own weight and bias:
        # exactly what nn.LayerNorm.forward computes
        self.eps = eps
        self.position = t("bert.embeddings.position_embeddings.weight")
        self.token_type0 = t("bert.embeddings.token_type_embeddings.weight")[0]
        self.emb_ln_weight = t("bert.embeddings.LayerNorm.weight")
        self.emb_ln_bias = t("bert.embeddings.LayerNorm.bias")
        self.layers = []
        for i in range(layers):
            p = f"bert.encoder.layer.{i}."
            qkv = [f"{p}attention.self.{name}" for name in ("query", "key", "value")]
            self.layers.append(
                _Layer(
                    qkv_weight=torch.cat([t(f"{n}.weight") for n in qkv]),
                    qkv_bias=torch.cat([t(f"{n}.bias") for n in qkv]),
                    out_weight=t(f"{p}attention.output.dense.weight"),
                    out_bias=t(f"{p}attention.output.dense.bias"),
                    ln1_weight=t(f"{p}attention.output.LayerNorm.weight"),
                    ln1_bias=t(f"{p}attention.output.LayerNorm.bias"),
                    up_weight=t(f"{p}intermediate.dense.weight"),
                    up_bias=t(f"{p}intermediate.dense.bias"),
                    down_weight=t(f"{p}output.dense.weight"),
                    down_bias=t(f"{p}output.dense.bias"),
                    ln2_weight=t(f"{p}output.LayerNorm.weight"),
                    ln2_bias=t(f"{p}output.LayerNorm.bias"),
                )
            )
        self.pooler_weight = t("bert.pooler.dense.weight")
        self.pooler_bias = t("bert.pooler.dense.bias")
        self.classifier_weight = t("classifier.weight")
        self.classifier_bias = t("classifier.bias")

    def logits(self, ids: Any, lengths: list[int]) -> Any:
        """Logits (texts × labels) for texts whose token ids are concatenated in ``ids``.

        ``lengths`` must be non-increasing (the caller sorts), so the first is the longest.
        """
        import torch
        import torch.nn.functional as F

        count, width = len(lengths), int(lengths[0])
        pos = torch.arange(width)
        valid = pos[None, :] < torch.tensor(lengths)[:, None]  # (texts, width)
        slots = (torch.arange(count)[:, None] * width + pos[None, :])[valid]  # token → padded slot
        # keys past a text's end weigh exp(-inf) = 0, exactly as the reference's padding mask
        mask = torch.zeros(count, 1, 1, width).masked_fill_(~valid[:, None, None, :], float("-inf"))
        x = F.embedding(ids, self.word) + self.token_type0
        hidden, heads, size, eps = self.hidden, self.heads, self.head_size, self.eps
        x = x + F.embedding(pos.expand(count, width)[valid], self.position)
        x = F.layer_norm(x, (hidden,), self.emb_ln_weight, self.emb_ln_bias, eps)
        for layer in self.layers:
            qkv = F.linear(x, layer.qkv_weight, layer.qkv_bias)
            padded = qkv.new_zeros(count * width, 3 * hidden).index_copy_(0, slots, qkv)
            # (texts, width, 3, heads, size) → three (texts, heads, width, size) views
            q, k, v = padded.view(count, width, 3, heads, size).permute(2, 0, 3, 1, 4)
            out = _attention(q, k, v, mask, size**-0.5)
            context = out.transpose(1, 2).reshape(count * width, hidden).index_select(0, slots)
            x = F.linear(context, layer.out_weight, layer.out_bias) + x
            x = F.layer_norm(x, (hidden,), layer.ln1_weight, layer.ln1_bias, eps)
            # hidden_act "gelu" is transformers' GELUActivation: F.gelu, the exact erf form
            inner = F.gelu(F.linear(x, layer.up_weight, layer.up_bias))
            x = F.linear(inner, layer.down_weight, layer.down_bias) + x
            x = F.layer_norm(x, (hidden,), layer.ln2_weight, layer.ln2_bias, eps)
        first = torch.tensor(_starts(lengths))
        pooled = torch.tanh(F.linear(x[first], self.pooler_weight, self.pooler_bias))
        return F.linear(pooled, self.classifier_weight, self.classifier_bias)


def config_problems(config: dict[str, Any]) -> list[str]:
    """What in a BERT config.json (as a dict) changes the forward away from the one
    :class:`PackedBert` computes; empty when it reproduces it. Shared by the self-checked
    path (:func:`packed_or_none`) and the direct one (plugins/loaders/hf/direct.py)."""
    problems = []
    if config.get("is_decoder") or config.get("add_cross_attention"):
        problems.append("decoder or cross-attention")
    if config.get("hidden_act", "gelu") != "gelu":
        problems.append(f"hidden_act={config.get('hidden_act')!r}, not 'gelu'")
    if config.get("position_embedding_type", "absolute") not in (None, "absolute"):
        problems.append(f"position_embedding_type={config.get('position_embedding_type')!r}")
    return problems


def packed_or_none(model: Any) -> tuple[PackedBert | None, str]:
    """The packed runner for ``model`` when it is exactly reproducible, else (None, why not)."""
    config = getattr(model, "config", None)
    arch = type(model).__name__
    if arch not in SUPPORTED or config is None:
        return None, f"{arch}: no packed forward for this architecture"
    problems = config_problems(config.to_dict())
    hidden = int(config.hidden_size)
    for layer in model.bert.encoder.layer:
        if tuple(layer.attention.self.query.weight.shape) != (hidden, hidden):
            problems.append("pruned attention heads")
            break
    if model.bert.pooler is None:
        problems.append("no pooler")
    if problems:
        return None, f"{arch}: " + ", ".join(problems)
    packed = PackedBert(model)
    worst = self_check(model, packed)
    if not worst <= SELF_CHECK_TOLERANCE:
        return None, f"{arch}: packed forward differs from model.forward by {worst:.2e} on the self-check"
    return packed, "packed"


def self_check(model: Any, packed: PackedBert, seed: int = 0) -> float:
    """Largest |logit difference| between packed and ``model.forward`` on a few random texts."""
    import torch

    vocab = int(model.config.vocab_size)
    longest = min(16, int(model.config.max_position_embeddings))
    lengths = sorted([longest, longest // 2 + 1, longest // 2 + 1, 3], reverse=True)
    generator = torch.Generator().manual_seed(seed)
    texts = [torch.randint(0, vocab, (n,), generator=generator) for n in lengths]
    with torch.inference_mode():
        fast = packed.logits(torch.cat(texts), lengths)
        ids = torch.zeros(len(texts), lengths[0], dtype=torch.long)
        mask = torch.zeros_like(ids)
        for row, t in enumerate(texts):
            ids[row, : len(t)] = t
            mask[row, : len(t)] = 1
        reference = model(input_ids=ids, attention_mask=mask).logits
    return float((fast - reference).abs().max())


def _attention(q: Any, k: Any, v: Any, mask: Any, scale: float) -> Any:
    """softmax(q kᵀ · scale + mask) v over (texts, heads, width, size): two batched products.

    For texts of a few dozen word pieces this beats torch's fused CPU kernel, whose
    per-block set-up costs more than the little arithmetic there is.
    """
    import torch

    count, heads, width, size = q.shape
    q, k, v = (t.reshape(count * heads, width, size) for t in (q, k, v))
    bias = mask.expand(count, heads, 1, width).reshape(count * heads, 1, width)
    weights = torch.softmax(torch.baddbmm(bias, q, k.transpose(1, 2), alpha=scale), dim=-1)
    return torch.bmm(weights, v).view(count, heads, width, size)


def _starts(lengths: list[int]) -> list[int]:
    out, offset = [], 0
    for n in lengths:
        out.append(offset)
        offset += n
    return out
