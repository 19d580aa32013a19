"""Configuration: each plugin declares a section schema; auditkit merges and validates.

Order of precedence, lowest first: the schema defaults, ``auditkit.toml`` in the model
dir, ``--config FILE``, command-line flags, then ``--policy FILE``. An unknown key or a
value of the wrong type is a :class:`ConfigError` that names the file, the key and what
was expected.

The model dir's file is the vendor's and untrusted (docs/security.md, "Who sets what"):
it may describe the model and its data, but a path it names must stay inside the model
dir, and a value that would weaken the audit (an option declared with ``weaker=``) is
ignored, or, when the reviewer set ``[run] trusted = true``, applied and named beside
the verdict. The trust rules live in :mod:`auditkit.trust_rules`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditkit.errors import ConfigError

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

CONFIG_FILE = "auditkit.toml"
MAX_CONFIG_BYTES = 1_000_000


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# type name → (python check, words for the error message). Numbers must be finite: TOML
# allows nan and inf, and a nan policy limit would make every comparison pass silently.
_TYPES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "str": (lambda v: isinstance(v, str), "a string"),
    "int": (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),
    "float": (_finite, "a number"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "list[str]": (
        lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
        "a list of strings",
    ),
    "list[float]": (lambda v: isinstance(v, list) and all(_finite(x) for x in v), "a list of numbers"),
    "dict[float]": (lambda v: isinstance(v, dict) and all(_finite(x) for x in v.values()), "a table of numbers"),
    "table": (lambda v: isinstance(v, dict), "a table"),
    "list[table]": (
        lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v),
        "an array of tables",
    ),
    "any": (lambda v: True, "any value"),
}


WEAKER_KINDS = ("higher", "lower", "more", "fewer", "later", "any")

# who set a value, as audit.json and the reports name it
DEFAULT = "default"
MODEL_DIR = "model dir"
REVIEWER = "reviewer config"
FLAG = "flag"
POLICY = "policy"
MEASURED = "measured"
SOURCE_KINDS = (DEFAULT, MODEL_DIR, REVIEWER, FLAG, POLICY, MEASURED)


@dataclass
class Layer:
    """One source of settings: its name for messages, its kind (who set it), its values."""

    source: str
    values: dict[str, Any]
    kind: str = REVIEWER


@dataclass
class VendorSetting:
    """A value the model dir's file set that would weaken the audit, and what became of it."""

    key: str  # dotted, e.g. "fairness.constraints"
    value: Any
    reviewer_value: Any  # what the defaults and the reviewer's layers give
    applied: bool  # True only when the reviewer trusts the model dir's file
    reason: str = ""

    def describe(self) -> str:
        section, _, key = self.key.rpartition(".")
        mine = describe_value(self.reviewer_value)
        return f"[{section}] {key} = {describe_value(self.value)} (reviewer/default: {mine})"

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "value": copy.deepcopy(self.value),
            "reviewer_value": copy.deepcopy(self.reviewer_value),
            "applied": self.applied,
            "reason": self.reason,
        }


@dataclass
class Option:
    """One config key: its type, default and the help line `auditkit init` writes."""

    name: str
    type: str
    default: Any
    help: str
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    nullable: bool = False
    validate: Callable[[Any], None] | None = None
    # a file path: the model dir's own auditkit.toml may only name a file inside the dir
    path: bool = False
    # how a value can weaken the audit, for the model dir's file: "higher" (a larger value is
    # weaker, e.g. a tolerance), "lower", "more" (more list entries, e.g. plugins disabled),
    # "fewer" (fewer entries, or true → false), "later" (a later entry of `choices`),
    # "any" (only the reviewer may set it), or a function (value, reviewer's value) → bool
    weaker: str | Callable[[Any, Any], bool] | None = None

    def __post_init__(self) -> None:
        if self.type not in _TYPES:
            raise ValueError(f"option {self.name!r}: unknown type {self.type!r}")
        if isinstance(self.weaker, str) and self.weaker not in WEAKER_KINDS:
            raise ValueError(f"option {self.name!r}: weaker must be one of {', '.join(WEAKER_KINDS)} or a function")

    def check(self, value: Any) -> str | None:
        """Return what was expected when `value` does not fit, else None."""
        if value is None and self.nullable:
            return None
        ok, words = _TYPES[self.type]
        if not ok(value):
            return words
        if self.choices is not None:
            values = value if isinstance(value, list) else [value]
            bad = [v for v in values if v not in self.choices]
            if bad:
                return "one of " + ", ".join(repr(c) for c in self.choices)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if self.minimum is not None and value < self.minimum:
                return f"a number >= {self.minimum:g}"
            if self.maximum is not None and value > self.maximum:
                return f"a number <= {self.maximum:g}"
        if self.validate is not None:
            try:
                self.validate(value)
            except (ValueError, TypeError) as exc:
                return str(exc)
        return None


