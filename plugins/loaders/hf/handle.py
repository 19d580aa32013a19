"""A transformers classifier handle that predicts in length-sorted batches.

One fast batch encoding of all texts, then batches of similar length, under
``torch.inference_mode()``: packed without any padding for BERT classifiers
(:mod:`auditkit.plugins.loaders.hf.packed`), dynamically padded through the model's own forward
otherwise. Texts seen before come from the logit cache, and the model itself is loaded
at the first call that needs it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from auditkit.audit import ModelInfo, Predictions
from auditkit.handle import HandleCaches, InferenceTimings
from auditkit.logit_cache import LogitCache

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from auditkit.config import Config


@dataclass
class Deferred:
    """A model not built yet: the direct path (plugins/loaders/hf/direct.py) predicts without the
    transformers model, and builds it only if something asks for ``handle.model``."""

    build: Callable[[], Any]


class TransformersHandle:
    """The model handle (:class:`auditkit.ModelHandle`) the runner and plugins use: ``predict``
    and ``predict_proba``, with a logit cache and inference timings."""

    def __init__(
        self,
        info: ModelInfo,
        batch_size: int,
        max_length: int,
        progress: bool = True,
        batch_tokens: int = 0,
        loader: Callable[[], tuple[Any, Any, Any, str]] | None = None,
    ) -> None:
        self._model: Any = None
        self._tokenizer: Any = None
        # a PackedBert (plugins/loaders/hf/packed.py) for the padding-free path, or None
        self._packed: Any = None
        # () -> (model, tokenizer, packed, path), run at the first model call: a re-run whose
        # predictions all come from the caches never imports torch or reads the weights;
        # without a loader, ``use`` gives the handle its model
        self._loader = loader
        # which forward predicts ("packed", or "transformers forward (why)"); runtime
        # detail, so not in audit.json (a cached re-run never loads the model to know it)
        self.inference_path = "not loaded yet"
        self.info = info
        self.batch_size = batch_size
        self.max_length = max_length
        self.progress = progress
        # 0: batches are batch_size texts; else also at most this many word pieces
        self.batch_tokens = batch_tokens
        # logits of texts already seen (auditkit.logit_cache); the runner backs it with a file (caches())
        self.logit_cache = LogitCache()
        # wall seconds spent in the model (tokenising, forward passes), over all calls, and
        # the CPU seconds this process (all its threads) used meanwhile
        self.inference_seconds = 0.0
        self.inference_cpu_seconds = 0.0

    @property
    def model(self) -> Any:
        self._load()
        if isinstance(self._model, Deferred):
            self._model = self._model.build()
        return self._model

    @property
    def tokenizer(self) -> Any:
        self._load()
        return self._tokenizer

    @property
    def packed(self) -> Any:
        self._load()
        return self._packed

    def _load(self) -> None:
        if self._loader is not None:
            loader, self._loader = self._loader, None
            self.use(*loader())

    def use(self, model: Any, tokenizer: Any, packed: Any, path: str) -> None:
        """Predict with this model, tokenizer and packed runner (None: the model's forward)."""
        self._model, self._tokenizer, self._packed, self.inference_path = model, tokenizer, packed, path

    def cache_key(self) -> str:
        return "|".join(str(x) for x in (self.info.sha256, self.info.extra.get("base_sha256"), self.max_length))

    def caches(self) -> HandleCaches:
        """Predictions are cached, and ``logits`` consults ``logit_cache`` before the model."""
        return HandleCaches(logits=self.logit_cache)

    def timings(self) -> InferenceTimings:
        return InferenceTimings(wall_seconds=self.inference_seconds, cpu_seconds=self.inference_cpu_seconds)

    # ------------------------------------------------------------ sequence tasks

    def predict(self, frame: pd.DataFrame, config: Config) -> Predictions:
        import numpy as np

        column = config.section("data")["text"]
        if self.info.task == "token-classification":
            from auditkit.data import token_lists

            words = token_lists(frame, column, self.info.path)  # type: ignore[arg-type]
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
        return _softmax(self.logits(texts))

    def logits(self, texts: list[str]) -> np.ndarray:
        """Raw class logits (n × k, float64) for raw texts, in input order; texts seen before
        come from ``logit_cache``."""
        import numpy as np

        texts = list(texts)
        out = np.zeros((len(texts), len(self.info.labels)), dtype=np.float64)
        todo, digests = self.logit_cache.lookup(texts, out)
        if todo:
            self._load()  # not counted as inference time
            with self._inference_clock():
                out[todo] = self._model_logits([texts[i] for i in todo])
                self.logit_cache.add_digests(digests, out[todo])
        return out

    @contextmanager
    def _inference_clock(self) -> Iterator[None]:
        """Count the block as inference: its wall seconds and this process's CPU seconds."""
        started, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.inference_seconds += time.perf_counter() - started
            self.inference_cpu_seconds += time.process_time() - cpu

    def _model_logits(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        encoded = self.tokenizer(
            texts,
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
        self._load()
        with self._inference_clock():
            return self._predict_tokens(words)

    def _predict_tokens(self, words: list[list[str]]) -> list[list[str]]:
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
        """(row indices, float64 logits) per batch, longest texts first."""
        import numpy as np
        import torch
        from tqdm import tqdm

        lengths = np.fromiter((len(x) for x in encoded), dtype=np.int64, count=len(encoded))
        order = np.argsort(-lengths, kind="stable")  # longest first: memory peaks early
        packed = None if per_token else self.packed
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
                for start, stop in plan_batches(lengths[order], self.batch_size, self.batch_tokens, packed is not None):
                    idx = order[start:stop]
                    if packed is not None:
                        ids = np.fromiter(
                            (t for i in idx for t in encoded[i]), dtype=np.int64, count=int(lengths[idx].sum())
                        )
                        logits = packed.logits(torch.from_numpy(ids), lengths[idx].tolist())
                    else:
                        logits = self._padded_logits(encoded, idx, lengths)
                    yield idx, logits.float().numpy().astype(np.float64)
                    bar.update(len(idx))
        finally:
            bar.close()

    def _padded_logits(self, encoded: list[list[int]], idx: np.ndarray, lengths: np.ndarray) -> Any:
        """The model's own forward on one dynamically padded batch."""
        import numpy as np
        import torch

        pad = self.tokenizer.pad_token_id or 0
        width = int(lengths[idx].max()) if len(idx) else 0
        input_ids = np.full((len(idx), width), pad, dtype=np.int64)
        mask = np.zeros((len(idx), width), dtype=np.int64)
        for row, i in enumerate(idx):
            input_ids[row, : lengths[i]] = encoded[i]
            mask[row, : lengths[i]] = 1
        return self.model(input_ids=torch.from_numpy(input_ids), attention_mask=torch.from_numpy(mask)).logits


def plan_batches(sorted_lengths: np.ndarray, max_texts: int, max_tokens: int, packed: bool) -> list[tuple[int, int]]:
    """Consecutive (start, stop) slices of length-sorted texts (longest first).

    A batch holds at most ``max_texts`` texts and, when ``max_tokens`` > 0, at most that many
    word pieces: real ones on the packed path, padded ones (texts × longest) otherwise. So
    short texts come in large batches and long texts in small ones, and every batch is
    about as big as the matrix products need to run fast.
    """
    n = len(sorted_lengths)
    out: list[tuple[int, int]] = []
    start = 0
    while start < n:
        stop = min(n, start + max(1, max_texts))
        if max_tokens > 0:
            if packed:
                tokens = 0
                for i in range(start, stop):
                    tokens += int(sorted_lengths[i])
                    if tokens > max_tokens and i > start:
                        stop = i
                        break
            else:  # longest first: the batch is as wide as its first text
                stop = min(stop, start + max(1, max_tokens // max(1, int(sorted_lengths[start]))))
        out.append((start, stop))
        start = stop
    return out


def _softmax(logits: np.ndarray) -> np.ndarray:
    import numpy as np

    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)
