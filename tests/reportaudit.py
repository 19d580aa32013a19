"""A realistic, hand-built Audit for the report tests (no model run needed).

Five sections (training, fairness, privacy; market and valuation for the business
report) with tables, real matplotlib charts, findings and calculations, a config built
from real schemas, and numbers that are easy to look for in the rendered output.
``hostile=True`` puts markup, file URLs, CSS ``url()``, Markdown links and terminal
escape sequences into everything a model owner or plugin controls.
"""

from __future__ import annotations

import functools
from html.parser import HTMLParser
from typing import Any

import pandas as pd
from auditkit.plugins.assess.fairness import section as fairness_section
from auditkit.plugins.assess.privacy import assess as privacy_assess
from auditkit.plugins.assess.training import assess as training_assess
from auditkit.plugins.value.business import advice as valuation_advice

from auditkit.audit import (
    Audit,
    Calculation,
    Chart,
    DatasetInfo,
    Finding,
    IndexColumn,
    KeyNumber,
    ModelInfo,
    PluginInfo,
    Section,
    Table,
)
from auditkit.charts import FAIL_COLOR, PALETTE, new_figure, to_chart
from auditkit.config import ConfigSection, Option, build_config
from auditkit.coreplugin import auditkit_config_schema as core_schema
from auditkit.rendering import report_config_schema

CREATED = "2024-05-01T12:00:00+00:00"
REPORT_ID = "ak-3f9c2a1b7d4e"
WEIGHTS_SHA = "9a" * 32
DATA_SHA = "5c" * 32

SCRIPT = "<script>alert('owned')</script>"
IMG = "<img src=file:///etc/passwd>"
MD_LINK = "[click me](javascript:alert(1))"
ANSI = "\x1b[31mred\x1b[0m\x1b]0;title\x07"


def css_url(host: str) -> str:
    return f"url(http://{host}/steal.png)"


def hostile_text(host: str = "127.0.0.1:9") -> str:
    """Everything at once; ``host`` is where a leaked fetch would go (a test's listener)."""
    return f"{SCRIPT} {IMG} {css_url(host)} <link rel=stylesheet href=http://{host}/x.css> {MD_LINK} a|b {ANSI}"


# Numbers the tests look for, as the reports print them (4 significant digits).
FAIRNESS_SCORE = 0.8312
ACCURACY = 0.9124
EPSILON = 7.93
RISK_ADJUSTED = 259_237.5  # → "259,238"
NPV = 1_184_220.0


def _cached(function: Any) -> Any:
    """Charts are deterministic: draw each once per test session (matplotlib is slow)."""
    cache: dict[str, Chart] = {}

    def wrapper(*args: Any) -> Chart:
        key = repr(args)
        if key not in cache:
            cache[key] = function(*args)
        return cache[key]

    return wrapper


def _schemas() -> dict[str, ConfigSection]:
    sections = [*core_schema(), report_config_schema()]
    sections.append(
        ConfigSection(
            "fairness",
            [
                Option("tolerance", "float", 0.1, "largest acceptable disparity d before F_c drops below 1"),
                Option("min_group_size", "int", 30, "groups smaller than this are reported, not scored"),
            ],
        )
    )
    sections.append(
        ConfigSection(
            "privacy",
            [
                Option("delta", "float", 1e-5, "δ of the (ε, δ) differential-privacy guarantee"),
            ],
        )
    )
    sections.append(
        ConfigSection(
            "valuation",
            [
                Option("alpha", "float", 300000.0, "value per unit of the primary metric (α)"),
                Option("beta", "float", -23720.0, "fixed value offset (β)"),
                Option("discount_rate", "float", 0.08, "yearly discount rate for the NPV"),
            ],
        )
    )
    sections.append(
        ConfigSection(
            "market",
            [
                Option("curve", "str", "saturating", "response curve f(P)"),
                Option("k", "float", 1.0, "cost per unit of promotion spend"),
            ],
        )
    )
    return {s.name: s for s in sections}


