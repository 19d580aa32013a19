"""Fixtures of the plugin tests: a real written report folder for the publishers."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditkit.testing import run_cli


@pytest.fixture(scope="session")
def written_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real audit (predictions mode, JSON and Markdown reports), written once for the publishing tests."""
    import numpy as np
    import pandas as pd

    root = tmp_path_factory.mktemp("publish-audit")
    model = root / "bert-tiny"
    model.mkdir()
    rng = np.random.default_rng(0)
    score = rng.random(200).round(4)
    frame = pd.DataFrame({"score": score, "outcome": (rng.random(200) < score).astype(int),
                          "group": rng.choice(["a", "b"], 200)})
    frame.to_csv(model / "scores.csv", index=False)
    (model / "auditkit.toml").write_text(
        '[data]\npath = "scores.csv"\nlabel = "outcome"\nsensitive = ["group"]\n\n'
        '[predictions]\nfile = "scores.csv"\nscore = "score"\nthreshold = 0.5\n', encoding="utf-8")
    result = run_cli(["run", model, "--out", root / "out", "--format", "json,md", "-q", "--no-cache"])
    assert (root / "out" / "bert-tiny" / "audit.json").is_file(), result.stderr
    return root / "out" / "bert-tiny"
