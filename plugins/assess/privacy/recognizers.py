"""PII recognizers: the built-ins, the small protocol third-party ones follow, and masking.

A recognizer is any object with

- ``name``: the PII type it finds (``"email"``, ``"person"``, …), a stable key;
- ``label``: a human name for reports (optional, defaults to ``name``);
- ``find(text) -> iterable of (start, end)``: the spans of ``text`` it recognises;
- ``mask(value) -> str`` (optional): a masked form of one found value that must not
  contain the value; without it every letter and digit is masked;
- ``priority`` (optional, default 0): when spans of two recognizers overlap, the higher
  priority keeps it (a card number is not also a phone number);
- ``requires_regex`` (optional): a compiled pattern that every match contains (a digit,
  an ``@``); texts without it are not given to ``find``, which saves most of the scan.

Plugins return recognizers from ``auditkit_pii_recognizers()``. :class:`RegexRecognizer`
covers most needs: a pattern plus a validator (a checksum) plus a mask.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from auditkit.plugins.assess.privacy import checks

MASK = "•"


def mask_keep(value: str, head: int = 0, tail: int = 0) -> str:
    """Mask every letter and digit except the first ``head`` and last ``tail`` of them."""
    positions = [i for i, ch in enumerate(value) if ch.isalnum()]
    keep = set(positions[:head]) | set(positions[len(positions) - tail :] if tail else [])
    # never keep so much that the value could be read back: at most a third of it
    if len(keep) * 3 > len(positions):
        keep = set()
    return "".join(ch if (i in keep or not ch.isalnum()) else MASK for i, ch in enumerate(value))


def mask_email(value: str) -> str:
    local, _, domain = value.partition("@")
    tld = domain.rsplit(".", 1)[-1] if "." in domain else ""
    return f"{local[:1]}{MASK * 3}@{MASK * 3}.{tld}" if len(local) > 1 else f"{MASK * 3}@{MASK * 3}.{tld}"


def safe_mask(recognizer: Any, value: str) -> str:
    """The recognizer's mask, or a full mask when it has none or its mask leaks the value."""
    masker = getattr(recognizer, "mask", None)
    masked = None
    if callable(masker):
        try:
            masked = masker(value)
        except Exception:
            masked = None
    if not isinstance(masked, str) or value in masked or (len(value) > 3 and masked == value):
        masked = mask_keep(value)
    if value in masked:  # a value without letters or digits: show only its length
        masked = MASK * len(value)
    return masked


@dataclass
class RegexRecognizer:
    """A recognizer from a regular expression, a validator (checksum) and a mask."""

    name: str
    label: str
    pattern: str
    validate: Callable[[str], bool] | None = None
    masker: Callable[[str], str] | None = None
    priority: int = 0
    flags: int = 0
    # a pattern every match contains (e.g. r"\d"): texts without it are skipped unsearched
    requires: str = ""

    def __post_init__(self) -> None:
        self._regex = re.compile(self.pattern, self.flags)
        self.requires_regex = _compiled(self.requires) if self.requires else None

    def find(self, text: str) -> Iterable[tuple[int, int]]:
        for m in self._regex.finditer(text):
            value = m.group(0)
            if self.validate is None or self.validate(value):
                yield m.start(), m.end()

    def mask(self, value: str) -> str:
        return self.masker(value) if self.masker else mask_keep(value)


def builtin_recognizers() -> list[RegexRecognizer]:
    """E-mail, phone, payment card (Luhn), IBAN (mod 97), IPv4/IPv6, US SSN, UK NINO, ES DNI/NIE.

    No person-name recognizer is built in: none is available offline without a language
    model or a name list this package may ship; a plugin can add one (name ``person``).
    """
    return [
        RegexRecognizer(
            "iban",
            "IBAN",
            r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b",
            checks.iban_valid,
            lambda v: mask_keep(v, head=2, tail=2),
            priority=90,
            requires=r"\d",
        ),
        RegexRecognizer(
            "payment_card",
            "payment card number (Luhn-checked)",
            r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])",
            checks.card_valid,
            lambda v: mask_keep(v, tail=4),
            priority=80,
            requires=r"\d",
        ),
        RegexRecognizer(
            "us_ssn",
            "US social security number",
            r"(?<![\d-])\d{3}[- ]\d{2}[- ]\d{4}(?![\d-])",
            checks.us_ssn_valid,
            lambda v: mask_keep(v),
            priority=70,
            requires=r"\d",
        ),
        RegexRecognizer(
            "uk_nino",
            "UK national insurance number",
            r"\b[A-Z]{2}[ ]?\d{2}[ ]?\d{2}[ ]?\d{2}[ ]?[A-D]\b",
            checks.uk_nino_valid,
            lambda v: mask_keep(v),
            priority=70,
            requires=r"\d",
        ),
        RegexRecognizer(
            "es_dni",
            "Spanish DNI/NIE",
            r"\b[XYZ]?\d{7,8}-?[A-Z]\b",
            checks.es_dni_valid,
            lambda v: mask_keep(v),
            priority=70,
            requires=r"\d",
        ),
        RegexRecognizer(
            "email",
            "e-mail address",
            r"(?<![\w.+-])[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,24}(?![\w-])",
            None,
            mask_email,
            priority=60,
            requires="@",
        ),
        RegexRecognizer(
            "ipv6",
            "IPv6 address",
            r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])",
            checks.ipv6_valid,
            lambda v: mask_keep(v, head=1),
            priority=50,
            requires=":",
        ),
        RegexRecognizer(
            "ipv4",
            "IPv4 address",
            r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]|\.\d)",
            checks.ipv4_valid,
            lambda v: mask_keep(v),
            priority=50,
            requires=r"\d",
        ),
        RegexRecognizer(
            "phone",
            "phone number",
            r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(\d{1,4}\))?(?:[ .-]?\d{1,5}){2,5}(?![\w])"
            r"|(?<![\w(])(?:\(\d{3}\)[ ]?|\d{3}[-. ])\d{3}[-. ]\d{4}(?!\w)"
            r"|(?<![\w])0\d{2,4}[ -]\d{3,4}[ -]?\d{3,4}(?!\w)",
            _phone_valid,
            lambda v: mask_keep(v, tail=2),
            priority=10,
            requires=r"\d",
        ),
    ]


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    """One compiled object per pattern, so recognizers that require the same thing share
    one search per text (:class:`~auditkit.plugins.assess.privacy.pii.SpanFinder`)."""
    return re.compile(pattern)


def _phone_valid(value: str) -> bool:
    text = value.strip()
    if text.startswith("+") or text.startswith("0"):
        return checks.phone_valid(text)
    return checks.nanp_valid(text)


def describe(recognizer: Any) -> str:
    return str(getattr(recognizer, "label", "") or getattr(recognizer, "name", "?"))


def check_recognizer(recognizer: Any, plugin: str) -> None:
    """A third-party recognizer must have a name and a find method; say which plugin's does not."""
    name = getattr(recognizer, "name", None)
    if not isinstance(name, str) or not name or not callable(getattr(recognizer, "find", None)):
        raise TypeError(
            f"plugin {plugin!r}: auditkit_pii_recognizers returned {type(recognizer).__name__}; "
            "a recognizer needs a 'name' string and a find(text) method returning (start, end) spans"
        )