@_cached
def _bar_chart(name: str, title: str, groups: list[str], values: list[float], ylabel: str, alt: str):
    fig, ax = new_figure(6.4, 3.2)
    colors = [FAIL_COLOR if v > 0.25 else PALETTE[0] for v in values]
    ax.bar(groups, values, color=colors)
    ax.axhline(0.25, color=PALETTE[7], linewidth=0.8, linestyle="--", label="tolerance")
    ax.set_title(title)
    ax.set_xlabel("group")
    ax.set_ylabel(ylabel)
    ax.legend()
    return to_chart(fig, name, title, alt)


@_cached
def _line_chart(
    name: str, title: str, x: list[float], series: dict[str, list[float]], xlabel: str, ylabel: str, alt: str
):
    fig, ax = new_figure(6.4, 3.2)
    for label, ys in series.items():
        ax.plot(x, ys, label=label)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()
    return to_chart(fig, name, title, alt)


def _training(text: str) -> Section:
    s = Section(
        "training",
        "Training record",
        summary=f"Fine-tuned for 3 epochs on 48,000 examples{text}.",
        order=100,
        plugin="training",
    )
    s.key_metrics = ["training_cost"]
    s.headline, s.index_columns = list(training_assess.HEADLINE), list(training_assess.INDEX_COLUMNS)
    s.metrics = {"training_cost": 412.5, "wall_seconds": 5231.0, "epochs": 3, "final_loss": 0.2311}
    s.tables.append(
        Table(
            "Loss and validation accuracy per epoch",
            pd.DataFrame(
                {
                    "epoch": [1, 2, 3],
                    "train loss": [0.512, 0.318, 0.2311],
                    "validation accuracy": [0.861, 0.897, 0.9124],
                }
            ),
            name="epochs",
        )
    )
    s.charts.append(
        _line_chart(
            "training-loss",
            "Training loss per epoch",
            [1, 2, 3],
            {"train loss": [0.512, 0.318, 0.2311]},
            "epoch",
            "cross-entropy loss (nats)",
            "Loss falls from 0.512 after epoch 1 to 0.2311 after epoch 3.",
        )
    )
    s.calculations.append(Calculation("training_cost", "gpu_hours × rate", {"gpu_hours": 1.45, "rate": 284.48}, 412.5))
    s.add_finding("info", "training.no-dp", "the model was trained without differential privacy")
    return s


def _fairness(labels: list[str], text: str) -> Section:
    groups = ["female", "male", "nonbinary", "christian", "muslim", "jewish"]
    if text:
        groups[2] = f"{SCRIPT}{IMG}"
    rates = [0.21, 0.18, 0.31, 0.17, 0.29, 0.2]
    s = Section(
        "fairness",
        "Fairness",
        summary=f"F = 0.8312: equalized odds exceeds its tolerance for 2 groups{text}.",
        order=200,
        plugin="fairness",
    )
    s.key_metrics = ["score", "accuracy"]
    # as the fairness plugin declares F; the primary metric (accuracy) sits here in this audit
    s.headline = [
        *fairness_section._new_section().headline,
        KeyNumber("accuracy", "Primary metric (accuracy)", reports=("compliance", "business"), slot="primary_metric"),
    ]
    s.index_columns = [
        *fairness_section._new_section().index_columns,
        IndexColumn("accuracy", "Primary metric", detail="accuracy", slot="primary_metric"),
    ]
    s.metrics = {
        "score": FAIRNESS_SCORE,
        "accuracy": ACCURACY,
        "demographic_parity_difference": 0.1203,
        "equalized_odds_difference": 0.1503,
        "groups_scored": 6,
    }
    frame = pd.DataFrame(
        {
            "group": groups,
            "count": [812, 766, 61, 402, 318, 241],
            "selection rate": rates,
            "TPR": [0.88, 0.91, 0.79, 0.9, 0.82, 0.89],
            "FPR": [0.05, 0.04, 0.09, 0.04, 0.08, 0.05],
        }
    )
    s.tables.append(
        Table(
            f"Metrics per group (positive label: {labels[1]})",
            frame,
            name="groups",
            note="Groups with fewer than 30 rows are reported but not scored.",
        )
    )
    s.charts.append(
        _bar_chart(
            "fairness-selection",
            "Selection rate per group",
            groups,
            rates,
            "selection rate (share)",
            "Selection rates range from 0.17 (christian) to 0.31 (nonbinary); two groups exceed 0.25.",
        )
    )
    s.calculations += [
        Calculation("F_equalized_odds", "F_c = min(τ_c / d_c, 1)", {"tau": 0.125, "d": 0.1503}, FAIRNESS_SCORE),
        Calculation(
            "F",
            "F = min over constraints of F_c",
            {"F_demographic_parity": 1.0, "F_equalized_odds": FAIRNESS_SCORE},
            FAIRNESS_SCORE,
        ),
    ]
    s.add_finding("fail", "fairness.equalized-odds", f"equalized odds difference 0.1503 exceeds tolerance 0.125{text}")
    s.add_finding("warn", "fairness.small-group", "group nonbinary has 61 rows; estimates are uncertain")
    s.data["groups"] = {g: {"selection_rate": r} for g, r in zip(groups, rates, strict=True)}
    return s


