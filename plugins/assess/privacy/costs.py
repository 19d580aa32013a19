"""Data-governance costs: protection C and compliance D in ``V_net = max(V − C − D, 0)``.

``[privacy.costs]`` lists items; each is a fixed ``amount``, ``per_record`` × records,
``hours`` × ``rate``, or ``quantity`` × ``unit_cost``. Optional remediation prices each
PII finding (a data set, column and type) and each PII occurrence; it counts as
protection, since removing or masking personal data is protecting it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# the ways an item can be priced: the keys it needs and how they multiply
_BASES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("amount",), "amount"),
    (("per_record",), "per_record × records"),
    (("hours", "rate"), "hours × rate"),
    (("quantity", "unit_cost"), "quantity × unit_cost"),
)


def validate_items(items: Any) -> None:
    """Config check for a cost list: each item has a name and exactly one way to price it."""
    for i, item in enumerate(items, start=1):
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f'item {i} needs a name, e.g. {{ name = "DPIA", amount = 4000 }}')
        matches = [keys for keys, _ in _BASES if all(k in item for k in keys)]
        if len(matches) != 1:
            raise ValueError(
                f"item {i} ({name!r}) needs exactly one of: amount; per_record; hours and rate; quantity and unit_cost"
            )
        allowed = {"name", "note", *matches[0]}
        extra = sorted(set(item) - allowed)
        if extra:
            raise ValueError(f"item {i} ({name!r}) has unknown key(s) {', '.join(extra)}")
        for key in matches[0]:
            value = item[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"item {i} ({name!r}): {key} must be a number >= 0, got {value!r}")


@dataclass
class CostItem:
    kind: str  # "protection" (C) or "compliance" (D)
    name: str
    basis: str
    inputs: dict[str, float]
    amount: float

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "basis": self.basis, "inputs": self.inputs, "amount": self.amount}


def price(kind: str, item: dict[str, Any], records: int) -> CostItem:
    for keys, basis in _BASES:
        if all(k in item for k in keys):
            inputs = {k: float(item[k]) for k in keys}
            if keys == ("per_record",):
                inputs["records"] = float(records)
            amount = 1.0
            for value in inputs.values():
                amount *= value
            return CostItem(kind, str(item["name"]), basis, inputs, round(amount, 2))
    raise ValueError(f"cost item {item!r} has no price")  # validate_items rules this out


@dataclass
class Costs:
    items: list[CostItem]

    @property
    def protection(self) -> float:
        return round(sum(i.amount for i in self.items if i.kind == "protection"), 2)

    @property
    def compliance(self) -> float:
        return round(sum(i.amount for i in self.items if i.kind == "compliance"), 2)


def governance_costs(cfg: dict[str, Any], records: int, pii_findings: int, pii_occurrences: int) -> Costs:
    """Price every configured item; remediation adds one protection item each."""
    items = [price("protection", item, records) for item in cfg.get("protection", [])]
    items += [price("compliance", item, records) for item in cfg.get("compliance", [])]
    per_finding = float(cfg.get("remediation_per_finding", 0) or 0)
    if per_finding:
        items.append(
            CostItem(
                "protection",
                "PII remediation per finding",
                "findings × remediation_per_finding",
                {"findings": float(pii_findings), "remediation_per_finding": per_finding},
                round(pii_findings * per_finding, 2),
            )
        )
    per_occurrence = float(cfg.get("remediation_per_occurrence", 0) or 0)
    if per_occurrence:
        items.append(
            CostItem(
                "protection",
                "PII remediation per occurrence",
                "occurrences × remediation_per_occurrence",
                {"occurrences": float(pii_occurrences), "remediation_per_occurrence": per_occurrence},
                round(pii_occurrences * per_occurrence, 2),
            )
        )
    return Costs(items)


def cost_sources(kind: str, items: list[CostItem], source: Callable[[str], str]) -> dict[str, str]:
    """Who set each input of the C (``protection``) or D (``compliance``) sum, for its Calculation.

    ``source`` is ``Config.source``. A configured item carries its list's source; a remediation
    item the source of its rate (the PII counts are measured). The list itself is named too,
    so an empty sum (C = 0, nothing configured) reads "default", not "measured".
    """
    sources = {kind: source(f"privacy.costs.{kind}")}
    for item in items:
        if item.kind != kind:
            continue
        rate = next((k for k in item.inputs if k.startswith("remediation_")), None)
        sources[item.name] = source(f"privacy.costs.{rate or kind}")
    return sources
