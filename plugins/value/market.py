"""Market strategy: how much to spend on promotion, P* = argmax over [0, budget] of f(P) − k·P.

f is a response curve chosen in ``[market]`` (saturating, logarithmic, hill, or a
least-squares fit of observed points), k the cost of one unit of spend. Named segments
(``[[market.segments]]``) split one budget by equal marginal returns. The section goes
to the business report (order 600); the valuation plugin reads ``net_at_optimum``.
"""

from __future__ import annotations

from typing import Any

from auditkit.plugins.value.business.distributions import check_value, validator

from auditkit import Audit, ConfigSection, Option, Section, hookimpl

CURVES = ("saturating", "logarithmic", "hill", "fit")
FIT_SHAPES = ("auto", "saturating", "logarithmic", "hill")
SEGMENT_KEYS = ("name", "curve", "a", "b", "k", "points", "points_file", "fit_shape")


def check_points(value: Any) -> None:
    """``points = [[spend, revenue], ...]`` with spend >= 0."""
    ok = isinstance(value, list) and all(
        isinstance(pair, list)
        and len(pair) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in pair)
        and pair[0] >= 0
        for pair in value
    )
    if not ok:
        raise ValueError("a list of [spend, revenue] pairs of numbers with spend >= 0, e.g. [[0, 0], [1000, 420]]")


def check_segments(value: list[dict[str, Any]]) -> None:
    """Each ``[[market.segments]]`` table: a unique name and valid curve keys."""
    seen: set[str] = set()
    for number, seg in enumerate(value, start=1):
        name = seg.get("name")
        where = f"segment {number}" + (f" {name!r}" if isinstance(name, str) else "")
        if not isinstance(name, str) or not name.strip() or "." in name:
            raise ValueError(
                f'a name (text without dots) in every [[market.segments]] table; add name = "..." to {where}'
            )
        if name in seen:
            raise ValueError(f"unique segment names; {name!r} appears twice")
        seen.add(name)
        unknown = sorted(set(seg) - set(SEGMENT_KEYS))
        if unknown:
            raise ValueError(f"only keys {', '.join(SEGMENT_KEYS)} in a segment; {where} has {', '.join(unknown)}")
        if seg.get("curve", "saturating") not in ("saturating", "logarithmic", "fit"):
            raise ValueError(
                f"curve saturating, logarithmic or fit in {where} (concave curves share a budget by "
                f"equal marginal returns; an S-shaped hill curve does not)"
            )
        if seg.get("fit_shape", "auto") not in ("auto", "saturating", "logarithmic"):
            raise ValueError(f"fit_shape auto, saturating or logarithmic in {where}")
        for key in ("a", "b", "k"):
            if key in seg:
                try:
                    check_value(seg[key], 0.0)
                except ValueError as exc:
                    raise ValueError(f"{where} {key} = {seg[key]!r} to be {exc}") from None
        if "points" in seg:
            check_points(seg["points"])
        if "points_file" in seg and not isinstance(seg["points_file"], str):
            raise ValueError(f"points_file as a string in {where}")


@hookimpl
def auditkit_config_schema() -> ConfigSection:
    money = "a number or a distribution table (normal, triangular, uniform)"
    return ConfigSection(
        "market",
        [
            Option("currency", "str", "EUR", "currency unit of every amount in the business report"),
            Option(
                "curve",
                "str",
                "saturating",
                "response curve f(P): saturating a·(1 − e^(−b·P)), logarithmic "
                "a·ln(1 + b·P), hill a·P^s/(h^s + P^s), or fit (least squares on points)",
                choices=CURVES,
            ),
            Option("a", "any", 50000.0, f"revenue scale a of the curve (money a year); {money}", validate=validator(0)),
            Option("b", "any", 0.0001, f"response rate b (per unit of spend); {money}", validate=validator(0)),
            Option(
                "half_saturation",
                "any",
                20000.0,
                f"hill curve: spend h at which revenue is a/2; {money}",
                validate=validator(0),
            ),
            Option(
                "steepness",
                "any",
                2.0,
                f"hill curve: steepness s (s > 1 gives an S-curve); {money}",
                validate=validator(0.05, 20),
            ),
            Option(
                "k", "any", 1.0, f"cost k of one unit of spend in g(P) = f(P) − k·P; {money}", validate=validator(0)
            ),
            Option(
                "budget", "any", 100000.0, f"most that may be spent, P in [0, budget]; {money}", validate=validator(0)
            ),
            Option(
                "points",
                "any",
                [],
                "curve = fit: observed [[spend, revenue], ...] pairs (at least 3)",
                validate=check_points,
            ),
            Option(
                "points_file",
                "str",
                "",
                "curve = fit: CSV with spend,revenue columns, relative to the model dir",
                path=True,
            ),
            Option("fit_shape", "str", "auto", "curve = fit: shape to fit; auto keeps the best R²", choices=FIT_SHAPES),
            Option("min_r2", "float", 0.8, "a fit with a lower R² is reported as a warning", minimum=0, maximum=1),
            Option(
                "segments",
                "list[table]",
                [],
                "[[market.segments]] tables (name, curve, a, b, k, points, "
                "points_file, fit_shape; missing keys come from [market]) that share the budget",
                validate=check_segments,
            ),
        ],
        help="Market strategy: response curve f(P) of promotion spend, cost k, budget, optional segments.",
    )


@hookimpl
def auditkit_value(audit: Audit) -> Section:
    from auditkit.plugins.value.business.market_report import build_section

    return build_section(audit)
