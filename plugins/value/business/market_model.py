"""The market model built from ``[market]``: one curve, or named segments sharing a budget.

Both plugins use it: the market plugin reports the deterministic optimum, and the
valuation plugin re-solves it for every Monte Carlo draw and tornado bar, so that
uncertainty in a, b, k or the budget flows into the risk-adjusted value. Every input is
a :class:`~.distributions.Param` named ``market.<key>`` (``market.segments.<name>.<key>``
for a segment), and :meth:`MarketModel.solve` takes values by those names.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditkit.plugins.value.business.allocation import allocate
from auditkit.plugins.value.business.curves import Curve, Fit, argmax_net, fit_curve
from auditkit.plugins.value.business.distributions import Param, to_param

from auditkit.config import DEFAULT, REVIEWER
from auditkit.errors import ConfigError
from auditkit.safe_text import show_origin

# key → (lower, upper bound) of curve inputs; a curve uses the keys of its shape only
BOUNDS: dict[str, tuple[float, float]] = {
    "a": (0.0, math.inf),
    "b": (0.0, math.inf),
    "half_saturation": (0.0, math.inf),
    "steepness": (0.05, 20.0),
    "k": (0.0, math.inf),
    "budget": (0.0, math.inf),
}
SHAPE_KEYS = {"saturating": ("a", "b"), "logarithmic": ("a", "b"), "hill": ("a", "half_saturation", "steepness")}


@dataclass
class Segment:
    """One market (the whole market when there are no segments)."""

    name: str
    shape: str
    prefix: str  # parameter name prefix: "market." or "market.segments.<name>."
    fit: Fit | None = None

    def curve(self, values: dict[str, float]) -> Curve:
        get = lambda key: values[self.prefix + key]  # noqa: E731
        if self.shape == "hill":
            return Curve("hill", get("a"), h=get("half_saturation"), s=get("steepness"))
        return Curve(self.shape, get("a"), b=get("b"))


@dataclass(frozen=True)
class SegmentResult:
    name: str
    curve: Curve
    k: float
    spend: float
    revenue: float
    net: float
    net_marginal: float  # f'(P) − k at the chosen spend


@dataclass
class MarketResult:
    """P*, f(P*), g(P*) and what a reviewer needs to check them."""

    spend: float
    revenue: float
    net: float
    budget: float
    binding: bool
    method: str
    net_marginal_at_budget: float
    marginal_at_budget: float | None = None
    unconstrained_spend: float | None = None
    shadow_price: float | None = None
    segments: list[SegmentResult] = field(default_factory=list)


@dataclass
class MarketModel:
    segments: list[Segment]
    params: dict[str, Param]
    segmented: bool

    @property
    def base(self) -> dict[str, float]:
        return {name: p.base for name, p in self.params.items()}

    def net(self, values: dict[str, float]) -> float:
        """g(P*) only: the number the value chain needs, without the report extras."""
        return self.solve(values, details=False).net

    def solve(self, values: dict[str, float] | None = None, details: bool = True) -> MarketResult:
        values = {**self.base, **(values or {})}
        budget = values["market.budget"]
        curves = [s.curve(values) for s in self.segments]
        ks = [values[s.prefix + "k"] for s in self.segments]
        if not self.segmented:
            curve, k = curves[0], ks[0]
            opt = argmax_net(curve, k, budget)
            marginal = curve.marginal(budget)
            row = SegmentResult(
                self.segments[0].name, curve, k, opt.spend, opt.revenue, opt.net, curve.marginal(opt.spend) - k
            )
            return MarketResult(
                opt.spend,
                opt.revenue,
                opt.net,
                budget,
                opt.spend >= budget and marginal > k,
                opt.method,
                marginal - k,
                marginal,
                opt.unconstrained,
                None,
                [row],
            )
        alloc = allocate(curves, ks, budget)
        rows = []
        for seg, curve, k, spend in zip(self.segments, curves, ks, alloc.spends, strict=True):
            revenue = curve.revenue(spend)
            rows.append(
                SegmentResult(seg.name, curve, k, spend, revenue, revenue - k * spend, curve.marginal(spend) - k)
            )
        at_budget = allocate(curves, ks, budget, spend_all=True).shadow_price if details else math.nan
        return MarketResult(
            sum(r.spend for r in rows),
            sum(r.revenue for r in rows),
            sum(r.net for r in rows),
            budget,
            alloc.binding,
            "equal marginal returns (closed-form P_i(λ), Brent root for λ)",
            at_budget,
            None,
            None,
            alloc.shadow_price,
            rows,
        )

    @classmethod
    def from_config(
        cls,
        cfg: dict[str, Any],
        base_dir: str | Path | None,
        origin: Callable[[str], str] = lambda key: "config",
        kind: Callable[[str], str] | None = None,
    ) -> MarketModel:
        """Build the model from the validated ``[market]`` values (fits happen here, once).

        ``kind`` says who set a key (``Config.source``); each Param's ``source`` is that kind.
        Without it a key with an origin counts as the reviewer's.
        """
        params: dict[str, Param] = {}
        source = kind or (lambda key: REVIEWER if origin(key) != "defaults" else DEFAULT)
        params["market.budget"] = to_param(
            "market.budget", cfg["budget"], *BOUNDS["budget"], source("market.budget"), "budget"
        )
        specs = cfg.get("segments") or []
        segmented = bool(specs)
        segments = []
        for spec in specs or [{"name": "market"}]:
            name = str(spec.get("name", "market"))
            merged = {**cfg, **spec}
            prefix = f"market.segments.{name}." if segmented else "market."
            shape = merged["curve"]
            where = "market.segments" if segmented and "curve" in spec else "market.curve"
            if segmented and shape == "hill":
                raise ConfigError(
                    f"{origin(where)}: [market] segment {name!r}: curve = 'hill' cannot share a budget "
                    "(an S-curve has no equal-marginal optimum); use saturating, logarithmic or fit"
                )
            fit = None
            if shape == "fit":
                points = _points(merged, spec, base_dir, origin, name if segmented else None)
                allowed = merged["fit_shape"]
                if segmented and allowed == "hill":
                    raise ConfigError(
                        f"{origin('market.segments')}: [market] segment {name!r}: "
                        "fit_shape = 'hill' cannot share a budget; use saturating, logarithmic or auto"
                    )
                try:
                    fit = fit_curve(points, allowed, concave_only=segmented)
                except ValueError as exc:
                    raise ConfigError(f"{origin('market.points')}: [market] points: {exc}") from None
                shape = fit.curve.shape
                for key, value in fit.curve.params().items():
                    params[prefix + key] = Param(
                        prefix + key,
                        value,
                        lower=BOUNDS[key][0],
                        upper=BOUNDS[key][1],
                        source=source("market.points_file" if merged.get("points_file") else "market.points"),
                        label=_label(prefix, key),
                    )
            else:
                for key in SHAPE_KEYS[shape]:
                    given = segmented and key in spec
                    params[prefix + key] = to_param(
                        prefix + key,
                        merged[key],
                        *BOUNDS[key],
                        source("market.segments" if given else f"market.{key}"),
                        _label(prefix, key),
                    )
            given_k = segmented and "k" in spec
            params[prefix + "k"] = to_param(
                prefix + "k",
                merged["k"],
                *BOUNDS["k"],
                source("market.segments" if given_k else "market.k"),
                _label(prefix, "k"),
            )
            segments.append(Segment(name, shape, prefix, fit))
        return cls(segments, params, segmented)


def _label(prefix: str, key: str) -> str:
    words = {
        "a": "a (revenue scale)",
        "b": "b (response rate)",
        "half_saturation": "h (half-saturation spend)",
        "steepness": "s (steepness)",
        "k": "k (cost per unit spend)",
    }
    segment = prefix.removeprefix("market.segments.").rstrip(".") if prefix != "market." else ""
    return f"{segment}: {words[key]}" if segment else words[key]


def _points(
    merged: dict[str, Any],
    spec: dict[str, Any],
    base_dir: str | Path | None,
    origin: Callable[[str], str],
    segment: str | None,
) -> list[tuple[float, float]]:
    """Observed (spend, revenue) points: inline ``points`` or a CSV ``points_file``."""
    where = f"[market] segment {segment!r}" if segment else "[market]"
    if merged.get("points_file"):
        shown = show_origin(origin("market.points_file"), base_dir)
        points = _points_file(merged["points_file"], base_dir, f"{shown}: {where}")
    else:
        points = [(float(p), float(r)) for p, r in merged.get("points") or []]
    if len(points) < 3:
        raise ConfigError(
            f"{origin('market.points')}: {where} curve = 'fit' needs at least 3 (spend, revenue) "
            f"points, got {len(points)}; add points = [[spend, revenue], ...] or points_file"
        )
    if not all(math.isfinite(p) and math.isfinite(r) and p >= 0 for p, r in points):
        raise ConfigError(f"{origin('market.points')}: {where} points need finite values and spend >= 0")
    if len({p for p, _ in points}) < 2:
        raise ConfigError(f"{origin('market.points')}: {where} points need at least two different spends")
    return points


def _points_file(value: str, base_dir: str | Path | None, where: str) -> list[tuple[float, float]]:
    """(spend, revenue) rows of a CSV; errors name the file as a report may show it, never a cell."""
    from auditkit.safe_text import describe_columns, not_text, show_path

    path = Path(value)
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    where = f"{where} points_file = {show_path(path, base_dir)!r}"
    fix = "give a CSV with numeric spend,revenue columns"
    problem = not_text(path) if path.is_file() else "does not exist"
    if problem:
        raise ConfigError(f"{where}: the file {problem}; {fix}")
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            columns = reader.fieldnames or []
    except (OSError, UnicodeError, csv.Error) as exc:
        raise ConfigError(f"{where}: cannot read it as CSV ({type(exc).__name__}); {fix}") from None
    missing = [c for c in ("spend", "revenue") if c not in columns]
    if missing:
        shown = describe_columns(columns)
        raise ConfigError(f"{where}: no column(s) {', '.join(missing)}; columns are: {shown}; {fix}")
    points = []
    for line, row in enumerate(rows, start=2):
        try:
            points.append((float(row["spend"]), float(row["revenue"])))
        except (TypeError, ValueError):  # the cell itself is not quoted: the file may be anyone's
            raise ConfigError(f"{where}: line {line}: spend or revenue is not a number; {fix}") from None
    return points