def _privacy(text: str) -> Section:
    s = Section(
        "privacy",
        "Privacy",
        summary=f"PLD accountant: ε = 7.93 at δ = 1e-05; no PII found in 2,000 rows{text}.",
        order=300,
        plugin="privacy",
    )
    s.key_metrics = ["epsilon"]
    s.headline, s.index_columns = list(privacy_assess.HEADLINE), list(privacy_assess.INDEX_COLUMNS)
    s.metrics = {
        "epsilon": EPSILON,
        "delta": 1e-5,
        "protection_cost": 12_000.0,
        "compliance_cost": 8_500.0,
        "pii_hits": 0,
        "membership_auc": 0.5132,
    }
    s.tables.append(
        Table("PII scan", pd.DataFrame({"kind": ["email", "phone", "name"], "hits": [0, 0, 0]}), name="pii")
    )
    s.calculations.append(
        Calculation(
            "C",
            "C = engineering_hours × rate + utility_loss",
            {"engineering_hours": 80, "rate": 120.0, "utility_loss": 2400.0},
            12_000.0,
        )
    )
    s.add_finding("warn", "privacy-epsilon-high", "ε = 7.93 is above the recommended 3")
    return s


def _market(text: str) -> Section:
    s = Section(
        "market",
        "Market strategy",
        report="business",
        order=600,
        plugin="market",
        summary=f"Optimal promotion spend P* = 25,000 returns f(P*) = 142,000{text}.",
    )
    s.key_metrics = ["optimal_spend", "net_at_optimum"]
    s.headline = [
        KeyNumber("optimal_spend", "Optimal promotion spend P*"),
        KeyNumber("net_at_optimum", "Net market return g(P*)"),
    ]
    s.metrics = {
        "optimal_spend": 25_000.0,
        "revenue_at_optimum": 142_000.0,
        "net_at_optimum": 117_000.0,
        "marginal_return_at_budget": -0.42,
    }
    spend = [0, 10_000, 20_000, 25_000, 40_000, 60_000]
    revenue = [0, 80_000, 128_000, 142_000, 165_000, 176_000]
    s.charts.append(
        _line_chart(
            "market-curve",
            "Response curve and net return",
            spend,
            {"f(P) revenue": revenue, "g(P) net": [r - p for r, p in zip(revenue, spend, strict=True)]},
            "promotion spend P (EUR)",
            "EUR",
            "Net return g peaks at 117,000 for P* = 25,000.",
        )
    )
    s.tables.append(
        Table(
            "Budget split by segment",
            pd.DataFrame({"segment": ["EU", "US"], "spend": [15_000.0, 10_000.0], "marginal return": [0.0, 0.0]}),
            name="segments",
        )
    )
    s.calculations.append(
        Calculation("g(P*)", "g(P) = f(P) − k·P", {"P*": 25_000.0, "f(P*)": 142_000.0, "k": 1.0}, 117_000.0)
    )
    return s


