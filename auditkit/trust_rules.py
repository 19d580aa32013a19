"""What a model dir's own ``auditkit.toml`` may set: the vendor's side of the trust boundary.

The vendor may describe the model and its data. It may not name a file outside the model
dir (the file would be read into a report the vendor can read), and it may not weaken the
audit: disable plugins, drop formats, loosen tolerances or the policy. Each option says
how it can be weakened (``Option.weaker``); this module compares the vendor's value with
what the defaults and the reviewer's layers give, and keeps, drops or flags it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from auditkit.audit import Finding
from auditkit.config import (
    MODEL_DIR,
    POLICY,
    ConfigSection,
    Layer,
    Option,
    VendorSetting,
    describe_value,
)
from auditkit.errors import ConfigError


def screen_vendor_layer(
    schemas: dict[str, ConfigSection],
    layer: Layer,
    reviewer: list[Layer],
    base: dict[str, Any],
    model_dir: Path | None,
    trusted: bool,
) -> tuple[dict[str, Any], list[VendorSetting]]:
    """The vendor layer's values that may stand, and the weakening values found.

    ``base`` is the configuration the defaults and the reviewer's layers give. A key the
    reviewer sets is theirs whatever the vendor wrote. Without ``trusted`` a weakening value
    is dropped; with it the value stands and is recorded, so the verdict can say so. A
    ``--policy`` layer makes the reviewer's side final: no vendor value of a guarded key
    stands, stricter or not.
    """
    final = any(other.kind == POLICY for other in reviewer)
    found: list[VendorSetting] = []

    def screen(section: str, body: dict[str, Any]) -> dict[str, Any]:
        schema = schemas.get(section)
        kept: dict[str, Any] = {}
        for key, value in body.items():
            dotted = f"{section}.{key}"
            option = schema.option(key) if schema else None
            if option is None:
                kept[key] = screen(dotted, value) if dotted in schemas and isinstance(value, dict) else value
                continue
            if _reviewer_sets(reviewer, dotted):
                continue  # the reviewer's value wins; the vendor's is not even checked
            if option.path and not trusted:
                check_vendor_path(layer.source, section, key, value, model_dir)
            if option.weaker is not None:
                reviewer_value = _get(base, dotted)
                if final and value != reviewer_value:
                    found.append(VendorSetting(dotted, value, reviewer_value, False, "a --policy file is final"))
                    continue
                if is_weaker(option, value, reviewer_value):
                    found.append(VendorSetting(dotted, value, reviewer_value, trusted, _reason(option)))
                    if not trusted:
                        continue
            kept[key] = value
        return kept

    out: dict[str, Any] = {}
    for section, body in layer.values.items():
        out[section] = screen(section, body) if isinstance(body, dict) and section in schemas else body
    return out, found


def check_vendor_path(source: str, section: str, key: str, value: Any, model_dir: Path | None) -> None:
    """Refuse a path in the model dir's file that leads out of the dir (symlinks followed)."""
    if not isinstance(value, str) or not value or model_dir is None:
        return
    root = model_dir.resolve()
    outside = os.path.isabs(value) or value.startswith("~")
    if not outside:
        try:
            (root / value).resolve().relative_to(root)
        except ValueError:
            outside = True
    if outside:
        raise ConfigError(
            f"{source}: [{section}] {key} = {describe_value(value)} names a file outside the model dir, "
            "which the model dir's own config may not do (it could put your files into the report); "
            f"set it yourself with --set {section}.{key}=PATH or in --config FILE, or, if you wrote this file, "
            "approve it with "
            f"`auditkit trust {model_dir}`"
        )


def is_weaker(option: Option, value: Any, reviewer_value: Any) -> bool:
    """Whether ``value`` would make the audit more lenient than ``reviewer_value``."""
    rule = option.weaker
    if value == reviewer_value or rule is None:
        return False
    if callable(rule):
        return bool(rule(value, reviewer_value))
    if rule == "any":
        return True
    if rule in ("higher", "lower"):
        if not _number(value) or not _number(reviewer_value):
            return True
        return value > reviewer_value if rule == "higher" else value < reviewer_value
    if rule in ("more", "fewer"):
        new, old = _members(value), _members(reviewer_value)
        return bool(new - old) if rule == "more" else bool(old - new)
    if rule == "later":
        choices = list(option.choices or ())
        if value not in choices or reviewer_value not in choices:
            return True
        return choices.index(value) > choices.index(reviewer_value)
    return True


def vendor_findings(settings: list[VendorSetting], source: str) -> list[Finding]:
    """One info finding per screened value: applied (the reviewer trusts the file) or ignored."""
    out = []
    for setting in settings:
        if setting.applied:
            message = (
                f"{source} weakens the audit and was applied because [run] trusted = true: "
                f"{setting.describe()}; the verdict rests on tolerances set by the model dir"
            )
        else:
            message = (
                f"{source} asked for {setting.describe()}, which {setting.reason}; ignored "
                "(set it yourself with --config or --set to use it)"
            )
        out.append(Finding("info", "vendor-setting-applied" if setting.applied else "vendor-setting-ignored", message))
    return out


_REASONS = {
    "higher": "is a looser limit",
    "lower": "is a looser limit",
    "more": "leaves part of the audit out",
    "fewer": "leaves part of the audit out",
    "later": "is more lenient",
    "any": "only the reviewer may set",
}


def _reason(option: Option) -> str:
    return _REASONS.get(option.weaker, "would weaken the audit") if isinstance(option.weaker, str) else (
        "would weaken the audit"
    )


def _reviewer_sets(layers: list[Layer], dotted: str) -> bool:
    return any(layer.kind != MODEL_DIR and _has(layer.values, dotted) for layer in layers)


def _has(values: dict[str, Any], dotted: str) -> bool:
    node: Any = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _get(values: dict[str, Any], dotted: str) -> Any:
    node: Any = values
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _members(value: Any) -> set[Any]:
    if isinstance(value, bool):
        return {True} if value else set()
    if isinstance(value, dict):
        return set(value)
    if isinstance(value, (list, tuple)):
        return {repr(v) if isinstance(v, (dict, list)) else v for v in value}
    return {value}
