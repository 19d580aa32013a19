"""PII recognizers: checksums on valid and invalid numbers, the scan, masking, the hook."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from auditkit.plugins.assess.privacy import checks
from auditkit.plugins.assess.privacy.pii import find_spans, scan_frame
from auditkit.plugins.assess.privacy.recognizers import MASK, RegexRecognizer, builtin_recognizers, mask_keep, safe_mask

from auditkit import ConfigError, hookimpl
from auditkit.audit import Audit, ModelInfo
from auditkit.config import build_config
from auditkit.manager import get_plugin_manager
from auditkit.runner import Runner, RunOptions

# ---------------------------------------------------------------------------- checksums

# test card numbers the networks publish for integration testing
VALID_CARDS = ["4111 1111 1111 1111", "5555555555554444", "378282246310005", "6011-1111-1111-1117", "4012888888881881"]
INVALID_CARDS = ["4111 1111 1111 1112", "5555555555554445", "378282246310006", "1234567812345670", "4111"]
# the standard IBAN examples (ECBS / SWIFT registry), and each with one digit changed
VALID_IBANS = ["GB82 WEST 1234 5698 7654 32", "DE89370400440532013000", "FR1420041010050500013M02606",
               "NL91ABNA0417164300", "BE68539007547034"]  # fmt: skip
INVALID_IBANS = ["GB82 WEST 1234 5698 7654 33", "DE89370400440532013001", "DE8937040044053201300",
                 "XX82WEST12345698765432", "NL91ABNA041716430"]  # fmt: skip


@pytest.mark.parametrize("number", VALID_CARDS)
def test_luhn_accepts_valid_cards(number: str) -> None:
    assert checks.luhn_valid(number)


@pytest.mark.parametrize("number", INVALID_CARDS)
def test_luhn_rejects_invalid_cards(number: str) -> None:
    assert not checks.card_valid(number)


def test_luhn_by_hand() -> None:
    # 79927398713 from the right: undoubled 3+7+9+7+9+7 = 42; doubled 1→2, 8→16→7, 3→6, 2→4, 9→18→9 = 28;
    # 42 + 28 = 70, a multiple of 10
    assert checks.luhn_valid("79927398713")
    assert not checks.luhn_valid("79927398710")


@pytest.mark.parametrize("iban", VALID_IBANS)
def test_iban_accepts_valid(iban: str) -> None:
    assert checks.iban_valid(iban)


@pytest.mark.parametrize("iban", INVALID_IBANS)
def test_iban_rejects_invalid(iban: str) -> None:
    assert not checks.iban_valid(iban)


def test_iban_mod97_by_hand() -> None:
    # GB82WEST12345698765432 → WEST12345698765432GB82 → letters as numbers (W=32, E=14, S=28, T=29, G=16, B=11)
    number = int("3214282912345698765432161182")
    assert number % 97 == 1


@pytest.mark.parametrize(
    ("value", "ok"),
    [("536-22-1234", True), ("123-45-6789", True), ("000-12-3456", False), ("666-12-3456", False),
     ("912-34-5678", False), ("123-00-4567", False), ("123-45-0000", False), ("078-05-1120", False)],
)  # fmt: skip
def test_us_ssn_rules(value: str, ok: bool) -> None:
    assert checks.us_ssn_valid(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [("AB123456C", True), ("ab 12 34 56 c", True), ("GB123456A", False), ("AO123456A", False),
     ("DA123456A", False), ("AB123456E", False), ("QQ123456C", False)],
)  # fmt: skip
def test_uk_nino_rules(value: str, ok: bool) -> None:
    assert checks.uk_nino_valid(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    # 12345678 mod 23 = 14 → Z; NIE X1234567 → 01234567 mod 23 = 19 → L
    [("12345678Z", True), ("12345678-Z", True), ("12345678A", False), ("X1234567L", True), ("X1234567A", False)],
)
def test_es_dni_letter(value: str, ok: bool) -> None:
    assert checks.es_dni_valid(value) is ok


# ---------------------------------------------------------------------------- recognizers

TEXTS = {
    "email": "write to jane.roe+news@mail.example.org today",
    "phone": "call +44 20 7946 0958 or (415) 555-2671",
    "payment_card": "paid with 4111-1111-1111-1111 yesterday",
    "iban": "send to DE89 3704 0044 0532 0130 00 please",
    "ipv4": "login from 192.168.10.27 failed",
    "ipv6": "peer 2001:db8:85a3::8a2e:370:7334 connected",
    "us_ssn": "ssn 536-22-1234 on file",
    "uk_nino": "NI number AB 12 34 56 C",
    "es_dni": "DNI 12345678Z",
}


def kinds_in(text: str) -> list[str]:
    return [rec.name for _, _, rec in find_spans(text, builtin_recognizers())]


@pytest.mark.parametrize(("kind", "text"), TEXTS.items())
def test_each_builtin_finds_its_type(kind: str, text: str) -> None:
    assert kind in kinds_in(text)


@pytest.mark.parametrize(
    "text",
    ["version 1.2.3 released", "999.1.1.1 is no address", "meet at 12:30:45", "order 4111111111111112",
     "on 2024-01-15 at noon", "foo@bar is not an address", "call 555-034-5678", "id 123-00-4567",
     "iban GB82 WEST 1234 5698 7654 33"],
)  # fmt: skip
def test_lookalikes_are_not_pii(text: str) -> None:
    assert kinds_in(text) == []


def test_overlapping_spans_go_to_the_stronger_recognizer() -> None:
    # a card number also looks like a long phone number; it is counted once, as a card
    assert kinds_in("card 4111 1111 1111 1111") == ["payment_card"]
    assert kinds_in("+44 20 7946 0958") == ["phone"]


def test_skipping_texts_without_the_required_characters_changes_no_result() -> None:
    """``requires`` only saves work: with it cleared every built-in finds the same spans,
    and every span holds what its recognizer requires."""
    import dataclasses
    import re

    import numpy as np

    rng = np.random.default_rng(4)
    alphabet = list("0123456789 abcdefABCDEF:.-+@()XYZ")
    noise = ["".join(rng.choice(alphabet, size=int(rng.integers(5, 40)))) for _ in range(3000)]
    corpus = [*TEXTS.values(), *VALID_CARDS, *VALID_IBANS, *noise, "no digits here", "fe80::abcd", "a@b.co"]
    fast = builtin_recognizers()
    plain = [dataclasses.replace(r, requires="") for r in fast]
    found = 0
    for text in corpus:
        spans = [(s, e, r.name) for s, e, r in find_spans(text, fast)]
        assert spans == [(s, e, r.name) for s, e, r in find_spans(text, plain)], text
        for s, e, name in spans:
            rec = next(r for r in fast if r.name == name)
            assert re.search(rec.requires, text[s:e]), (name, text[s:e])
        found += len(spans)
    assert found > 40  # the corpus does exercise the recognizers


def test_scan_counts_rows_and_occurrences() -> None:
    frame = pd.DataFrame(
        {
            "text": ["a@example.com and b@example.com", "nothing here", "c@example.org", None],
            "note": ["4111 1111 1111 1111", "", "x", "y"],
            "score": [1, 2, 3, 4],
        }
    )
    hits, columns = scan_frame(frame, "evaluation", builtin_recognizers())
    assert columns == ["text", "note"]
    by_key = {(h.column, h.kind): h for h in hits}
    email = by_key[("text", "email")]
    assert (email.occurrences, email.rows, email.total_rows) == (3, 2, 4)
    assert email.share == pytest.approx(0.5)
    card = by_key[("note", "payment_card")]
    assert (card.occurrences, card.rows) == (1, 1)
    assert card.examples == ["•••• •••• •••• 1111"]
    only_text, columns = scan_frame(frame, "evaluation", builtin_recognizers(), columns=["text"])
    assert columns == ["text"] and {h.kind for h in only_text} == {"email"}


# ---------------------------------------------------------------------------- masking


def test_masked_examples_never_contain_the_raw_value() -> None:
    frame = pd.DataFrame({"text": list(TEXTS.values())})
    hits, _ = scan_frame(frame, "evaluation", builtin_recognizers(), examples=5)
    assert {h.kind for h in hits} == set(TEXTS)
    values = [text[s:e] for text in TEXTS.values() for s, e, _ in find_spans(text, builtin_recognizers())]
    shown = [example for h in hits for example in h.examples]
    assert len(shown) == len(values) >= len(TEXTS)
    for value in values:
        for example in shown:
            assert value not in example
            if len(checks.digits(value)) >= 5:  # nor its digits with the separators taken out
                assert checks.digits(value) not in checks.digits(example)


def test_mask_keep_never_keeps_more_than_a_third() -> None:
    assert mask_keep("4111111111111111", tail=4) == MASK * 12 + "1111"
    assert mask_keep("12345", head=2, tail=2) == MASK * 5
    assert mask_keep("a-b", head=1) == MASK + "-" + MASK


def test_a_leaky_third_party_mask_is_replaced() -> None:
    class Leaky:
        name = "secret"

        def find(self, text: str) -> list[tuple[int, int]]:
            return [(0, len(text))]

        def mask(self, value: str) -> str:
            return f"<{value}>"

    assert safe_mask(Leaky(), "Alice Smith") == "••••• •••••"


# ---------------------------------------------------------------------------- the hook


class NamesPlugin:
    """A third-party recognizer plugin: person names from a fixed list."""

    @hookimpl
    def auditkit_pii_recognizers(self) -> list[Any]:
        return [RegexRecognizer("person", "person name", r"\b(?:Alice|Bob) [A-Z][a-z]+\b", priority=5)]


class BrokenPlugin:
    @hookimpl
    def auditkit_pii_recognizers(self) -> list[Any]:
        return [object()]


def make_audit(pm: Any, frame: pd.DataFrame, settings: dict[str, Any] | None = None) -> Audit:
    schemas = Runner(pm, RunOptions()).schemas()
    config = build_config(schemas, [("auditkit.toml", settings or {})])
    info = ModelInfo(name="m", path="m", task="sequence-classification", labels=["neg", "pos"], loader="test")
    return Audit(model=info, config=config, model_dir=".", out_dir=".", report_id="t", frame=frame, hook=pm.hook)


def test_third_party_recognizer_through_the_hook() -> None:
    from auditkit.plugins.assess.privacy.record import TrainingRecord
    from auditkit.plugins.assess.privacy.scan import pii_part

    from auditkit.audit import Section

    pm = get_plugin_manager(autoload=False, extra_plugins=[("names", NamesPlugin())])
    frame = pd.DataFrame({"text": ["Alice Smith wrote to bob@example.com", "nobody"]})
    audit = make_audit(pm, frame)
    section = Section(name="privacy", title="Privacy")
    totals = pii_part(audit, section, TrainingRecord(), [])
    kinds = {f["type"] for f in section.data["pii"]["findings"]}
    assert kinds == {"person", "email"}
    assert "person" in section.data["pii"]["recognizers"] and "iban" in section.data["pii"]["recognizers"]
    assert totals.occurrences == 2
    assert not [f for f in section.findings if f.code == "privacy-names-not-scanned"]
    assert "Alice Smith" not in repr(section.to_json())

    only = make_audit(pm, frame, {"privacy": {"pii": {"recognizers": ["person"]}}})
    section = Section(name="privacy", title="Privacy")
    pii_part(only, section, TrainingRecord(), [])
    assert {f["type"] for f in section.data["pii"]["findings"]} == {"person"}


def test_without_a_name_recognizer_the_report_says_so() -> None:
    from auditkit.plugins.assess.privacy.record import TrainingRecord
    from auditkit.plugins.assess.privacy.scan import pii_part

    from auditkit.audit import Section

    pm = get_plugin_manager(autoload=False)
    section = Section(name="privacy", title="Privacy")
    pii_part(make_audit(pm, pd.DataFrame({"text": ["hello"]})), section, TrainingRecord(), [])
    codes = [f.code for f in section.findings]
    assert "privacy-names-not-scanned" in codes and "privacy-no-pii" in codes


def test_a_broken_recognizer_names_its_plugin() -> None:
    from auditkit.plugins.assess.privacy.record import TrainingRecord
    from auditkit.plugins.assess.privacy.scan import pii_part

    from auditkit.audit import Section

    pm = get_plugin_manager(autoload=False, extra_plugins=[("broken-names", BrokenPlugin())])
    with pytest.raises(TypeError, match="broken-names"):
        pii_part(make_audit(pm, pd.DataFrame({"text": ["x"]})), Section("privacy", "Privacy"), TrainingRecord(), [])


class RaisingPlugin:
    @hookimpl
    def auditkit_pii_recognizers(self) -> list[Any]:
        raise RuntimeError("name list missing")


def test_a_raising_recognizer_plugin_is_a_finding_and_the_scan_goes_on() -> None:
    from auditkit.plugins.assess.privacy.record import TrainingRecord
    from auditkit.plugins.assess.privacy.scan import pii_part

    from auditkit.audit import Section

    pm = get_plugin_manager(autoload=False, extra_plugins=[("raising", RaisingPlugin()), ("names", NamesPlugin())])
    frame = pd.DataFrame({"text": ["Alice Smith wrote to bob@example.com"]})
    section = Section(name="privacy", title="Privacy")
    pii_part(make_audit(pm, frame), section, TrainingRecord(), [])
    (finding,) = [f for f in section.findings if f.plugin == "raising"]
    assert finding.severity == "error" and "name list missing" in finding.message
    assert "auditkit_pii_recognizers" in finding.message
    assert {f["type"] for f in section.data["pii"]["findings"]} == {"person", "email"}  # the others still scan


class OptionalNames:
    @hookimpl(optionalhook=True)
    def auditkit_pii_recognizers(self) -> list[Any]:
        return NamesPlugin().auditkit_pii_recognizers()


def test_the_hook_is_the_privacy_plugins_own() -> None:
    from auditkit.plugins.assess import privacy

    from auditkit import hookspecs

    assert not hasattr(hookspecs, "auditkit_pii_recognizers")
    assert hasattr(privacy.hookspecs.auditkit_pii_recognizers, "auditkit_spec")  # a spec the plugin ships
    plugins = [("optional", OptionalNames()), ("plain", NamesPlugin())]
    with_privacy = get_plugin_manager(autoload=False, extra_plugins=plugins)
    assert with_privacy.infos["optional"].status == with_privacy.infos["plain"].status == "loaded"
    # without the privacy plugin its hook is unknown: optionalhook=True still loads, a plain one is refused
    without = get_plugin_manager(autoload=False, extra_plugins=plugins, disabled=["privacy"])
    assert without.infos["optional"].status == "loaded"
    assert without.infos["plain"].status == "error" and "auditkit_pii_recognizers" in without.infos["plain"].error


def test_unknown_recognizer_name_is_a_config_error() -> None:
    from auditkit.plugins.assess.privacy.record import TrainingRecord
    from auditkit.plugins.assess.privacy.scan import pii_part

    from auditkit.audit import Section

    pm = get_plugin_manager(autoload=False)
    audit = make_audit(pm, pd.DataFrame({"text": ["x"]}), {"privacy": {"pii": {"recognizers": ["emial"]}}})
    with pytest.raises(ConfigError, match=r"auditkit.toml: \[privacy.pii\] recognizers: unknown 'emial'"):
        pii_part(audit, Section("privacy", "Privacy"), TrainingRecord(), [])