@functools.cache
def _valuation_charts() -> tuple[Chart, Chart]:
    fig, ax = new_figure(6.4, 3.2)
    steps = [("V", 250_000), ("−C", -12_000), ("−D", -8_500), ("+g(P*)", 117_000)]
    total = 0.0
    for i, (_, delta) in enumerate(steps):
        ax.bar(i, delta, bottom=total if delta < 0 or i else 0, color=PALETTE[0] if delta > 0 else FAIL_COLOR)
        total += delta
    ax.bar(len(steps), RISK_ADJUSTED, color=PALETTE[2])
    ax.set_xticks(range(len(steps) + 1), [label for label, _ in steps] + ["×F·E"])
    ax.set_title("From technology value to risk-adjusted value")
    ax.set_xlabel("step")
    ax.set_ylabel("value (EUR)")
    waterfall = to_chart(
        fig,
        "valuation-waterfall",
        "Value waterfall",
        "V = 250,000 minus C and D plus g(P*) gives 346,500; × F × E gives 259,238.",
    )
    fig, ax = new_figure(6.4, 2.8)
    ax.barh(["alpha", "discount rate", "k"], [60_000, 21_000, 9_000], color=PALETTE[0])
    ax.set_title("What moves the value most")
    ax.set_xlabel("swing of risk-adjusted value (EUR)")
    ax.set_ylabel("input")
    tornado = to_chart(
        fig,
        "valuation-tornado",
        "Tornado: sensitivity of the value",
        "alpha moves the value by 60,000, the discount rate by 21,000 and k by 9,000.",
    )
    return waterfall, tornado


def _valuation(text: str) -> Section:
    s = Section(
        "valuation",
        "Valuation",
        report="business",
        order=700,
        plugin="valuation",
        summary=f"Risk-adjusted value 259,238 (P5 180,410, P95 331,902); NPV 1,184,220{text}.",
    )
    s.key_metrics = ["risk_adjusted_value", "npv"]
    s.metrics = {
        "technology_value": 250_000.0,
        "privacy_cost": 12_000.0,
        "compliance_cost": 8_500.0,
        "net_value": 229_500.0,
        "market_value": 117_000.0,
        "fairness_score": FAIRNESS_SCORE,
        "ethics_score": 0.9,
        "risk_adjusted_value": RISK_ADJUSTED,
        "npv": NPV,
        "risk_adjusted_value_p5": 180_410.0,
        "risk_adjusted_value_p50": 258_990.0,
        "risk_adjusted_value_p95": 331_902.0,
    }
    s.data["primary_metric"] = "accuracy"
    valuation_advice.declare(s, "", "accuracy")  # the recommendation follows the metrics set above
    s.charts += _valuation_charts()
    s.tables.append(
        Table(
            "Monte Carlo (10,000 draws, seed 0)",
            pd.DataFrame(
                {
                    "quantity": ["risk-adjusted value", "NPV"],
                    "P5": [180_410.0, 902_114.0],
                    "P50": [258_990.0, 1_180_003.0],
                    "P95": [331_902.0, 1_460_871.0],
                }
            ),
            name="monte-carlo",
        )
    )
    s.calculations += [
        Calculation("V", "V = α·y + β", {"alpha": 300_000.0, "y": ACCURACY, "beta": -23_720.0}, 250_000.0),
        Calculation("V_net", "V_net = max(V − C − D, 0)", {"V": 250_000.0, "C": 12_000.0, "D": 8_500.0}, 229_500.0),
        Calculation(
            "risk_adjusted_value",
            "(V_net + g(P*)) · F · E",
            {"V_net": 229_500.0, "g(P*)": 117_000.0, "F": FAIRNESS_SCORE, "E": 0.9},
            RISK_ADJUSTED,
        ),
    ]
    s.add_finding("info", "valuation.defaults", "market curve uses the documented default parameters")
    return s


