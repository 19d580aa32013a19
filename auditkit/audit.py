"""The audit data model: plain dataclasses that plugins fill and renderers read.

Nothing here imports pandas or numpy at module level, so that `auditkit plugins`
and `auditkit --help` stay fast; tables hold DataFrames, typed only for checkers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from auditkit.safe_text import looks_like_path, show_path

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from auditkit.config import Config

Severity = Literal["info", "warn", "fail", "error"]
Verdict = Literal["pass", "warn", "fail", "error"]
SectionStatus = Literal["pass", "warn", "fail", "error", "not_assessed", "illustrative"]

SEVERITIES: tuple[str, ...] = ("info", "warn", "fail", "error")
_RANK = {"pass": 0, "info": 0, "warn": 1, "fail": 2, "error": 3}
_VERDICT_OF = {0: "pass", 1: "warn", 2: "fail", 3: "error"}


def worst(verdicts: list[str]) -> Verdict:
    """The most severe of several verdicts or finding severities (`pass` when empty)."""
    rank = max((_RANK[v] for v in verdicts), default=0)
    return _VERDICT_OF[rank]  # type: ignore[return-value]


def severity_rank(severity: str) -> int:
    """Order used to sort findings and to compare against `--fail-on`."""
    return _RANK[severity]


class FrozenList(list):  # type: ignore[type-arg]
    """A list that refuses changes, with a message saying why (the verdict is final).

    Still a ``list`` (JSON, ``+``, slicing, typing work), so readers need not know."""

    def __init__(self, items: Any = (), what: str = "this list") -> None:
        super().__init__(items)
        self._what = what

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(
            f"{self._what} is read-only once rendering starts (the verdict is final): "
            "a renderer reports a problem through audit.render_errors"
        )

    def __reduce__(self) -> tuple[Any, ...]:  # pickle and deepcopy rebuild it whole, not item by item
        return (FrozenList, (list(self), self._what))

    append = extend = insert = remove = pop = clear = sort = reverse = _refuse  # type: ignore[assignment]
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse  # type: ignore[assignment]


@dataclass
class Finding:
    """One observation a reviewer should read: a severity, a stable code and a message."""

    severity: Severity
    code: str
    message: str
    section: str | None = None
    plugin: str | None = None
    traceback: str | None = None

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"finding {self.code!r}: severity {self.severity!r} is not one of {SEVERITIES}")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "section": self.section,
            "plugin": self.plugin,
        }
        if self.traceback:
            out["traceback"] = self.traceback
        return out


@dataclass
class Table:
    """A DataFrame with the caption a report prints above it."""

    caption: str
    frame: pd.DataFrame
    name: str = ""
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        frame = self.frame
        return {
            "name": self.name,
            "caption": self.caption,
            "columns": [str(c) for c in frame.columns],
            "rows": [[jsonable(v) for v in row] for row in frame.itertuples(index=False)],
        }


@dataclass
class Chart:
    """An inline SVG chart with the text alternative that screen readers and PDFs carry."""

    name: str
    title: str
    svg: str
    alt: str


@dataclass
class Calculation:
    """A number with the formula and the inputs that produced it, so a reviewer can redo it."""

    name: str
    formula: str
    inputs: dict[str, Any]
    result: float | None
    # input name → who set it ("default", "model dir", "reviewer config", "flag", "policy",
    # "measured": auditkit.config.SOURCE_KINDS), so a reader sees which inputs are invented
    sources: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "formula": self.formula,
            "inputs": {k: jsonable(v) for k, v in self.inputs.items()},
            "sources": dict(self.sources),
            "result": jsonable(self.result),
        }


@dataclass(frozen=True)
class KeyNumber:
    """A number a section puts on the report covers and in the executive summary.

    The host knows no section by name: each section declares its own key numbers, and
    the covers show them in section order, so a third-party section's number appears
    there as a built-in's does.
    """

    metric: str  # a key of the section's metrics (or data)
    label: str  # as the cover reads it, currency included: "Net value V_net (EUR)"
    # the reports whose covers show it; empty: the section's own report only
    reports: tuple[str, ...] = ()
    # what the cover says when the value is None ("none (no differential privacy)"); empty: left out
    missing: str = ""
    # one number per slot: a later section's (higher order) replaces an earlier one's, e.g.
    # the valuation's chosen "primary_metric" replaces the training section's accuracy
    slot: str = ""


@dataclass(frozen=True)
class IndexColumn:
    """A column a section adds to the multi-model comparison (``index.html``)."""

    metric: str  # a key of the section's metrics (or data)
    heading: str  # "Fairness F"
    missing: str = ""  # the cell when the section ran but the value is None ("no DP"); empty: a dash
    detail: str = ""  # muted words after the number ("accuracy" for a primary metric)
    note: str = ""  # one sentence under the table saying what the column means
    rank: bool = False  # models are ranked by this column, largest first
    slot: str = ""  # as KeyNumber.slot: a later section's column replaces an earlier one's


@dataclass(frozen=True)
class Recommendation:
    """What a value section advises from its own numbers (the business report's headline).

    The host puts the audit's verdict first (a plugin error reads "Incomplete", a failing
    policy "Hold") and then this; ``if_warn`` replaces it when only warnings remain.
    """

    label: str  # "Proceed"
    reason: str  # "every check passes and the risk-adjusted value is 259,238."
    rules: tuple[str, ...] = ()  # how the section chooses, one line each, for the report
    if_warn: tuple[str, str] | None = None  # (label, reason) when the audit's verdict is warn
    caveat: str = ""  # appended to whatever reason is shown (e.g. rests on default inputs)


@dataclass
class Section:
    """What one assess or value hook measured; one section of a report.

    `metrics` is flat name → number and goes to audit.json; `data` holds any further
    structured JSON a plugin promises (for example the fairness `groups`), merged into
    the section's JSON object. `template` names the partial that renders it, under the
    plugin's prefix (`fairness/section.html.j2`); sections are ordered by `order`.
    """

    name: str
    title: str
    report: Literal["compliance", "business"] = "compliance"
    summary: str = ""
    metrics: dict[str, float | int | None] = field(default_factory=dict)
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    calculations: list[Calculation] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    template: str | None = None
    order: int = 500
    plugin: str | None = None
    key_metrics: list[str] = field(default_factory=list)  # the numbers a summary shows
    headline: list[KeyNumber] = field(default_factory=list)  # its numbers on the report covers
    index_columns: list[IndexColumn] = field(default_factory=list)  # its columns in index.html
    recommendation: Recommendation | None = None  # a value section's advice (business report)
    # False when the plugin ran but measured nothing (its summary says why): the badge then
    # reads NOT ASSESSED, never PASS, whatever its (info or warn) findings say
    assessed: bool = True
    # True when the section's numbers rest mostly on documented defaults, not on inputs the
    # reviewer or the model dir gave: the badge reads ILLUSTRATIVE (DEFAULTS), never PASS,
    # and its key numbers are labelled so (a plugin keeps such a section's findings at info)
    illustrative: bool = False

    def add_finding(self, severity: Severity, code: str, message: str) -> Finding:
        finding = Finding(severity, code, message, section=self.name, plugin=self.plugin)
        self.findings.append(finding)
        return finding

    @property
    def verdict(self) -> Verdict:
        return worst([f.severity for f in self.findings])

    @property
    def status(self) -> SectionStatus:
        """What the section's badge says: its verdict, ``not_assessed`` when nothing was measured,
        ``illustrative`` when it passes on default inputs (a warn or worse still shows)."""
        if not self.assessed:
            return "not_assessed"
        verdict = self.verdict
        return "illustrative" if self.illustrative and verdict == "pass" else verdict

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "title": self.title,
            "report": self.report,
            "plugin": self.plugin,
            "summary": self.summary,
            "verdict": self.verdict,  # the worst finding, as ever; "status" is what the badge says
            "status": self.status,
            "illustrative": self.illustrative,
            "metrics": {k: jsonable(v) for k, v in self.metrics.items()},
            "findings": [f.to_json() for f in self.findings],
            "calculations": [c.to_json() for c in self.calculations],
            "tables": [t.to_json() for t in self.tables],
            "charts": [{"name": c.name, "title": c.title, "alt": c.alt} for c in self.charts],
            "key_metrics": list(self.key_metrics),
        }
        for key, value in self.data.items():
            if key in out:
                raise ValueError(f"section {self.name!r}: data key {key!r} is reserved")
            out[key] = jsonable(value)
        return out


@dataclass
class ModelInfo:
    """Identity of the audited model: enough to tell exactly which weights were judged."""

    name: str
    path: str
    task: str
    labels: list[str]
    loader: str
    sha256: str | None = None
    num_parameters: int | None = None
    base_model: str | None = None
    files: list[str] = field(default_factory=list)
    card: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            # the folder as the reviewer typed it when relative, else its name and a path hash
            "path": show_path(self.path),
            "sha256": self.sha256,
            "task": self.task,
            "labels": list(self.labels),
            "num_parameters": self.num_parameters,
            "loader": self.loader,
            "base_model": show_path(self.base_model) if self.base_model and looks_like_path(self.base_model) else (
                self.base_model
            ),
            "files": list(self.files),
            **{k: jsonable(v) for k, v in self.extra.items()},
        }


@dataclass
class DatasetInfo:
    """Where the evaluation data came from and which columns play which role."""

    path: str
    sha256: str
    rows: int
    format: str
    columns: list[str]
    text: str | None
    label: str | None
    sensitive: list[str]
    positive: str | None = None
    missing_sensitive: dict[str, int] = field(default_factory=dict)
    # rows whose text is missing or blank (the model sees an empty string), and the first
    missing_text: int = 0
    first_missing_text: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "rows": self.rows,
            "format": self.format,
            "columns": list(self.columns),
            "text": self.text,
            "label": self.label,
            "sensitive": list(self.sensitive),
            "positive": self.positive,
            "missing_sensitive": dict(self.missing_sensitive),
            "missing_text": self.missing_text,
        }


@dataclass
class Predictions:
    """What the model said about each evaluation row.

    Sequence tasks: `labels` holds the predicted label name per row and `proba` the
    class probabilities (columns in `classes` order). `scores` is the score of the
    positive class for binary tasks (the vendor's raw score in predictions mode).
    Token tasks: `token_labels` holds one list of predicted tags per row, one per word.
    """

    labels: np.ndarray
    classes: list[str]
    proba: np.ndarray | None = None
    scores: np.ndarray | None = None
    token_labels: list[list[str]] | None = None
    source: str = "model"
    seconds: float = 0.0


@dataclass
class PluginInfo:
    """How a plugin got into this process, for `auditkit plugins` and audit.json."""

    name: str
    version: str
    source: str
    hooks: list[str]
    status: str = "loaded"
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "source": self.source,
            "hooks": list(self.hooks),
            "status": self.status,
        }
        if self.error:
            out["error"] = self.error
        return out


@dataclass
class Audit:
    """Everything known about one model's audit, from loading to rendering.

    Plugins read what earlier phases put here (`frame`, `y_true`, `predictions`,
    other `sections`) and add their own `Section`. `handle` is the loaded model, able to
    predict again (counterfactual tests, membership inference).
    """

    model: ModelInfo
    config: Config
    model_dir: str
    out_dir: str
    report_id: str
    dataset: DatasetInfo | None = None
    frame: pd.DataFrame | None = None
    y_true: np.ndarray | None = None
    token_true: list[list[str]] | None = None
    predictions: Predictions | None = None
    handle: Any = None
    sections: dict[str, Section] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    plugins: list[PluginInfo] = field(default_factory=list)
    created: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)  # report files written so far (staging paths)
    # the hook relay (minus plugins this audit disabled), so a plugin can call a hook that other
    # plugins implement (e.g. ``audit.hook.auditkit_pii_recognizers()``); None when built by hand
    hook: Any = None
    # where a plugin may keep a slow, deterministic result between runs (see
    # auditkit.result_cache); None when this run does not cache
    cache_dir: str | None = None
    # qualifiers every report prints beside the verdict, e.g. "tolerances set by the model dir"
    verdict_notes: list[str] = field(default_factory=list)
    # the verdict, set once by :meth:`finalize` after policy and before any renderer runs
    final_verdict: Verdict | None = None
    # what went wrong while writing the reports (a renderer raised, a partial failed, a fetch
    # was refused): a fact of this run's output, not of the model, so it never changes the
    # verdict; audit.json lists it under "render_errors", the CLI on stderr, exit code 3
    render_errors: list[Finding] = field(default_factory=list)
    # the report formats this run writes, set by the runner before assess, so a plugin can
    # skip work no chosen report shows (charts for json alone); None: not known (built by hand)
    formats: list[str] | None = None

    @property
    def positive_label(self) -> str | None:
        return self.dataset.positive if self.dataset else None

    def all_findings(self) -> list[Finding]:
        """Host findings and every section's, most severe first."""
        found = list(self.findings)
        for section in self.sections.values():
            found.extend(section.findings)
        return sorted(found, key=lambda f: -severity_rank(f.severity))

    @property
    def verdict(self) -> Verdict:
        """The final verdict once the host has fixed it, until then the most severe finding."""
        if self.final_verdict is not None:
            return self.final_verdict
        return worst([f.severity for f in self.all_findings()])

    def not_assessed(self, report: str | None = None) -> list[Section]:
        return [s for s in self.ordered_sections(report) if not s.assessed]

    def finalize(self) -> Verdict:
        """Fix the verdict and its notes before the first renderer runs, so every report states
        the same one: a renderer cannot change it (findings and notes become read-only; a
        rendering problem goes to ``render_errors``). Sections that measured nothing are named
        in a note, so an overall PASS never hides them."""
        if self.final_verdict is not None:
            return self.final_verdict
        skipped = [s.title for s in self.not_assessed()]
        note = f"not assessed: {', '.join(skipped)}" if skipped else ""
        if note and note not in self.verdict_notes:
            self.verdict_notes.append(note)
        self.final_verdict = worst([f.severity for f in self.all_findings()])
        self.findings = FrozenList(self.findings, "audit.findings")
        self.verdict_notes = FrozenList(self.verdict_notes, "audit.verdict_notes")
        for section in self.sections.values():
            section.findings = FrozenList(section.findings, f"section {section.name!r} findings")
        return self.final_verdict

    def ordered_sections(self, report: str | None = None) -> list[Section]:
        chosen = [s for s in self.sections.values() if report is None or s.report == report]
        return sorted(chosen, key=lambda s: (s.order, s.name))

    def metric(self, dotted: str, default: Any = None) -> Any:
        """`audit.metric("fairness.score")`: a metric of another section, or `default`."""
        section_name, _, key = dotted.partition(".")
        section = self.sections.get(section_name)
        if section is None:
            return default
        if key in section.metrics:
            return section.metrics[key]
        return section.data.get(key, default)


def jsonable(value: Any) -> Any:
    """Convert numpy scalars, arrays and non-finite floats to what strict JSON accepts."""
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if type(value).__name__ in ("NAType", "NaTType"):  # pandas missing values
        return None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalar or array
        return jsonable(value.tolist())
    if hasattr(value, "to_json") and callable(value.to_json):
        return value.to_json()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
