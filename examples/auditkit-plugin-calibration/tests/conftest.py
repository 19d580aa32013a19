"""The plugin's tests use auditkit's test kit: tiny real models and in-process audits."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

pytest_plugins = ["auditkit.testing"]
