"""index.html lists every model folder under --out, read back from audit.json; an unreadable one is listed as such."""

from __future__ import annotations

import json
import re
from pathlib import Path

from auditkit.testing import run_cli, write_predictions_dir

QUICK = ["-p", "no:training", "-p", "no:privacy", "--format", "html,json"]


def predictions_dir(path: Path, seed: int) -> Path:
    return write_predictions_dir(path, seed, extra_toml="[fairness]\nbootstrap = 0\n")


def rows(index: Path) -> dict[str, str]:
    """Model name → its table row's HTML."""
    html = index.read_text(encoding="utf-8")
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    found = {}
    for row in re.findall(r"<tr>.*?</tr>", body, flags=re.S):
        name = re.search(r'<a href="([^"/]+)/compliance.html">', row)
        if name:
            found[name.group(1)] = row
    return found


def test_index_keeps_the_models_of_earlier_runs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    alpha = predictions_dir(tmp_path / "alpha", seed=1)
    beta = predictions_dir(tmp_path / "beta", seed=2)
    first = run_cli(["run", alpha, "--out", out, *QUICK])
    assert first.exit_code in (0, 1), first.stderr
    alpha_live = rows(out / "index.html")["alpha"]  # rendered from the live Audit
    second = run_cli(["run", beta, "--out", out, *QUICK])
    assert second.exit_code in (0, 1), second.stderr
    listed = rows(out / "index.html")
    assert sorted(listed) == ["alpha", "beta"]
    # read back from alpha/audit.json, the row says exactly what the live audit's row said
    assert listed["alpha"] == alpha_live
    verdict = json.loads((out / "alpha" / "audit.json").read_text())["verdict"]
    assert f"badge-{verdict}" in listed["alpha"] or verdict.upper() in listed["alpha"]
    assert "2 models" in (out / "index.html").read_text(encoding="utf-8")


def test_an_unreadable_folder_is_listed_as_such(tmp_path: Path) -> None:
    out = tmp_path / "out"
    for name, text in (("broken", "{not json"), ("foreign", '["a list"]')):
        (out / name).mkdir(parents=True)
        (out / name / "audit.json").write_text(text)
    (out / "notes").mkdir()  # no report in it: not a model folder
    (out / "notes" / "todo.txt").write_text("x")
    (out / ".hidden").mkdir()
    (out / ".hidden" / "audit.json").write_text("{}")
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "linked").mkdir(parents=True)
    (elsewhere / "linked" / "compliance.html").write_text("<p>")
    (out / "linked").symlink_to(elsewhere / "linked")  # never followed out of --out
    result = run_cli(["run", predictions_dir(tmp_path / "gamma", seed=3), "--out", out, *QUICK])
    assert result.exit_code in (0, 1), result.stderr
    assert "Traceback" not in result.stderr
    listed = rows(out / "index.html")
    assert sorted(listed) == ["broken", "foreign", "gamma"]
    assert "audit.json could not be read (JSONDecodeError)" in listed["broken"]
    assert "audit.json is not an auditkit audit" in listed["foreign"]
    for name in ("broken", "foreign"):
        assert "PASS" not in listed[name].upper().replace("BYPASS", "")
    # the earlier folders are left as they were
    assert (out / "broken" / "audit.json").read_text() == "{not json"
