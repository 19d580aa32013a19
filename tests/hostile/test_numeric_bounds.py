"""Absurd numbers are a one-line usage error, never a crash, a hang or a segfault.

`[fairness] bootstrap = 200000000` once allocated until the process died. Every numeric
option that sizes work (replicates, rows, texts, steps, threads, lengths) declares a
maximum; the few left open are amounts whose size costs nothing (money, seconds, a cap).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditkit.manager import get_plugin_manager
from auditkit.runner import Runner, RunOptions
from auditkit.testing import run_cli

# a large value of these costs no work: money, recorded seconds, a row cap ("at most N"),
# a decision threshold on the vendor's own score scale
OPEN_ENDED = {
    "data.max_rows",
    "privacy.pii.max_rows",
    "privacy.costs.remediation_per_finding",
    "privacy.costs.remediation_per_occurrence",
    "privacy.costs.records",
    "privacy.dp.dataset_size",
    "predictions.threshold",
    "training.hourly_rate",
    "training.wall_seconds",
}


def numeric_options():
    schemas = Runner(get_plugin_manager(), RunOptions()).schemas()
    for name, section in schemas.items():
        if section.plugin not in {None, "core"} and not section.plugin.isidentifier():
            continue
        for option in section.options:
            if option.type in ("int", "float"):
                yield f"{name}.{option.name}", option


def test_every_work_sizing_number_has_a_maximum() -> None:
    unbounded = sorted(
        key for key, option in numeric_options() if option.maximum is None and key not in OPEN_ENDED
        and not key.startswith(("calibration.", "market.", "valuation."))  # money and plugin-owned business inputs
    )
    assert unbounded == [], f"numeric options without a maximum: {unbounded}"


def test_seeds_are_within_what_numpy_takes() -> None:
    for key, option in numeric_options():
        if key.endswith(".seed"):
            assert option.minimum == 0 and option.maximum == 2**32 - 1, key


@pytest.mark.parametrize(
    "setting",
    ["fairness.bootstrap=200000000", "fairness.auc_bootstrap=1000000000", "model.batch_size=1000000000",
     "privacy.dp.steps=1000000000000", "fairness.seed=-1", "privacy.dp.noise_multiplier=1e300"],
)
def test_absurd_number_is_one_line_exit_2(scores_dir, scores_frame, tmp_path: Path, setting: str) -> None:
    out = tmp_path / "out"
    result = run_cli(["run", scores_dir(scores_frame()), "--out", out, "--format", "json", "--set", setting])
    assert result.exit_code == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("auditkit: error:")]
    assert len(lines) == 1 and setting.split("=")[0].rpartition(".")[2] in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not list(out.glob("*/audit.json"))
