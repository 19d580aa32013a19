"""Ten million rows: the host's data path keeps memory bounded by the data's size.

The bound, measured on the real CLI in a subprocess (peak RSS of that process alone):
    peak RSS <= 250 MB + 8 x (size of the CSV file)
pandas' C parser holds the file's text while it builds the columns, so the peak is a
fixed multiple of the file; every step after it (label mapping, predicted labels, the
sha256, which streams) stays O(rows) in references, not in new Python objects. A
110 MB, 10-million-row file peaks near 850 MB (1 million rows: about 180 MB).

Only the host's path runs here (load, align, predictions mode, policy, audit.json);
the domain plugins' own scaling is their owners' to test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from auditkit.manager import BUILTIN_PLUGINS

ROWS = 10_000_000
HOST_PATH = {"core", "tabular", "predictions", "policy", "json"}
# a fresh parent whose only child is auditkit, so RUSAGE_CHILDREN is that child's peak
MEASURE = """
import resource, subprocess, sys
cli = "import sys; from auditkit.cli import main; sys.exit(main())"
code = subprocess.call([sys.executable, "-c", cli, *sys.argv[1:]])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)
"""


def _ten_million_rows(model_dir: Path, rows: int = ROWS) -> Path:
    """A predictions-mode dir whose scores.csv holds ``rows`` rows, written in well under a second."""
    rng = np.random.default_rng(0)
    block = 10_000
    score = rng.random(block)
    outcome = (rng.random(block) < score).astype(int)
    group = rng.choice(["a", "b", "c"], block)
    lines = "".join(f"{s:.4f},{o},{g}\n" for s, o, g in zip(score, outcome, group, strict=True)).encode()
    model_dir.mkdir()
    with open(model_dir / "scores.csv", "wb") as handle:
        handle.write(b"score,outcome,group\n")
        for _ in range(rows // block):
            handle.write(lines)
    (model_dir / "auditkit.toml").write_text(
        '[data]\npath = "scores.csv"\nlabel = "outcome"\nsensitive = ["group"]\n\n'
        '[predictions]\nfile = "scores.csv"\nscore = "score"\nthreshold = 0.5\n'
    )
    return model_dir / "scores.csv"


@pytest.mark.slow
def test_ten_million_rows_in_bounded_memory(tmp_path: Path) -> None:
    data = _ten_million_rows(tmp_path / "vendor")
    size = data.stat().st_size
    out = tmp_path / "out"
    disabled = [arg for name, _ in BUILTIN_PLUGINS if name not in HOST_PATH for arg in ("-p", f"no:{name}")]
    args = ["run", str(tmp_path / "vendor"), "--out", str(out), "--format", "json", "-q", *disabled]
    proc = subprocess.run(
        [sys.executable, "-c", MEASURE, *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    peak_kb, code = map(int, proc.stdout.split()[-2:])
    assert code == 0, proc.stderr
    audit = json.loads((out / "vendor" / "audit.json").read_text())
    assert audit["dataset"]["rows"] == ROWS
    assert audit["predictions"]["rows"] == ROWS
    bound = 250e6 + 8 * size
    peak = peak_kb * 1024
    assert peak <= bound, f"peak RSS {peak / 1e6:.0f} MB > bound {bound / 1e6:.0f} MB for a {size / 1e6:.0f} MB file"
