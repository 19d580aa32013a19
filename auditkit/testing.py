"""Test kit for auditkit and its plugin authors: tiny real models, evaluation data, audits.

Use it as a pytest plugin (``pytest_plugins = ["auditkit.testing"]``) or call the
builders directly. Everything here is real: a randomly initialised BERT saved with
``save_pretrained`` (safetensors) and a fast WordPiece tokenizer, built in about a second.

Fixtures: ``tiny_model_dir`` (a fresh audit-ready model dir), ``auditkit_run`` (audit it
in-process with a chosen set of plugins → :class:`AuditRun`: the Audit, the rendered
files, the exit code), ``auditkit_cli`` (the real command line, in-process) and
``plugin_autoload`` (let installed entry-point plugins load).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Small vocabulary: special tokens, letters (so any lowercase word tokenises), and words
# the test frames use. WordPiece falls back to letters with ## continuation pieces.
_WORDS = (
    "the a an is are was he she they him her his hers them their man woman men women "
    "person people friend doctor nurse teacher good bad great awful nice terrible love "
    "hate kind rude happy sad movie film book food day night this that it not very "
    "and or but with for to of in on at i you we my your our me us gay straight muslim "
    "christian jewish black white asian old young".split()
)


def tiny_vocab() -> list[str]:
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + list("0123456789.,!?'-")
    pieces = ["##" + c for c in letters]
    return ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *letters, *pieces, *_WORDS]


def build_tiny_bert(
    path: str | Path,
    task: str = "sequence-classification",
    labels: Sequence[str] = ("negative", "positive"),
    seed: int = 0,
    hidden_size: int = 32,
    num_layers: int = 2,
    extra_config: dict[str, Any] | None = None,
) -> Path:
    """Save a random 2-layer BERT for ``task`` with its tokenizer into ``path``.

    ``task`` is ``sequence-classification`` or ``token-classification``.
    """
    import torch
    from transformers import (
        BertConfig,
        BertForSequenceClassification,
        BertForTokenClassification,
        BertTokenizerFast,
    )

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    vocab = tiny_vocab()
    tokenizer = BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=2,
        intermediate_size=hidden_size * 2,
        max_position_embeddings=128,
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        **(extra_config or {}),
    )
    torch.manual_seed(seed)
    cls = BertForSequenceClassification if task == "sequence-classification" else BertForTokenClassification
    if task not in ("sequence-classification", "token-classification"):
        raise ValueError(f"unknown task {task!r}")
    model = cls(config)
    model.eval()
    model.save_pretrained(path, safe_serialization=True)
    tokenizer.save_pretrained(path)
    return path


def sentiment_frame(n: int = 120, seed: int = 0, groups: Sequence[str] = ("a", "b", "c")) -> Any:
    """A small labelled text frame with a sensitive column ``group`` and ``gender``."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    good = ["good", "great", "nice", "kind", "happy"]
    bad = ["bad", "awful", "terrible", "rude", "sad"]
    subjects = {"female": ["she", "the woman", "her friend"], "male": ["he", "the man", "his friend"]}
    rows = []
    for _ in range(n):
        label = int(rng.integers(0, 2))
        gender = str(rng.choice(list(subjects)))
        subject = str(rng.choice(subjects[gender]))
        word = str(rng.choice(good if label else bad))
        rows.append(
            {
                "text": f"{subject} was very {word} in the movie",
                "label": label,
                "group": str(rng.choice(list(groups))),
                "gender": gender,
            }
        )
    return pd.DataFrame(rows)


