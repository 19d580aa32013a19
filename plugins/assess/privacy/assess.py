"""The privacy section: DP accounting, PII scan, membership inference, governance costs.

Each part adds metrics, tables, charts, calculations and findings to one Section. The
order matters only in one place: the membership audit compares with ε, so DP comes first.
"""

from __future__ import annotations

from typing import Any

from auditkit.plugins.assess.privacy import record
from auditkit.plugins.assess.privacy.record import DpSetting, TrainingRecord

from auditkit.audit import Audit, Calculation, IndexColumn, KeyNumber, Section, Table

ORDER = 300
DELTAS = [10.0**k for k in range(-12, -1)]
# the costs C and D feed the valuation, so the business cover shows them too
HEADLINE = [
    KeyNumber("epsilon", "Privacy budget ε (DP)", missing="none (no differential privacy)"),
    KeyNumber("protection_cost", "Privacy-protection cost C", reports=("compliance", "business")),
    KeyNumber("compliance_cost", "Compliance cost D", reports=("compliance", "business")),
]
INDEX_COLUMNS = [
    IndexColumn(
        "epsilon",
        "Privacy ε",
        missing="no DP",
        note='ε: differential-privacy budget; "no DP" when the model was trained without it.',
    )
]


def assess(audit: Audit) -> Section:
    section = Section(
        name="privacy",
        title="Privacy",
        report="compliance",
        order=ORDER,
        key_metrics=["epsilon", "pii_occurrences", "mia_auc", "protection_cost", "compliance_cost"],
        headline=HEADLINE,
        index_columns=INDEX_COLUMNS,
    )
    rec = record.read_record(audit.model_dir)
    summary: list[str] = []
    setting, eps = dp_part(audit, section, rec, summary)

    from auditkit.plugins.assess.privacy.scan import membership_part, pii_part

    pii = pii_part(audit, section, rec, summary)
    membership_part(audit, section, rec, setting, eps, summary)
    costs_part(audit, section, pii, summary)
    section.summary = "; ".join(summary) + "."
    return section


# ------------------------------------------------------------------------------ DP


def dp_part(
    audit: Audit, section: Section, rec: TrainingRecord, summary: list[str]
) -> tuple[DpSetting | None, float | None]:
    budget = float(audit.config.section("privacy")["epsilon_budget"])
    setting = record.dp_setting(audit, rec)
    section.metrics["epsilon"] = None
    if budget:
        section.metrics["epsilon_budget"] = budget
    if setting is None:
        summary.append("no formal guarantee (not trained with differential privacy)")
        section.add_finding(
            "info",
            "privacy-no-dp",
            "No formal guarantee: the model was not trained with differential privacy "
            "(training.json has no dp block and [privacy.dp] sets no noise_multiplier), so ε is unbounded.",
        )
        if budget:
            section.add_finding(
                "fail",
                "privacy-budget-spent",
                f"[privacy] epsilon_budget = {budget:g}, but without differential privacy ε is unbounded.",
            )
        section.data["dp"] = None
        return None, None

    from auditkit.plugins.assess.privacy import accounting  # dp-accounting takes a second to import

    cfg = audit.config.section("privacy.dp")
    acc = accounting.account(
        setting.noise_multiplier, setting.sample_rate, setting.steps, setting.delta, float(cfg["discretization"])
    )
    section.metrics.update(
        epsilon=acc.pld,
        epsilon_rdp=acc.rdp_improved,
        epsilon_rdp_classic=acc.rdp_classic,
        delta=setting.delta,
        noise_multiplier=setting.noise_multiplier,
        sample_rate=setting.sample_rate,
        steps=setting.steps,
    )
    if setting.recorded_epsilon is not None:
        section.metrics["epsilon_recorded"] = setting.recorded_epsilon
    summary.append(f"ε = {acc.pld:.3g} at δ = {setting.delta:g} (PLD; RDP {acc.rdp_improved:.3g})")

    inputs = {
        "noise_multiplier": setting.noise_multiplier,
        "sample_rate": setting.sample_rate,
        "steps": setting.steps,
        "delta": setting.delta,
    }
    event = "T self-compositions of the Poisson-subsampled Gaussian mechanism (σ, q), dp-accounting 0.6"
    section.calculations += [
        Calculation(
            "epsilon (PLD)",
            f"PLD accountant: {event}; discretisation {acc.discretization:g}",
            {**inputs, "discretization": acc.discretization},
            acc.pld,
        ),
        Calculation(
            "epsilon (RDP, improved conversion)",
            f"RDP accountant: {event}; ε = min_α RDP(α) + log((α−1)/α) − (log δ + log α)/(α−1) (Balle et al. 2020)",
            {**inputs, "order": acc.order_improved},
            acc.rdp_improved,
        ),
        Calculation(
            "epsilon (RDP, classic conversion)",
            f"RDP accountant: {event}; ε = min_α RDP(α) + log(1/δ)/(α−1) (Mironov 2017)",
            {**inputs, "order": acc.order_classic},
            acc.rdp_classic,
        ),
    ]
    labels = accounting.CONVERSION_LABELS
    rows = [
        ["PLD (dp-accounting)", "— (headline)", acc.pld, setting.delta, None],
        ["RDP (dp-accounting)", labels["improved"], acc.rdp_improved, setting.delta, acc.order_improved],
        ["RDP (dp-accounting)", labels["classic"], acc.rdp_classic, setting.delta, acc.order_classic],
    ]
    if setting.recorded_epsilon is not None:
        rows.append(
            [
                f"Opacus, as recorded in {setting.source}",
                setting.recorded_accountant or "?",
                setting.recorded_epsilon,
                setting.delta,
                None,
            ]
        )
    section.tables.append(
        make_table(
            "privacy-accounting",
            f"Differential privacy: ε of the DP-SGD run (from {setting.source})",
            ["accountant", "conversion", "epsilon", "delta", "RDP order"],
            rows,
        )
    )
    _judge_dp(section, setting, acc, budget)

    from auditkit.plugins.assess.privacy import figures

    curves = accounting.epsilon_by_steps(setting.noise_multiplier, setting.sample_rate, setting.steps, setting.delta)
    section.charts.append(figures.epsilon_steps_chart(curves, acc.pld, budget))
    by_delta = accounting.epsilon_by_delta(setting.noise_multiplier, setting.sample_rate, setting.steps, DELTAS)
    section.charts.append(figures.epsilon_delta_chart(by_delta, setting.delta, acc.pld))
    section.data["dp"] = {
        "source": setting.source,
        **inputs,
        "max_grad_norm": setting.max_grad_norm,
        "target_epsilon": setting.target_epsilon,
        "epsilon": {"pld": acc.pld, "rdp_improved": acc.rdp_improved, "rdp_classic": acc.rdp_classic},
        "recorded": {"epsilon": setting.recorded_epsilon, "accountant": setting.recorded_accountant},
        "epsilon_by_steps": curves,
        "epsilon_by_delta": by_delta,
    }
    return setting, acc.pld


