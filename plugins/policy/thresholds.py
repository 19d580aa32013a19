"""Policy rules across sections: thresholds on any metric, set in ``[policy]``.

Example: ``[policy] fail_below = { "fairness.score" = 0.8 }`` fails an audit whose
fairness score is under 0.8, whatever the fairness plugin's own verdict.
"""

from __future__ import annotations

from auditkit import Audit, ConfigSection, Finding, Option, hookimpl

_RULES = (
    ("fail_below", "fail", "<"),
    ("warn_below", "warn", "<"),
    ("fail_above", "fail", ">"),
    ("warn_above", "warn", ">"),
)


def _dotted_names(value: dict) -> None:
    for key in value:
        if "." not in key:
            raise ValueError(f'metric names are section.metric, e.g. "fairness.score"; got {key!r}')


_SEVERITY = ("info", "warn", "fail")


def _looser_below(value: dict, reviewer: dict) -> bool:
    """A model dir's rules are looser when one of the reviewer's is gone or set lower."""
    return any(metric not in value or value[metric] < limit for metric, limit in reviewer.items())


def _looser_above(value: dict, reviewer: dict) -> bool:
    return any(metric not in value or value[metric] > limit for metric, limit in reviewer.items())


@hookimpl
def auditkit_config_schema() -> ConfigSection:
    return ConfigSection(
        "policy",
        [
            Option(
                name,
                "dict[float]",
                {},
                f"{severity} when a metric ({'section.metric'}) is {word} the value",
                validate=_dotted_names,
                weaker=_looser_below if word == "below" else _looser_above,
            )
            for name, severity, word in ((n, s, "below" if op == "<" else "above") for n, s, op in _RULES)
        ]
        + [
            Option(
                "missing",
                "str",
                "warn",
                "what a rule on a metric the audit lacks gives",
                choices=("info", "warn", "fail"),
                weaker=lambda value, reviewer: _SEVERITY.index(value) < _SEVERITY.index(reviewer),
            )
        ],
        help="Thresholds on any section's metrics, judged after every plugin has run.",
    )


@hookimpl
def auditkit_policy(audit: Audit) -> list[Finding]:
    rules = audit.config.section("policy")
    found: list[Finding] = []
    for key, severity, op in _RULES:
        for metric, limit in rules.get(key, {}).items():
            value = audit.metric(metric)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                found.append(
                    Finding(
                        rules["missing"],
                        "policy-metric-missing",
                        f"policy {key} {metric} = {limit:g}: the audit has no number for {metric}",
                    )
                )
                continue
            broken = value < limit if op == "<" else value > limit
            word = "below" if op == "<" else "above"
            if broken:
                found.append(
                    Finding(
                        severity,
                        f"policy-{key.replace('_', '-')}",
                        f"{metric} = {value:.4g} is {word} the policy limit {limit:g} ([policy] {key})",
                    )
                )
            else:
                found.append(
                    Finding(
                        "info",
                        "policy-met",
                        f"{metric} = {value:.4g} meets the policy limit {limit:g} ([policy] {key})",
                    )
                )
    return found
