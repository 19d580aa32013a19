"""Regular expressions from a PEFT ``adapter_config.json``, bounded before peft runs them.

peft matches several adapter fields as regular expressions against every module name of
the base model (``target_modules`` as a string goes through ``re.fullmatch``). Python's
``re`` backtracks and cannot be interrupted, so a pattern like ``(a+)+$`` from an untrusted
adapter hangs loading for minutes. Rather than time a match out, auditkit refuses the
shapes that backtrack badly: a quantifier or an alternation inside a repeated group,
backreferences, many open-ended wildcards, and long patterns. Real adapters use module
lists or short patterns such as ``.*\\.(query|value)``, which pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from auditkit.errors import ModelDirError

MAX_PATTERN_CHARS = 256
# Each open-ended repeat (".*") multiplies the worst-case work by a module name's length;
# peft's own wrappers (rank_pattern, modules_to_save) add up to two more.
MAX_WIDE_REPEATS = 3
# A bounded repeat above this counts as open-ended ({1,1000} backtracks like +).
WIDE = 16

# adapter_config.json fields peft reads as regular expressions, and how: a string field,
# each item of a list field, or each key of a dict field. (A list-valued target_modules
# is compared by name, not as regexes.)
REGEX_FIELDS: dict[str, str] = {
    "target_modules": "str",
    "exclude_modules": "str",
    "feedforward_modules": "str",
    "layers_pattern": "str-or-items",
    "modules_to_save": "items",
    "rank_pattern": "keys",
    "alpha_pattern": "keys",
}


def check_adapter_patterns(adapter_cfg: dict[str, Any], where: Path) -> None:
    """Refuse an adapter whose regex fields could make peft's matching hang."""
    for field, pattern in _patterns(adapter_cfg):
        problem = pattern_problem(pattern)
        if problem:
            raise ModelDirError(
                f"{where}: field {field!r} is a regular expression auditkit will not run ({problem}); "
                "list the module names instead (e.g. [\"query\", \"value\"]) or use a short pattern "
                "such as '.*\\.(query|value)'"
            )


def _patterns(adapter_cfg: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(field, pattern) for every string peft would compile from the adapter config."""
    for field, how in REGEX_FIELDS.items():
        value = adapter_cfg.get(field)
        if isinstance(value, str) and how in ("str", "str-or-items"):
            yield field, value
        elif isinstance(value, list) and how in ("items", "str-or-items"):
            yield from ((field, item) for item in value if isinstance(item, str))
        elif isinstance(value, dict) and how == "keys":
            yield from ((field, str(key)) for key in value)


def pattern_problem(pattern: str) -> str | None:
    """Why this pattern could backtrack badly, or None when it is safe to run."""
    if len(pattern) > MAX_PATTERN_CHARS:
        return f"{len(pattern)} characters, more than {MAX_PATTERN_CHARS}"
    try:
        from re import _parser as sre_parse  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - Python < 3.11
        import sre_parse  # type: ignore[no-redef]
    try:
        parsed = sre_parse.parse(pattern)
    except Exception as exc:  # re.error, and RecursionError for absurd nesting
        return f"not a valid regular expression: {str(exc).splitlines()[0][:80]}"
    try:
        wide = _walk(parsed, sre_parse, inside_repeat=False)
    except _Refused as refused:
        return str(refused)
    if wide > MAX_WIDE_REPEATS:
        return f"{wide} open-ended repeats, more than {MAX_WIDE_REPEATS}"
    return None


class _Refused(Exception):
    pass


def _walk(subpattern: Any, sre: Any, inside_repeat: bool) -> int:
    """Count open-ended repeats; raise _Refused for a nested repeat, an alternation under a
    repeat, or a backreference (the shapes with exponential backtracking)."""
    c = sre._constants if hasattr(sre, "_constants") else sre
    repeats = {c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", c.MAX_REPEAT)}
    wide = 0
    for op, av in subpattern:
        if op in repeats:
            _, high, body = av
            if high > 1:
                if inside_repeat:
                    raise _Refused("a quantifier inside a repeated group, like (a+)+")
                wide += high == c.MAXREPEAT or high > WIDE
            wide += _walk(body, sre, inside_repeat or high > 1)
        elif op == c.BRANCH:
            if inside_repeat:
                raise _Refused("an alternation inside a repeated group, like (a|aa)+")
            wide += sum(_walk(branch, sre, inside_repeat) for branch in av[1])
        elif op == c.SUBPATTERN:
            wide += _walk(av[-1], sre, inside_repeat)
        elif op in (c.ASSERT, c.ASSERT_NOT):
            wide += _walk(av[1], sre, inside_repeat)
        elif op == getattr(c, "ATOMIC_GROUP", None):
            wide += _walk(av, sre, inside_repeat)
        elif op in (c.GROUPREF, c.GROUPREF_EXISTS, getattr(c, "GROUPREF_IGNORE", None)):
            raise _Refused("a backreference")
    return wide
