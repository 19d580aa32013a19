"""Checksums and format rules that turn a pattern match into a credible identifier.

A 16-digit number is a payment card only if its Luhn digit agrees; a string shaped like an
IBAN is one only if its length fits its country and mod-97 gives 1. These checks keep the
PII counts from filling up with order numbers and timestamps.
"""

from __future__ import annotations

import ipaddress
import re

# ISO 13616 IBAN lengths by country (SWIFT IBAN registry).
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24,
    "AE": 23,
    "AL": 28,
    "AT": 20,
    "AZ": 28,
    "BA": 20,
    "BE": 16,
    "BG": 22,
    "BH": 22,
    "BI": 27,
    "BR": 29,
    "BY": 28,
    "CH": 21,
    "CR": 22,
    "CY": 28,
    "CZ": 24,
    "DE": 22,
    "DJ": 27,
    "DK": 18,
    "DO": 28,
    "EE": 20,
    "EG": 29,
    "ES": 24,
    "FI": 18,
    "FK": 18,
    "FO": 18,
    "FR": 27,
    "GB": 22,
    "GE": 22,
    "GI": 23,
    "GL": 18,
    "GR": 27,
    "GT": 28,
    "HR": 21,
    "HU": 28,
    "IE": 22,
    "IL": 23,
    "IQ": 23,
    "IS": 26,
    "IT": 27,
    "JO": 30,
    "KW": 30,
    "KZ": 20,
    "LB": 28,
    "LC": 32,
    "LI": 21,
    "LT": 20,
    "LU": 20,
    "LV": 21,
    "LY": 25,
    "MC": 27,
    "MD": 24,
    "ME": 22,
    "MK": 19,
    "MN": 20,
    "MR": 27,
    "MT": 31,
    "MU": 30,
    "NI": 28,
    "NL": 18,
    "NO": 15,
    "OM": 23,
    "PK": 24,
    "PL": 28,
    "PS": 29,
    "PT": 25,
    "QA": 29,
    "RO": 24,
    "RS": 22,
    "RU": 33,
    "SA": 24,
    "SC": 31,
    "SD": 18,
    "SE": 24,
    "SI": 19,
    "SK": 24,
    "SM": 27,
    "SO": 23,
    "ST": 25,
    "SV": 28,
    "TL": 23,
    "TN": 24,
    "TR": 26,
    "UA": 29,
    "VA": 22,
    "VG": 24,
    "XK": 20,
    "YE": 30,
}

_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
_NINO_BAD_PREFIXES = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def luhn_valid(number: str) -> bool:
    """The Luhn mod-10 check (ISO/IEC 7812) over the digits of ``number``."""
    ds = digits(number)
    if not ds:
        return False
    total = 0
    for i, ch in enumerate(reversed(ds)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_valid(number: str) -> bool:
    """13–19 digits, a major-network first digit (2–6) and a valid Luhn check digit."""
    ds = digits(number)
    return 13 <= len(ds) <= 19 and ds[0] in "23456" and luhn_valid(ds)


def iban_valid(value: str) -> bool:
    """Country length and the ISO 7064 mod 97-10 check: rearranged, as a number, mod 97 == 1."""
    iban = re.sub(r"[\s-]", "", value).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]+", iban):
        return False
    if IBAN_LENGTHS.get(iban[:2]) != len(iban):
        return False
    rearranged = iban[4:] + iban[:4]
    as_number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(as_number) % 97 == 1


def us_ssn_valid(value: str) -> bool:
    """SSA rules: area not 000, 666 or 900–999; group not 00; serial not 0000; not the known ad numbers."""
    ds = digits(value)
    if len(ds) != 9:
        return False
    area, group, serial = ds[:3], ds[3:5], ds[5:]
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
        return False
    return ds not in ("078051120", "219099999")  # numbers printed in advertising, never issued


def uk_nino_valid(value: str) -> bool:
    """HMRC format: two prefix letters (D, F, I, Q, U, V never; O not second; not BG, GB, NK, KN, TN,
    NT, ZZ), six digits, a suffix A–D."""
    text = re.sub(r"\s", "", value).upper()
    m = re.fullmatch(r"([A-CEGHJ-PR-TW-Z])([A-CEGHJ-NPR-TW-Z])(\d{6})([A-D])", text)
    return bool(m) and (m.group(1) + m.group(2)) not in _NINO_BAD_PREFIXES


def es_dni_valid(value: str) -> bool:
    """Spanish DNI (8 digits) or NIE (X/Y/Z + 7 digits): the letter is the number mod 23."""
    text = re.sub(r"[\s-]", "", value).upper()
    m = re.fullmatch(r"([XYZ]?)(\d{7,8})([A-Z])", text)
    if not m:
        return False
    prefix, number, letter = m.groups()
    if prefix:
        if len(number) != 7:
            return False
        number = str("XYZ".index(prefix)) + number
    elif len(number) != 8:
        return False
    return _DNI_LETTERS[int(number) % 23] == letter


def ipv4_valid(value: str) -> bool:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True


def ipv6_valid(value: str) -> bool:
    if value.count(":") < 2 or not re.search(r"[0-9A-Fa-f]", value):
        return False
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return True


def phone_valid(value: str) -> bool:
    """International numbers have 8–15 digits (E.164); national ones 10–11."""
    ds = digits(value)
    if value.lstrip().startswith("+"):
        return 8 <= len(ds) <= 15
    return 10 <= len(ds) <= 11


def nanp_valid(value: str) -> bool:
    """North American numbers: area code and exchange do not start with 0 or 1."""
    ds = digits(value)
    if len(ds) == 11 and ds[0] == "1":
        ds = ds[1:]
    return len(ds) == 10 and ds[0] not in "01" and ds[3] not in "01"