def build_report_audit(
    hostile: bool = False, name: str = "toxicity-bert-v3", out_dir: str = "", host: str = "127.0.0.1:9"
) -> Audit:
    """The audit every report test renders; ``hostile`` injects markup everywhere."""
    text = f" {hostile_text(host)}" if hostile else ""
    labels = ["non-toxic", "toxic"] if not hostile else [f"non-toxic {SCRIPT}", f"toxic {IMG} {css_url(host)}"]
    card: dict[str, Any] = {
        "description": "BERT fine-tuned to flag toxic comments in English forum posts." + text,
        "intended_use": "Moderation queue triage with human review of every positive.",
    }
    if hostile:
        card["notes"] = f"{MD_LINK} <style>body{{background:{css_url(host)}}}</style> {ANSI}"
    model = ModelInfo(
        name=name,
        path=f"models/{name}",
        task="sequence-classification",
        labels=labels,
        loader="transformers",
        sha256=WEIGHTS_SHA,
        num_parameters=4_385_920,
        base_model="bert-base-uncased",
        files=["model.safetensors", "config.json"],
        card=card,
    )
    dataset = DatasetInfo(
        path="eval/toxicity-eval.csv",
        sha256=DATA_SHA,
        rows=2000,
        format="csv",
        columns=["text", "label", "gender", "religion"],
        text="text",
        label="label",
        sensitive=["gender", "religion"],
        positive=labels[1],
    )
    layers: list[tuple[str, dict[str, Any]]] = [
        (
            "auditkit.toml",
            {
                "data": {"path": "eval/toxicity-eval.csv", "sensitive": ["gender", "religion"]},
                "fairness": {"tolerance": 0.125},
                "report": {"author": "Model Risk Office" + text, "organisation": "Example Bank"},
            },
        ),
    ]
    config = build_config(_schemas(), layers)
    audit = Audit(
        model=model,
        config=config,
        model_dir=model.path,
        out_dir=out_dir,
        report_id=REPORT_ID,
        dataset=dataset,
        created=CREATED,
    )
    for section in (_training(text), _fairness(labels, text), _privacy(text), _market(text), _valuation(text)):
        audit.sections[section.name] = section
    audit.findings.append(
        Finding("info", "data.missing-sensitive", "12 rows have no religion value and are not grouped")
    )
    audit.plugins = [
        PluginInfo(n, "0.1.0", "built-in", [])
        for n in (
            "core",
            "transformers",
            "training",
            "fairness",
            "privacy",
            "market",
            "valuation",
            "json",
            "markdown",
            "html",
            "pdf",
        )
    ]
    return audit


# every element the reports may contain; anything else (script, img, iframe, link,
# object …) in a rendered report means something escaped the escaping
ALLOWED_TAGS = set(
    "html head meta title style body main header footer nav section div p span strong h1 h2 h3 "
    "ol ul li a code pre table caption colgroup col thead tbody tr th td figure figcaption "
    "svg path text defs clippath use rect".split()
)


class TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.hrefs: list[str] = []
        self.styles: list[str] = []
        self.style_text: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self._in_style = tag == "style"
        for name, value in attrs:
            if name in ("href", "src", "xlink:href", "data", "srcset"):
                self.hrefs.append(value or "")
            if name == "style":
                self.styles.append(value or "")

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.style_text.append(data)

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False


def collect(html: str) -> TagCollector:
    parser = TagCollector()
    parser.feed(html)
    return parser


def use_template_folder(audit: Audit, folder: Any, name: str = "acme") -> tuple[Any, Any]:
    """Give ``audit`` a real hook relay whose one plugin ships templates in ``folder``.

    Returns (plugin manager, plugin) so a test can take the plugin out again.
    """
    from auditkit import hookimpl
    from auditkit.manager import get_plugin_manager

    class TemplatePlugin:
        @hookimpl
        def auditkit_template_dirs(self) -> Any:
            return folder

    plugin = TemplatePlugin()
    pm = get_plugin_manager(extra_plugins=[(name, plugin)], autoload=False, builtins=())
    audit.hook = pm.hook
    return pm, plugin
