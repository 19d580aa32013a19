"""The privacy plugin's own hook: other plugins add recognizers to its PII scan.

Defined here, not in :mod:`auditkit.hookspecs`: only the privacy plugin calls it, and it
exists only while the privacy plugin is loaded. The manager adds these specifications when
it registers the plugin (its ``hookspecs`` attribute). A plugin that implements the hook and
should also load without the privacy plugin (``-p no:privacy``) marks its implementation
``@hookimpl(optionalhook=True)``; otherwise the host reports it as implementing an unknown hook.
"""

from __future__ import annotations

from typing import Any

from auditkit.hookspecs import hookspec

# --------------------------------------------------------------------------------------
# privacy: the PII scan
# --------------------------------------------------------------------------------------


@hookspec
def auditkit_pii_recognizers() -> list[Any] | None:
    """Return recognizers for the privacy plugin's scan for personal data (PII).

    A recognizer is any object with ``name`` (the PII type it finds, a stable key such as
    ``"email"`` or ``"person"``) and ``find(text) -> iterable of (start, end)`` spans of
    ``text``. Optional: ``label`` (a human name for reports), ``mask(value) -> str`` (a
    masked form that must not contain the value; without it every letter and digit is
    masked), ``priority`` (int, default 0: where spans of two recognizers overlap, the
    higher priority keeps the span) and ``requires_regex`` (a compiled pattern every match
    contains, such as a digit: texts without it are not given to ``find``).
    ``auditkit.plugins.assess.privacy.recognizers.RegexRecognizer`` builds one from a pattern, a
    validator (e.g. a checksum), a mask and ``requires``. The built-in
    recognizers come through this hook too; ``[privacy.pii] recognizers`` picks by name.
    Raw values never leave the scan: reports show counts and masked examples only.
    Defined by the privacy plugin (not the host): implement it with
    ``@hookimpl(optionalhook=True)`` if your plugin must also load under ``-p no:privacy``.
    A recognizer plugin that raises becomes an ``error`` finding in the privacy section
    naming it, and the scan goes on with the other plugins' recognizers.
    """
