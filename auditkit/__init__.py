"""auditkit: audits fine-tuned models and writes the reports reviewers attach to tickets.

Plugins import what they need from here: ``hookimpl`` to mark hook implementations, the
data model (``Section``, ``Finding``, ``Table``, ``Chart``, ``Calculation``, ``Audit``), and
``ModelHandle``, the protocol a loader's handle meets (with ``HandleCaches`` and
``InferenceTimings`` for its optional ``caches()`` and ``timings()``).
"""

from __future__ import annotations

import pluggy

from auditkit._version import __version__
from auditkit.audit import (
    Audit,
    Calculation,
    Chart,
    DatasetInfo,
    Finding,
    ModelInfo,
    Predictions,
    Section,
    Table,
)
from auditkit.compat import HOOK_API_VERSION as __hook_api_version__
from auditkit.config import Config, ConfigSection, Option
from auditkit.errors import ConfigError, DataError, ExitCode, ModelDirError, UsageError
from auditkit.handle import HandleCaches, InferenceTimings, ModelHandle

hookimpl = pluggy.HookimplMarker("auditkit")

__all__ = [
    "Audit",
    "Calculation",
    "Chart",
    "Config",
    "ConfigError",
    "ConfigSection",
    "DataError",
    "DatasetInfo",
    "ExitCode",
    "Finding",
    "HandleCaches",
    "InferenceTimings",
    "ModelDirError",
    "ModelHandle",
    "ModelInfo",
    "Option",
    "Predictions",
    "Section",
    "Table",
    "UsageError",
    "__hook_api_version__",
    "__version__",
    "hookimpl",
]
