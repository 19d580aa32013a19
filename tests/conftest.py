"""Shared fixtures: auditkit's own test kit (tiny real models) plus a few host helpers."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# third-party plugins installed in the environment must not change the built-ins' tests
os.environ.setdefault("AUDITKIT_DISABLE_PLUGIN_AUTOLOAD", "1")

pytest_plugins = ["auditkit.testing"]