def write_model_dir(
    path: str | Path,
    frame: Any = None,
    task: str = "sequence-classification",
    labels: Sequence[str] = ("negative", "positive"),
    sensitive: Sequence[str] = ("group",),
    config: dict[str, Any] | None = None,
    seed: int = 0,
) -> Path:
    """A complete audit-ready model dir: tiny BERT, ``eval.csv`` and ``auditkit.toml``."""
    from auditkit.config import toml_key, toml_value

    path = build_tiny_bert(path, task=task, labels=labels, seed=seed)
    frame = sentiment_frame(seed=seed) if frame is None else frame
    frame.to_csv(path / "eval.csv", index=False)
    sections: dict[str, dict[str, Any]] = {
        "data": {"path": "eval.csv", "text": "text", "label": "label", "sensitive": list(sensitive)}
    }
    for name, body in (config or {}).items():
        sections.setdefault(name, {}).update(body)
    lines = []
    for name, body in sections.items():
        lines.append(f"[{name}]")
        lines.extend(f"{toml_key(k)} = {toml_value(v)}" for k, v in body.items())
        lines.append("")
    (path / "auditkit.toml").write_text("\n".join(lines), encoding="utf-8")
    return path


def write_predictions_dir(
    path: str | Path, seed: int = 0, n: int = 200, score: str = "risk", extra_toml: str = ""
) -> Path:
    """A predictions-mode model dir (no weights, so an audit takes a second): ``scores.csv``
    with a uniform score, a random binary ``outcome`` and a two-group ``race`` column, and the
    ``auditkit.toml`` that audits it by ``score >= 0.5``; ``extra_toml`` is appended."""
    import numpy as np
    import pandas as pd

    path = Path(path)
    rng = np.random.default_rng(seed)
    path.mkdir(parents=True)
    pd.DataFrame(
        {score: rng.uniform(0, 1, n), "outcome": rng.integers(0, 2, n), "race": rng.choice(["a", "b"], n)}
    ).to_csv(path / "scores.csv", index=False)
    (path / "auditkit.toml").write_text(
        '[data]\npath = "scores.csv"\nlabel = "outcome"\nsensitive = ["race"]\n'
        f'[predictions]\nfile = "scores.csv"\nscore = "{score}"\nthreshold = 0.5\n{extra_toml}',
        encoding="utf-8",
    )
    return path


def read_audit_json(path: str | Path) -> dict[str, Any]:
    """audit.json as data, checked against the published schema (``auditkit/audit.schema.json``),
    so every test that reads one also holds the contract that bots rely on."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    check_audit_schema(data, path)
    return data


def audit_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of audit.json, as shipped inside the package."""
    from importlib.resources import files

    return json.loads(files("auditkit").joinpath("audit.schema.json").read_text(encoding="utf-8"))


def check_audit_schema(data: Any, where: str | Path = "audit.json") -> None:
    """Raise AssertionError naming each place ``data`` breaks the audit.json schema.

    Needs ``jsonschema`` (in auditkit's ``test`` extra); without it nothing is checked, so a
    plugin author's suite runs without it, and auditkit's own suite tests that it is there.
    """
    try:
        import jsonschema
    except ImportError:  # pragma: no cover - auditkit's own tests require it (tests/auditkit/test_audit_schema.py)
        return
    validator = jsonschema.Draft202012Validator(audit_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"  at {'.'.join(['$', *map(str, e.absolute_path)])}: {e.message[:300]}" for e in errors[:10]]
        raise AssertionError(
            f"{where} does not match auditkit/audit.schema.json ({len(errors)} problems); "
            "if the contract changed on purpose, change the schema (and schema_version) too:\n" + "\n".join(lines)
        )


# --------------------------------------------------------------------------------------
# running auditkit in-process
# --------------------------------------------------------------------------------------


@dataclass
class CliResult:
    """What one in-process ``auditkit`` invocation returned and printed."""

    exit_code: int
    stdout: str
    stderr: str


def run_cli(args: Sequence[str]) -> CliResult:
    """Run the real command line in this process (same code path as the console script)."""
    import contextlib
    import io

    from auditkit.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return CliResult(int(code), out.getvalue(), err.getvalue())