@dataclass
class ConfigSection:
    """A plugin's config namespace, e.g. ``[fairness]`` or the sub-table ``[privacy.dp]``."""

    name: str
    options: list[Option]
    help: str = ""
    plugin: str | None = None
    open: bool = False  # accept keys the schema does not list (free-form tables)

    def defaults(self) -> dict[str, Any]:
        return {o.name: copy.deepcopy(o.default) for o in self.options}

    def option(self, name: str) -> Option | None:
        return next((o for o in self.options if o.name == name), None)


@dataclass
class Config:
    """The merged, validated configuration of one audit."""

    values: dict[str, Any]
    schemas: dict[str, ConfigSection] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    origins: dict[str, str] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)  # dotted key → who set it (SOURCE_KINDS)
    vendor_settings: list[VendorSetting] = field(default_factory=list)
    trusted: bool = False  # the reviewer accepted the model dir's file as written

    def origin(self, dotted: str) -> str:
        """Which file (or flag) set a key, for error messages; "defaults" if none did."""
        return self.origins.get(dotted, "defaults")

    def source(self, dotted: str) -> str:
        """Who set a key: "default", "model dir", "reviewer config", "flag" or "policy".

        A key inside a table-valued option (``fairness.constraints.x``) reports its option's
        source; a section (``market``) reports the most trusted source of any key in it.
        """
        if dotted in self.kinds:
            return self.kinds[dotted]
        parent = dotted
        while "." in parent:
            parent = parent.rpartition(".")[0]
            if parent in self.kinds:
                return self.kinds[parent]
        below = [kind for key, kind in self.kinds.items() if key.startswith(dotted + ".")]
        return max(below, key=SOURCE_KINDS.index) if below else DEFAULT

    def set_by(self, dotted: str, *kinds: str) -> bool:
        """True when a key (or any key of a section) was set by one of ``kinds``."""
        return any(
            kind in kinds for key, kind in self.kinds.items() if key == dotted or key.startswith(dotted + ".")
        )

    def section(self, name: str) -> dict[str, Any]:
        """The values of a (dotted) section, e.g. ``config.section("privacy.dp")``."""
        node: Any = self.values
        for part in name.split("."):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        return node

    def __getitem__(self, name: str) -> dict[str, Any]:
        return self.section(name)

    def get(self, dotted: str, default: Any = None) -> Any:
        """One value by its dotted path, e.g. ``config.get("fairness.min_group_size")``."""
        section, _, key = dotted.rpartition(".")
        return self.section(section).get(key, default)

    def to_json(self) -> dict[str, Any]:
        return copy.deepcopy(self.values)


def collect_schemas(results: Iterable[Any], plugin_names: Iterable[str | None]) -> dict[str, ConfigSection]:
    """Flatten what every ``auditkit_config_schema`` returned into name → section."""
    schemas: dict[str, ConfigSection] = {}
    for result, plugin in zip(results, plugin_names, strict=False):
        items = result if isinstance(result, list) else [result]
        for item in items:
            if item is None:
                continue
            if not isinstance(item, ConfigSection):
                raise TypeError(f"plugin {plugin!r}: auditkit_config_schema returned {type(item).__name__}")
            if item.name in schemas and schemas[item.name] is item:
                continue  # one shared section object (e.g. [report]) declared by several plugins
            if item.name in schemas:
                other = schemas[item.name].plugin
                raise ValueError(f"config section [{item.name}] is declared by both {other!r} and {plugin!r}")
            item.plugin = item.plugin or plugin
            schemas[item.name] = item
    return schemas


