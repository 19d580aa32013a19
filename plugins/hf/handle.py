"""A loaded transformers classifier that predicts in length-sorted, dynamically padded batches.

One fast batch encoding of all texts, then batches of similar length so that padding
(wasted matmul work) stays small, under ``torch.inference_mode()``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from auditkit.model import ModelInfo, Predictions

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from auditkit.config import Config


class TransformersHandle:
    """The model handle the runner and plugins use: ``predict`` and ``predict_proba``."""

    cacheable = True

    def __init__(
        self, model: Any, tokenizer: Any, info: ModelInfo, batch_size: int, max_length: int, progress: bool = True
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.info = info
        self.batch_size = batch_size
        self.max_length = max_length
        self.progress = progress

    def cache_key(self) -> str:
        return "|".join(str(x) for x in (self.info.sha256, self.info.extra.get("base_sha256"), self.max_length))

    # ------------------------------------------------------------ sequence tasks

    def predict(self, frame: pd.DataFrame, config: Config) -> Predictions:
        import numpy as np

        column = config.section("data")["text"]
        if self.info.task == "token-classification":
            from auditkit.data import _token_lists

            words = _token_lists(frame, column, self.info.path)  # type: ignore[arg-type]
            tags = self.predict_tokens(words)
            flat = np.asarray([" ".join(t) for t in tags], dtype=object)
            return Predictions(labels=flat, classes=list(self.info.labels), token_labels=tags)
        texts = ["" if _missing(t) else str(t) for t in frame[column].tolist()]
        proba = self.predict_proba(texts)
        classes = list(self.info.labels)
        labels = np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
        positive = config.section("data").get("positive")
        scores = None
        if len(classes) == 2:
            pos = classes.index(str(positive)) if str(positive) in classes else 1
            scores = proba[:, pos]
        return Predictions(labels=labels, classes=classes, proba=proba, scores=scores)

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Class probabilities (n × k, columns in ``info.labels`` order) for raw texts."""
        import numpy as np

        encoded = self.tokenizer(
            list(texts),
            truncation=True,
            max_length=self.max_length,
            return_attention_mask=False,
            return_token_type_ids=False,
        )["input_ids"]
        out = np.zeros((len(texts), len(self.info.labels)), dtype=np.float64)
        for idx, logits in self._batches(encoded):
            out[idx] = _softmax(logits)
        return out

    def logits(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        encoded = self.tokenizer(
            list(texts),
            truncation=True,
            max_length=self.max_length,
            return_attention_mask=False,
            return_token_type_ids=False,
        )["input_ids"]
        out = np.zeros((len(texts), len(self.info.labels)), dtype=np.float64)
        for idx, logits in self._batches(encoded):
            out[idx] = logits
        return out

    # ------------------------------------------------------------ token tasks

    def predict_tokens(self, words: list[list[str]]) -> list[list[str]]:
        """One tag per word: the prediction at the word's first word piece."""
        encoding = self.tokenizer(
            words,
            is_split_into_words=True,
            truncation=True,
            max_length=self.max_length,
            return_attention_mask=False,
            return_token_type_ids=False,
        )
        ids = encoding["input_ids"]
        word_ids = [encoding.word_ids(i) for i in range(len(words))]
        labels = self.info.labels
        fallback = "O" if "O" in labels else labels[0]
        out: list[list[str]] = [[fallback] * len(w) for w in words]
        for idx, logits in self._batches(ids, per_token=True):
            for row, example in enumerate(idx):
                seen: set[int] = set()
                for position, word in enumerate(word_ids[example]):
                    if word is None or word in seen or position >= logits.shape[1]:
                        continue
                    seen.add(word)
                    out[example][word] = labels[int(logits[row, position].argmax())]
        return out

    # ------------------------------------------------------------ batching

    def _batches(self, encoded: list[list[int]], per_token: bool = False) -> Any:
        import numpy as np
        import torch
        from tqdm import tqdm

        lengths = np.fromiter((len(x) for x in encoded), dtype=np.int64, count=len(encoded))
        order = np.argsort(-lengths, kind="stable")  # longest first: memory peaks early
        pad = self.tokenizer.pad_token_id or 0
        bar = tqdm(
            total=len(encoded),
            unit="text",
            desc="predict",
            file=sys.stderr,
            disable=not (self.progress and sys.stderr.isatty()),
            leave=False,
        )
        try:
            with torch.inference_mode():
                for start in range(0, len(order), self.batch_size):
                    idx = order[start : start + self.batch_size]
                    width = int(lengths[idx].max()) if len(idx) else 0
                    input_ids = np.full((len(idx), width), pad, dtype=np.int64)
                    mask = np.zeros((len(idx), width), dtype=np.int64)
                    for row, i in enumerate(idx):
                        input_ids[row, : lengths[i]] = encoded[i]
                        mask[row, : lengths[i]] = 1
                    logits = self.model(
                        input_ids=torch.from_numpy(input_ids), attention_mask=torch.from_numpy(mask)
                    ).logits
                    yield idx, logits.float().numpy().astype(np.float64)
                    bar.update(len(idx))
        finally:
            bar.close()


def _softmax(logits: np.ndarray) -> np.ndarray:
    import numpy as np

    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)