@dataclass
class AuditRun:
    """An in-process audit: the Audit object, the files written and the exit code."""

    audit: Any
    files: dict[str, Path]
    exit_code: int
    error: str | None

    @property
    def json(self) -> dict[str, Any]:
        """audit.json as written (the renderers' view, not the in-memory Audit)."""
        if "audit.json" not in self.files:
            raise AssertionError(f"no audit.json was written (files: {sorted(self.files)}; error: {self.error})")
        return read_audit_json(self.files["audit.json"])

    def text(self, name: str) -> str:
        """A rendered file by name, e.g. ``run.text("compliance.html")``."""
        if name not in self.files:
            raise AssertionError(f"{name} was not written; files: {sorted(self.files)}")
        return self.files[name].read_text(encoding="utf-8")

    def section(self, name: str) -> Any:
        """The Section a plugin returned; a clear failure (with the audit's errors) when absent."""
        sections = self.audit.sections if self.audit is not None else {}
        if name not in sections:
            raise AssertionError(f"no section {name!r}; sections: {sorted(sections)}; errors: {self.errors()}")
        return sections[name]

    def findings(self, code: str | None = None, severity: str | None = None, plugin: str | None = None) -> list[Any]:
        """Every finding (host and sections) that matches all the given filters."""
        found = self.audit.all_findings() if self.audit is not None else []
        return [
            f
            for f in found
            if (code is None or f.code == code)
            and (severity is None or f.severity == severity)
            and (plugin is None or f.plugin == plugin)
        ]

    def errors(self) -> list[str]:
        """The messages of every ``error`` finding: what to print when a test fails."""
        return [f.message for f in self.findings(severity="error")]


# The built-ins an audit cannot do without: config, data, model loading, policy, audit.json.
MINIMAL_BUILTINS: tuple[str, ...] = ("core", "tabular", "transformers", "predictions", "policy", "json")


def run_audit(
    model_dir: str | Path,
    out: str | Path,
    plugins: Sequence[tuple[str, Any] | str | Any] = (),
    disabled: Sequence[str] = (),
    formats: Sequence[str] = ("json",),
    settings: dict[str, Any] | None = None,
    autoload: bool = False,
    builtins: Sequence[str] | None = None,
) -> AuditRun:
    """Audit one model dir with the built-ins plus ``plugins``.

    Each plugin is a ``(name, module or object)`` pair, a module (named as its installed
    entry point names it, else after its top-level package without ``auditkit_``), or the
    name of an installed entry point in group ``auditkit`` (loaded and version-checked as
    ``auditkit`` would). ``builtins`` keeps only those
    built-ins (e.g. ``MINIMAL_BUILTINS + ("html",)``) and disables the rest, so a plugin's
    tests stay fast; ``None`` keeps them all.
    """
    from auditkit.manager import BUILTIN_PLUGINS, ESSENTIAL_PLUGINS, get_plugin_manager
    from auditkit.runner import Runner, RunOptions

    disabled = list(disabled)
    if builtins is not None:
        unknown = sorted(set(builtins) - {name for name, _ in BUILTIN_PLUGINS})
        if unknown:
            raise ValueError(f"builtins: unknown built-in plugins {unknown}")
        keep = set(builtins) | ESSENTIAL_PLUGINS
        disabled += [name for name, _ in BUILTIN_PLUGINS if name not in keep and name not in disabled]
    extra = [_named_plugin(p) for p in plugins]
    pm = get_plugin_manager(disabled=disabled, extra_plugins=extra, autoload=autoload)
    options = RunOptions(out=Path(out), formats=list(formats), settings=settings or {}, quiet=True)
    (result,) = Runner(pm, options).run([Path(model_dir)])
    return AuditRun(result.audit, {p.name: p for p in result.files}, int(result.exit_code), result.error)