def read_toml(path: Path) -> dict[str, Any]:
    """Parse one TOML file, turning every failure into a one-line ConfigError."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror})") from None
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: config file is {size} bytes; the limit is {MAX_CONFIG_BYTES}")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None


def build_config(
    schemas: dict[str, ConfigSection],
    layers: list[Layer] | list[tuple[str, dict[str, Any]]],
    ignore_sections: Iterable[str] = (),
    model_dir: Path | None = None,
) -> Config:
    """Validate each layer against the schemas and merge them over the defaults.

    ``layers`` are :class:`Layer` objects (or (source name, parsed dict) pairs, taken as the
    reviewer's), lowest precedence first. Sections of disabled plugins
    (``ignore_sections``) are accepted and left out. A layer of kind ``MODEL_DIR`` first
    goes through the trust rules (:func:`auditkit.trust_rules.screen_vendor_layer`), which
    need ``model_dir`` to check its paths.
    """
    from auditkit.trust_rules import screen_vendor_layer

    stack = [layer if isinstance(layer, Layer) else Layer(layer[0], layer[1]) for layer in layers]
    ignored = set(ignore_sections)
    for layer in stack:
        _validate_layer(schemas, layer.values, layer.source, ignored)
    vendor_settings: list[VendorSetting] = []
    trusted = False
    if any(layer.kind == MODEL_DIR for layer in stack):
        reviewer = [layer for layer in stack if layer.kind != MODEL_DIR]
        base = _merged_config(schemas, reviewer, ignored).values
        trusted = bool(base.get("run", {}).get("trusted", False))
        screened = []
        for layer in stack:
            if layer.kind == MODEL_DIR:
                kept, found = screen_vendor_layer(schemas, layer, reviewer, base, model_dir, trusted)
                vendor_settings.extend(found)
                layer = Layer(layer.source, kept, MODEL_DIR)
            screened.append(layer)
        stack = screened
    config = _merged_config(schemas, stack, ignored)
    config.vendor_settings = vendor_settings
    config.trusted = trusted
    return config


def _merged_config(schemas: dict[str, ConfigSection], layers: list[Layer], ignored: set[str]) -> Config:
    values: dict[str, Any] = {}
    for name in sorted(schemas, key=lambda n: n.count(".")):
        _set_path(values, name, schemas[name].defaults())
    sources: list[str] = []
    origins: dict[str, str] = {}
    kinds: dict[str, str] = {}

    for layer in layers:
        kept = {k: v for k, v in layer.values.items() if k not in ignored}

        def record(dotted: str, layer: Layer = layer) -> None:
            origins[dotted] = layer.source
            kinds[dotted] = layer.kind

        _merge(values, kept, schemas, "", record)
        sources.append(layer.source)
    return Config(values=values, schemas=schemas, sources=sources, origins=origins, kinds=kinds)


def _set_path(values: dict[str, Any], dotted: str, node: dict[str, Any]) -> None:
    parts = dotted.split(".")
    for part in parts[:-1]:
        values = values.setdefault(part, {})
    values.setdefault(parts[-1], {}).update(node)


def _merge(
    into: dict[str, Any],
    layer: dict[str, Any],
    schemas: dict[str, ConfigSection],
    prefix: str,
    record: Callable[[str], None],
) -> None:
    for key, value in layer.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and dotted in schemas:
            # a (sub-)section merges key by key, so a layer changes only what it names;
            # a table-valued option is replaced whole, so a user can drop a default entry
            _merge(into.setdefault(key, {}), value, schemas, dotted + ".", record)
        else:
            into[key] = copy.deepcopy(value)
            record(dotted)


def _validate_layer(schemas: dict[str, ConfigSection], layer: dict[str, Any], source: str, ignored: set[str]) -> None:
    top_level = sorted(n for n in schemas if "." not in n)
    for name, body in layer.items():
        if name in ignored:
            continue
        if name not in schemas:
            raise ConfigError(f"{source}: unknown section [{name}]; known sections: {', '.join(top_level)}")
        if not isinstance(body, dict):
            raise ConfigError(f"{source}: [{name}] must be a table, got {describe_value(body)}")
        _validate_section(schemas, name, body, source)


def _validate_section(schemas: dict[str, ConfigSection], name: str, body: dict[str, Any], source: str) -> None:
    schema = schemas[name]
    for key, value in body.items():
        dotted = f"{name}.{key}"
        if dotted in schemas and schema.option(key) is None:
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: [{dotted}] must be a table, got {describe_value(value)}")
            _validate_section(schemas, dotted, value, source)
            continue
        option = schema.option(key)
        if option is None:
            if schema.open:
                continue
            known = [o.name for o in schema.options] + [
                n.rpartition(".")[2]
                for n in schemas
                if n.startswith(name + ".") and n.count(".") == name.count(".") + 1
            ]
            raise ConfigError(f"{source}: unknown key {key!r} in [{name}]; expected one of: {', '.join(sorted(known))}")
        expected = option.check(value)
        if expected is not None:
            raise ConfigError(f"{source}: [{name}] {key} = {describe_value(value)}: expected {expected}")


def describe_value(value: Any) -> str:
    """A value as an error message quotes it: its repr, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --------------------------------------------------------------------------------------
# writing: the commented starting config `auditkit init` produces
# --------------------------------------------------------------------------------------


def toml_value(value: Any) -> str:
    """Format a Python value as a TOML literal (the subset configs use)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isinf(value) or math.isnan(value):
            raise ValueError("TOML config values must be finite")
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        escaped = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in escaped)
        return f'"{escaped}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    if value is None:
        raise ValueError("TOML has no null; leave the key out")
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def toml_key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "").isalnum() and key.isascii()
    return key if bare else toml_value(key)


def render_toml(
    schemas: dict[str, ConfigSection], values: dict[str, Any], header: str = "", live_defaults: bool = True
) -> str:
    """A complete, commented TOML document: every section, every key with its help.

    With ``live_defaults=False`` only the keys in ``values`` are set; every other key is
    written commented out with its default (``# key = default``), so a run reads it as
    "default", never as the reviewer's choice (`auditkit init`).
    """
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    for name in sorted(schemas, key=_section_sort_key):
        schema = schemas[name]
        section_values = _get_path(values, name)
        lines.append("")
        if schema.help:
            lines.append(f"# {schema.help}")
        lines.append(f"[{name}]")
        for option in schema.options:
            value = section_values.get(option.name, option.default)
            lines.append(f"# {option.help}")
            if value is None or (option.type == "list[table]" and not value):
                lines.append(f"# {option.name} =")
            elif live_defaults or option.name in section_values:
                lines.append(f"{toml_key(option.name)} = {toml_value(value)}")
            else:
                lines.append(f"# {toml_key(option.name)} = {toml_value(value)}")
        if schema.open:
            extra = {
                k: v for k, v in section_values.items() if schema.option(k) is None and f"{name}.{k}" not in schemas
            }
            for key, value in extra.items():
                lines.append(f"{toml_key(key)} = {toml_value(value)}")
    return "\n".join(lines).lstrip("\n") + "\n"


def _section_sort_key(name: str) -> tuple[int, str]:
    order = ["data", "predictions", "run", "report"]
    top = name.split(".")[0]
    return (order.index(top) if top in order else len(order), name)


def _get_path(values: dict[str, Any], dotted: str) -> dict[str, Any]:
    node: Any = values
    for part in dotted.split("."):
        node = node.get(part, {}) if isinstance(node, dict) else {}
    return node if isinstance(node, dict) else {}
