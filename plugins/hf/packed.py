"""A padding-free forward pass for BERT-family sequence classifiers (the fast inference path).

Why not the model's own ``forward``: on a CPU the encoder's cost is its matrix products,
and those run near the machine's peak only when they are tall (thousands of token rows).
The transformers forward takes a padded ``(texts × longest)`` batch, so a batch is either
short in rows or wasteful in padding, and it rebuilds an attention mask every call. Here
every linear layer runs once over all tokens of a batch packed end to end (no padding row
is ever multiplied), and attention runs per run of equal-length texts — the batch is
sorted by length, so those runs are contiguous slices — with no mask at all, because no
text in such a run has padding. The weights are the model's own tensors (Q, K and V
concatenated once into one product), and the arithmetic is the same as the reference
forward's, in the same order, so the logits agree to float32 rounding; the agreement is
tested against ``model(...)`` and re-checked on the model itself when it is loaded
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
    ln1: Any  # nn.LayerNorm modules: their own weight, bias and eps
    up_weight: Any
    up_bias: Any
    act: Any
    down_weight: Any
    down_bias: Any
    ln2: Any


class PackedBert:
    """Runs a ``BertForSequenceClassification`` on packed (unpadded) token batches."""

    def __init__(self, model: Any, flash_above: int = 64) -> None:
        import torch

        # texts longer than this use torch's fused (flash) attention kernel; shorter ones
        # two batched products, which the fused kernel's per-block overhead loses to there
        self.flash_above = flash_above

        bert = model.bert
        config = model.config
        self.heads = int(config.num_attention_heads)
        self.head_size = int(config.hidden_size) // self.heads
        emb = bert.embeddings
        self.word = emb.word_embeddings.weight
        self.position = emb.position_embeddings.weight
        self.token_type0 = emb.token_type_embeddings.weight[0]
        self.emb_ln = emb.LayerNorm
        self.layers = []
        for layer in bert.encoder.layer:
            att = layer.attention
            self.layers.append(
                _Layer(
                    qkv_weight=torch.cat([att.self.query.weight, att.self.key.weight, att.self.value.weight]).detach(),
                    qkv_bias=torch.cat([att.self.query.bias, att.self.key.bias, att.self.value.bias]).detach(),
                    out_weight=att.output.dense.weight,
                    out_bias=att.output.dense.bias,
                    ln1=att.output.LayerNorm,
                    up_weight=layer.intermediate.dense.weight,
                    up_bias=layer.intermediate.dense.bias,
                    act=layer.intermediate.intermediate_act_fn,
                    down_weight=layer.output.dense.weight,
                    down_bias=layer.output.dense.bias,
                    ln2=layer.output.LayerNorm,
                )
            )
        self.pooler = bert.pooler.dense
        self.classifier = model.classifier

    def logits(self, ids: Any, lengths: list[int]) -> Any:
        """Logits (texts × labels) for texts whose token ids are concatenated in ``ids``.

        ``lengths`` must be non-increasing (the caller sorts), so equal lengths are adjacent.
        """
        import torch
        import torch.nn.functional as F

        runs = _runs(lengths)
        positions = torch.cat([torch.arange(n) for n, count in runs for _ in range(count)])
        x = F.embedding(ids, self.word) + self.token_type0
        x = self.emb_ln(x + F.embedding(positions, self.position))
        total, hidden = x.shape
        heads, size = self.heads, self.head_size
        scale = self.head_size**-0.5
        for layer in self.layers:
            qkv = F.linear(x, layer.qkv_weight, layer.qkv_bias)
            context = torch.empty(total, hidden, dtype=x.dtype)
            start = 0
            for n, count in runs:
                stop = start + n * count
                # (count, n, 3, heads, size) → three (count, heads, n, size) views
                q, k, v = qkv[start:stop].view(count, n, 3, heads, size).permute(2, 0, 3, 1, 4)
                if n <= self.flash_above:
                    out = _attention(q, k, v, scale)
                else:
                    out = F.scaled_dot_product_attention(q, k, v, scale=scale)
                context[start:stop].view(count, n, heads, size).copy_(out.transpose(1, 2))
                start = stop
            x = layer.ln1(F.linear(context, layer.out_weight, layer.out_bias) + x)
            inner = layer.act(F.linear(x, layer.up_weight, layer.up_bias))
            x = layer.ln2(F.linear(inner, layer.down_weight, layer.down_bias) + x)
        first = torch.tensor(_starts(lengths))
        pooled = torch.tanh(F.linear(x[first], self.pooler.weight, self.pooler.bias))
        return F.linear(pooled, self.classifier.weight, self.classifier.bias)


def packed_or_none(model: Any) -> tuple[PackedBert | None, str]:
    """The packed runner for ``model`` when it is exactly reproducible, else (None, why not)."""
    config = getattr(model, "config", None)
    arch = type(model).__name__
    if arch not in SUPPORTED or config is None:
        return None, f"{arch}: no packed forward for this architecture"
    problems = []
    if getattr(config, "is_decoder", False) or getattr(config, "add_cross_attention", False):
        problems.append("decoder or cross-attention")
    if getattr(config, "position_embedding_type", "absolute") not in (None, "absolute"):
        problems.append(f"position_embedding_type={config.position_embedding_type!r}")
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


def _attention(q: Any, k: Any, v: Any, scale: float) -> Any:
    """softmax(q kᵀ · scale) v over (texts, heads, n, size), as transformers' eager attention."""
    import torch

    count, heads, n, size = q.shape
    q, k, v = (t.reshape(count * heads, n, size) for t in (q, k, v))
    weights = torch.softmax(torch.bmm(q, k.transpose(1, 2)).mul_(scale), dim=-1)
    return torch.bmm(weights, v).view(count, heads, n, size)


def _runs(lengths: list[int]) -> list[tuple[int, int]]:
    """(length, count) for each run of equal lengths, in order."""
    runs: list[tuple[int, int]] = []
    for n in lengths:
        if runs and runs[-1][0] == n:
            runs[-1] = (n, runs[-1][1] + 1)
        else:
            runs.append((n, 1))
    return runs


def _starts(lengths: list[int]) -> list[int]:
    out, offset = [], 0
    for n in lengths:
        out.append(offset)
        offset += n
    return out