def _judge_dp(section: Section, setting: DpSetting, acc: Any, budget: float) -> None:
    if budget:
        used = acc.pld / budget
        section.metrics["budget_used"] = used
        if used > 1:
            section.add_finding(
                "fail",
                "privacy-budget-spent",
                f"ε = {acc.pld:.3g} (PLD) is over the budget of {budget:g} ({used:.0%} spent).",
            )
        elif used > 0.8:
            section.add_finding(
                "warn",
                "privacy-budget-nearly-spent",
                f"ε = {acc.pld:.3g} (PLD) has used {used:.0%} of the budget of {budget:g}.",
            )
    if setting.recorded_epsilon is not None:
        # Opacus's "rdp" accountant uses the improved conversion; its "prv" and "gdp" are closest to PLD
        ours = acc.rdp_improved if (setting.recorded_accountant or "").lower() == "rdp" else acc.pld
        if ours > setting.recorded_epsilon * 1.05:
            section.add_finding(
                "warn",
                "privacy-epsilon-understated",
                f"{setting.source} records ε = {setting.recorded_epsilon:.3g} (Opacus, {setting.recorded_accountant}), "
                f"but dp-accounting gives {ours:.3g} for the same σ, q, steps and δ.",
            )
        else:
            section.add_finding(
                "info",
                "privacy-epsilon-recorded",
                f"Opacus recorded ε = {setting.recorded_epsilon:.3g} ({setting.recorded_accountant}); dp-accounting "
                f"gives {acc.pld:.3g} (PLD) and {acc.rdp_improved:.3g} (RDP, improved conversion).",
            )
    if setting.target_epsilon and acc.pld > setting.target_epsilon * 1.01:
        section.add_finding(
            "warn",
            "privacy-target-missed",
            f"training aimed at ε = {setting.target_epsilon:g}, but the run's ε is {acc.pld:.3g} (PLD).",
        )


# ------------------------------------------------------------------------------ costs


def costs_part(audit: Audit, section: Section, pii: Any, summary: list[str]) -> None:
    from auditkit.plugins.assess.privacy.costs import cost_sources, governance_costs

    cfg = audit.config.section("privacy.costs")
    records = int(cfg.get("records") or 0) or pii.training_rows or (audit.dataset.rows if audit.dataset else 0)
    costs = governance_costs(cfg, records, pii.findings, pii.occurrences)
    section.metrics["protection_cost"] = costs.protection
    section.metrics["compliance_cost"] = costs.compliance
    for kind, symbol, total in (("protection", "C", costs.protection), ("compliance", "D", costs.compliance)):
        items = [i for i in costs.items if i.kind == kind]
        section.calculations.append(
            Calculation(
                f"{kind}_cost",
                f"{symbol} = sum of the {kind} cost items ({len(items)})",
                {i.name: i.amount for i in items},
                total,
                cost_sources(kind, costs.items, audit.config.source),
            )
        )
    if costs.items:
        rows = [
            [i.kind, i.name, i.basis, ", ".join(f"{k} {_num(v)}" for k, v in i.inputs.items()), i.amount]
            for i in costs.items
        ]
        rows += [
            ["protection", "total C", "", "", costs.protection],
            ["compliance", "total D", "", "", costs.compliance],
        ]
        section.tables.append(
            make_table("privacy-costs", "Data-governance costs", ["kind", "item", "basis", "inputs", "amount"], rows)
        )
        summary.append(f"C = {costs.protection:,.2f}, D = {costs.compliance:,.2f}")
    else:
        section.add_finding(
            "info",
            "privacy-no-costs",
            "No data-governance costs are configured ([privacy.costs] protection and compliance), so C = D = 0.",
        )
    section.data["costs"] = {
        "records": records,
        "items": [i.to_json() for i in costs.items],
        "protection_cost": costs.protection,
        "compliance_cost": costs.compliance,
    }


def make_table(name: str, caption: str, columns: list[str], rows: list[list[Any]]) -> Table:
    import pandas as pd

    return Table(caption=caption, frame=pd.DataFrame(rows, columns=columns), name=name)


def _num(value: float) -> str:
    return f"{int(value)}" if float(value).is_integer() else f"{value:g}"
