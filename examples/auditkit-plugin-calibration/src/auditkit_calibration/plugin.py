"""The auditkit hooks of the calibration plugin (entry point ``calibration`` in group ``auditkit``).

This module is imported whenever auditkit starts (``auditkit --help`` too), so it imports
only auditkit's light public API; numpy, pandas and matplotlib are imported by
:mod:`auditkit_calibration.assess` inside the hook body.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from auditkit import ConfigSection, Option, hookimpl

from auditkit_calibration import summary

if TYPE_CHECKING:
    from auditkit import Audit, Section

# Which auditkit this plugin was written for; auditkit refuses to load it otherwise and
# says so in `auditkit plugins` and in every audit (see auditkit.compat).
auditkit_requires = ">=0.1,<1"
auditkit_hook_api = 1

SECTION = "calibration"
TEMPLATES = Path(__file__).parent / "templates"


@hookimpl
def auditkit_config_schema() -> ConfigSection:
    return ConfigSection(
        SECTION,
        [
            Option("bins", "int", 10, "number of probability bins", minimum=2, maximum=100),
            Option(
                "strategy",
                "str",
                "uniform",
                "bin edges: uniform widths on [0, 1], or quantile (equally many rows per bin)",
                choices=("uniform", "quantile"),
            ),
            Option(
                "kind",
                "str",
                "auto",
                "positive: P(positive class) against the true label (binary tasks); top-label: "
                "confidence of the predicted class against correctness; auto: positive when binary",
                choices=("auto", "positive", "top-label"),
            ),
            Option("warn_ece", "float", 0.05, "warn when the ECE is above this", minimum=0, maximum=1),
            Option("max_ece", "float", 0.10, "tolerance: fail when the ECE is above this", minimum=0, maximum=1),
            Option(
                "sensitive",
                "list[str]",
                [],
                "columns to compute ECE per group for (empty: the [data] sensitive columns)",
            ),
            Option(
                "min_group_size",
                "int",
                30,
                "groups with fewer rows are reported but not judged",
                minimum=1,
            ),
            Option(
                "bootstrap",
                "int",
                500,
                "bootstrap resamples for the ECE intervals and the noise floor (0: none)",
                minimum=0,
                maximum=20000,
            ),
            Option("confidence", "float", 0.95, "level of the bootstrap intervals", minimum=0.5, maximum=0.999),
            Option("seed", "int", 0, "seed of the bootstrap", minimum=0, maximum=2**32 - 1),
        ],
        help="Calibration: do predicted probabilities match observed frequencies, overall and per group?",
    )


@hookimpl
def auditkit_template_dirs() -> Path:
    return TEMPLATES


@hookimpl
def auditkit_assess(audit: Audit) -> Section | None:
    from auditkit_calibration.assess import assess

    return assess(audit)


@hookimpl
def auditkit_report_formats() -> list[str]:
    # a format of our own: auditkit accepts `--format txt` because this plugin declares it
    return [summary.FORMAT]


@hookimpl
def auditkit_render(audit: Audit, out_dir: Path, formats: list[str]) -> list[Path] | None:
    if summary.FORMAT not in formats:
        return None
    return [summary.write(audit, out_dir, SECTION)]
