"""The model handle: what a loader returns, and the only way the host touches a model.

An ``auditkit_load_model`` implementation returns an object with

- ``info``: a :class:`auditkit.audit.ModelInfo` (name, task, labels, sha256, …);
- ``predict(frame, config) -> Predictions``: one prediction per row of the evaluation frame,
  in row order (``config`` is the audit's :class:`auditkit.config.Config`);
- ``cache_key() -> str``: changes whenever the predictions could change (weights, the
  settings that shape inference); the host keys its prediction cache on it.

Two capabilities are optional, each a method the host calls when the handle has it:

- ``caches() -> HandleCaches | None``: what the host may cache for this handle; ``None``
  opts out of every cache (the prediction cache and ``audit.cache_dir``). A handle
  without the method gets ``HandleCaches()``: its predictions are cached.
- ``timings() -> InferenceTimings``: the wall and CPU seconds spent in model calls so far,
  reported as ``timings.inference`` in ``audit.json``.

The handle is a structural type (:class:`typing.Protocol`): no base class to inherit. A
loader that returns anything else is a plugin error naming the loader. Text models may
also offer ``predict_proba(texts)`` for plugins that score texts of their own (the
fairness counterfactuals, the privacy membership test); see :class:`ScoresTexts`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from auditkit.audit import ModelInfo

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from auditkit.audit import Predictions
    from auditkit.config import Config
    from auditkit.logit_cache import LogitCache

__all__ = [
    "HandleCaches",
    "HandleError",
    "InferenceTimings",
    "ModelHandle",
    "ScoresTexts",
    "caches_of",
    "check_handle",
    "timings_of",
]


@dataclass(frozen=True)
class HandleCaches:
    """What the host may cache for a handle, returned by its ``caches()``.

    ``logits``: the handle's own :class:`auditkit.logit_cache.LogitCache`, which it consults
    before every model call; the host backs it with a file (:meth:`LogitCache.back_with`)
    so a re-run asks the model about no text it already saw, and saves it after the audit.
    """

    logits: LogitCache | None = None


@dataclass(frozen=True)
class InferenceTimings:
    """Seconds spent in model calls since the handle was loaded, returned by ``timings()``:
    wall-clock, and the CPU time this process (all its threads) used meanwhile."""

    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0


@runtime_checkable
class ModelHandle(Protocol):
    """What ``auditkit_load_model`` returns: ``info``, ``predict`` and ``cache_key``.

    ``isinstance(obj, ModelHandle)`` checks that the members exist (not their signatures).
    Add ``caches()`` and ``timings()`` (see :class:`HandleCaches`, :class:`InferenceTimings`)
    when the handle supports them.
    """

    info: ModelInfo

    def predict(self, frame: pd.DataFrame, config: Config) -> Predictions:
        """One prediction per row of ``frame`` (the evaluation data), in row order."""
        ...

    def cache_key(self) -> str:
        """A string that changes whenever the predictions could change."""
        ...


@runtime_checkable
class CachingHandle(Protocol):
    """A handle with the optional ``caches()`` capability."""

    def caches(self) -> HandleCaches | None: ...


@runtime_checkable
class TimedHandle(Protocol):
    """A handle with the optional ``timings()`` capability."""

    def timings(self) -> InferenceTimings: ...


@runtime_checkable
class ScoresTexts(Protocol):
    """A text model that plugins can ask about texts of their own (optional)."""

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Class probabilities, n × k, columns in ``info.labels`` order."""
        ...


class HandleError(Exception):
    """A loader returned something that is not a :class:`ModelHandle`: the plugin's fault
    (exit 3), with a one-line message naming it."""


def check_handle(handle: object, loader: str) -> None:
    """Raise :class:`HandleError` naming ``loader`` unless ``handle`` keeps the contract.

    Looked up dynamically (not ``isinstance``), so a handle that delegates to another
    through ``__getattr__`` passes on every Python version (3.12 made protocol checks static).
    """
    problems = []
    if not hasattr(handle, "info"):
        problems.append("no info attribute")
    elif not isinstance(handle.info, ModelInfo):  # type: ignore[attr-defined]
        problems.append(f"info is {type(handle.info).__name__}, not auditkit.ModelInfo")  # type: ignore[attr-defined]
    for method in ("predict", "cache_key"):
        if not callable(getattr(handle, method, None)):
            problems.append(f"no {method}() method")
    if problems:
        raise HandleError(
            f"plugin {loader!r} returned {type(handle).__name__} from auditkit_load_model, which is not a "
            f"model handle ({'; '.join(problems)}); see auditkit.ModelHandle"
        )


def caches_of(handle: ModelHandle) -> HandleCaches | None:
    """The handle's ``caches()``, or the default (predictions cached, no logit cache)."""
    return handle.caches() if isinstance(handle, CachingHandle) else HandleCaches()


def timings_of(handle: ModelHandle) -> InferenceTimings | None:
    """The handle's ``timings()``, or None when it does not count them."""
    if not isinstance(handle, TimedHandle):
        return None
    spent = handle.timings()
    return spent if isinstance(spent, InferenceTimings) else None
