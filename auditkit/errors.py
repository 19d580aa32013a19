"""Exit codes and the error types the CLI turns into them."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """What `auditkit` returns; a contract that CI jobs and ticket bots rely on."""

    OK = 0
    POLICY_FAILED = 1
    USAGE_ERROR = 2
    PLUGIN_ERROR = 3
    PUBLISH_FAILED = 4  # the reports are written and kept; sending them to the ticket failed
    INTERRUPTED = 130


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2, no traceback.

    The message names the file, the field and the fix, so that a user can act on it
    without reading source code.
    """


class ConfigError(UsageError):
    """A config file or flag that does not fit the declared schema."""


class DataError(UsageError):
    """Evaluation data that cannot be read or does not match the config."""


class ModelDirError(UsageError):
    """A model directory that cannot be loaded safely."""


class PublishError(Exception):
    """The ticket refused or could not take the reports: one line naming the target and
    the fix, exit code 4. The reports stay on disk, so ``auditkit publish`` can retry."""