def _named_plugin(plugin: tuple[str, Any] | str | Any) -> tuple[str, Any]:
    if isinstance(plugin, tuple):
        return plugin
    if isinstance(plugin, str):
        return plugin, entry_point_plugin(plugin)
    name = getattr(plugin, "__name__", type(plugin).__name__)
    # not installed: auditkit_length.plugin → "length", the name the package's entry point would use
    return _entry_point_name(name) or name.partition(".")[0].removeprefix("auditkit_"), plugin


def _entry_point_name(module_name: str) -> str | None:
    """The entry-point name an installed package gives this module, so tests see the same name users do."""
    from importlib.metadata import entry_points

    from auditkit.manager import ENTRY_POINT_GROUP

    return next((ep.name for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.value == module_name), None)


def entry_point_plugin(name: str) -> Any:
    """Load the installed entry point ``name`` of group ``auditkit``, as ``auditkit`` would.

    Fails with the reason (not installed, import error, unsupported auditkit version), so a
    plugin's test says why its plugin would not load for a user.
    """
    from importlib.metadata import entry_points

    from auditkit.compat import check_hook_api
    from auditkit.manager import ENTRY_POINT_GROUP

    found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
    if not found:
        installed = sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
        raise LookupError(
            f"no entry point {name!r} in group {ENTRY_POINT_GROUP!r} (installed: {installed}); "
            "pip install your plugin package (pip install -e .) first"
        )
    plugin = found[0].load()
    problem = check_hook_api(plugin)
    if problem:
        raise LookupError(problem)
    return plugin


try:  # the pytest fixtures, when pytest is there (``pytest_plugins = ["auditkit.testing"]``)
    import pytest
except ImportError:  # pragma: no cover
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture(scope="session")
    def tiny_model_template(tmp_path_factory: Any) -> Path:
        """A tiny sequence-classification model dir with eval.csv and auditkit.toml (built once)."""
        return write_model_dir(tmp_path_factory.mktemp("template") / "tiny-model", sensitive=("group", "gender"))

    @pytest.fixture
    def tiny_model_dir(tmp_path: Path, tiny_model_template: Path) -> Path:
        """A fresh copy of the tiny model dir, free for the test to change."""
        import shutil

        return Path(shutil.copytree(tiny_model_template, tmp_path / "tox-v3"))

    @pytest.fixture
    def auditkit_cli() -> Any:
        """``auditkit_cli("run", dir, "--out", out)`` → CliResult, in-process."""
        return lambda *args: run_cli(args)

    @pytest.fixture
    def auditkit_run(tmp_path: Path, tiny_model_dir: Path) -> Any:
        """Run an audit in-process with a chosen set of plugins; returns an :class:`AuditRun`.

        ``auditkit_run(my_plugin_module, formats=("json", "html"), settings={...})`` audits a
        fresh tiny model dir (or ``model_dir=``) into its own folder under ``tmp_path``.
        Keyword arguments are those of :func:`run_audit`; ``builtins`` defaults to
        :data:`MINIMAL_BUILTINS` plus the renderers the formats need.
        """
        counter = iter(range(1, 1_000_000))

        def run(*plugins: Any, model_dir: str | Path | None = None, **kwargs: Any) -> AuditRun:
            formats = tuple(kwargs.pop("formats", ("json",)))
            renderers = {"html": "html", "pdf": "pdf", "md": "markdown"}
            default = MINIMAL_BUILTINS + tuple(renderers[f] for f in formats if f in renderers)
            kwargs.setdefault("builtins", default)
            out = tmp_path / f"auditkit-run-{next(counter)}"
            return run_audit(model_dir or tiny_model_dir, out, plugins=plugins, formats=formats, **kwargs)

        return run

    @pytest.fixture
    def plugin_autoload(monkeypatch: Any) -> None:
        """Let ``auditkit`` load installed entry-point plugins (a test suite may turn that off)."""
        from auditkit.manager import AUTOLOAD_ENV

        monkeypatch.delenv(AUTOLOAD_ENV, raising=False)
