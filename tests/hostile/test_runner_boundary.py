"""The runner's own trust boundary: report folder names, caches a delivery ships, plugins
that try to end the process, and absurd numbers for ``auditkit epsilon``.

Each test runs the real command line (``run_cli``) on a tiny model dir.
"""

from __future__ import annotations

import errno
import shutil
import stat
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from auditkit import cache, reviewer_home
from auditkit.errors import UsageError
from auditkit.model_dir import safe_name
from auditkit.testing import read_audit_json, run_cli


def _run(model_dir: Path | str, out: Path, *flags: str) -> tuple[int, str]:
    result = run_cli(["run", model_dir, "--out", out, "--format", "json", *flags])
    return result.exit_code, result.stderr


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("auditkit: error:")]


# ------------------------------------------------------------------ 1. report folder names


def test_a_dotdot_path_is_named_after_the_resolved_folder(
    tiny_model_dir: Path, tmp_path: Path, lean_flags: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tiny_model_dir / "sub").mkdir()
    out = tmp_path / "reports" / "inner"
    monkeypatch.chdir(tmp_path)  # the path as a reviewer types it: relative, ending in ".."
    code, stderr = _run(Path(tiny_model_dir.name) / "sub" / "..", out, *lean_flags)
    assert code in (0, 1), stderr
    assert read_audit_json(out / "tox-v3" / "audit.json")["model"]["name"] == "tox-v3"
    # nothing above --out: before the fix the model was named ".." and written to reports/
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["inner"]


@pytest.mark.parametrize(
    ("given", "expected"),
    [("..", None), (".hidden", "hidden"), ("a/b", "a-b"), ("a\\b", "a-b"), ("x\ny", "x-y"), (" .. ", None)],
)
def test_a_name_is_one_safe_folder_name_or_a_usage_error(given: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(UsageError, match="cannot name its report folder"):
            safe_name(Path("somewhere"), given)
    else:
        assert safe_name(Path("somewhere"), given) == expected


def test_the_file_system_root_cannot_name_a_report_folder() -> None:
    with pytest.raises(UsageError, match="cannot name its report folder from ''"):
        safe_name(Path("/"))


# ------------------------------------------------------------------ 2. caches


def _use_home(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    monkeypatch.setenv(reviewer_home.HOME_ENV, str(home))


def _entry(out: Path) -> Path:
    (entry,) = out.glob(".cache/predictions/*.npz")
    return entry


def _forge(entry: Path) -> np.ndarray:
    """Rewrite a cache entry with every label flipped, sealed with the current (vendor's) key."""
    genuine = cache.load(entry)
    assert genuine is not None
    flipped = np.where(genuine.labels == "positive", "negative", "positive").astype(object)
    genuine.labels = flipped
    cache.save(entry, genuine)
    return flipped


def test_the_key_is_made_once_with_mode_0600_under_auditkit_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_home(monkeypatch, tmp_path / "home")
    key = reviewer_home.cache_key()
    path = tmp_path / "home" / "cache.key"
    assert key is not None and path.read_bytes() == key and len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    reviewer_home._keys.clear()  # a new process reads the same key
    assert reviewer_home.cache_key() == key


def test_a_cache_shipped_in_the_delivery_is_not_used(
    tiny_model_dir: Path, tmp_path: Path, lean_flags: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the reviewer's own predictions, for reference
    _use_home(monkeypatch, tmp_path / "reviewer")
    reference_out = tmp_path / "reference"
    assert _run(tiny_model_dir, reference_out, *lean_flags)[0] in (0, 1)
    own = cache.load(_entry(reference_out))
    assert own is not None
    # the vendor audits with its own key, flips the cached labels and ships the cache
    _use_home(monkeypatch, tmp_path / "vendor")
    vendor_out = tmp_path / "vendor-out"
    assert _run(tiny_model_dir, vendor_out, *lean_flags)[0] in (0, 1)
    forged = _forge(_entry(vendor_out))
    shipped = tiny_model_dir / "auditkit-reports"
    shutil.copytree(vendor_out / ".cache", shipped / ".cache")
    forged_bytes = _entry(shipped).read_bytes()
    assert list(cache.load(_entry(shipped)).labels) == list(forged)  # type: ignore[union-attr]
    assert not np.array_equal(forged, own.labels)

    # the reviewer runs inside the delivery (default --out): the shipped cache is not read
    _use_home(monkeypatch, tmp_path / "reviewer")
    monkeypatch.chdir(tiny_model_dir)
    inside = run_cli(["run", ".", "--format", "json", *lean_flags])
    assert inside.exit_code in (0, 1), inside.stderr
    audit = read_audit_json(shipped / "tox-v3" / "audit.json")
    assert audit["predictions"]["source"] == "model"
    assert _entry(shipped).read_bytes() == forged_bytes, "a cache folder inside the model dir is not even written"

    # the same forged entry copied into the reviewer's own --out: its seal does not verify
    out = tmp_path / "reviewer-out"
    assert _run(tiny_model_dir, out, *lean_flags)[0] in (0, 1)
    _entry(out).write_bytes(forged_bytes)
    assert cache.load(_entry(out)) is None
    code, stderr = _run(tiny_model_dir, out, *lean_flags)
    assert code in (0, 1), stderr
    assert read_audit_json(out / "tox-v3" / "audit.json")["predictions"]["source"] == "model"
    rewritten = cache.load(_entry(out))  # recomputed and written again, with the model's own labels
    assert rewritten is not None
    assert list(rewritten.labels) == list(own.labels)
    # control: an entry this reviewer wrote is used (so the checks above can fail)
    code, stderr = _run(tiny_model_dir, out, *lean_flags)
    assert read_audit_json(out / "tox-v3" / "audit.json")["predictions"]["source"] == "cache"


def test_a_tampered_prediction_file_is_recomputed(
    tiny_model_dir: Path, tmp_path: Path, lean_flags: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    assert _run(tiny_model_dir, out, *lean_flags)[0] in (0, 1)
    entry = _entry(out)
    own = cache.load(entry)
    assert own is not None
    sealed = bytearray(entry.read_bytes())
    sealed[-200] ^= 0xFF  # one byte of the payload, the tag left as it was
    entry.write_bytes(bytes(sealed))
    assert cache.load(entry) is None
    # an unsealed npz (the old format, or anyone's np.savez) is not trusted either
    unsealed = tmp_path / "plain.npz"
    np.savez(unsealed, labels=np.asarray(["negative"] * len(own.labels)), meta=np.asarray('{"classes": []}'))
    assert cache.load(unsealed) is None
    code, stderr = _run(tiny_model_dir, out, *lean_flags)
    assert code in (0, 1), stderr
    assert read_audit_json(out / "tox-v3" / "audit.json")["predictions"]["source"] == "model"
    assert list(cache.load(entry).labels) == list(own.labels)  # type: ignore[union-attr]


def test_a_logit_cache_and_a_result_from_another_key_are_misses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from auditkit import result_cache
    from auditkit.logit_cache import LogitCache

    _use_home(monkeypatch, tmp_path / "vendor")
    path = tmp_path / ".cache" / "logits" / "k.npz"
    vendor = LogitCache(path)
    vendor.add(["a text"], np.array([[9.0, -9.0]]))
    assert vendor.save() and path.is_file()
    result = tmp_path / ".cache" / "results" / "step" / "k.json"
    assert result_cache.remember(result, lambda: 1.0, float, float) == 1.0
    # the vendor's own key still reads both back (the control)
    assert LogitCache(path).rows and result_cache.remember(result, lambda: 2.0, float, float) == 1.0

    _use_home(monkeypatch, tmp_path / "reviewer")
    assert LogitCache(path).rows == {}
    assert result_cache.remember(result, lambda: 2.0, float, float) == 2.0  # computed, and kept
    assert result_cache.remember(result, lambda: 3.0, float, float) == 2.0


def test_a_valid_entry_renamed_to_another_key_does_not_verify(tmp_path: Path) -> None:
    first = tmp_path / ".cache" / "results" / "step" / "a.json"
    cache.write_sealed(first, b'{"result": 1}')
    other = first.with_name("b.json")
    other.write_bytes(first.read_bytes())
    assert cache.read_sealed(first) == b'{"result": 1}'
    assert cache.read_sealed(other) is None


def test_no_key_means_no_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    _use_home(monkeypatch, blocker / "home")  # cannot be created: no key, so nothing is trusted
    assert reviewer_home.cache_key() is None
    assert not cache.usable(tmp_path / "out", None)


# ------------------------------------------------------------------ 3. plugins that exit

EXITING = """
import sys
from auditkit import hookimpl

@hookimpl
def {hook}({args}):
    sys.exit({code})
"""


def _exiting_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, hook: str, args: str, code: str) -> str:
    folder = tmp_path / "plugins"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.py").write_text(textwrap.dedent(EXITING.format(hook=hook, args=args, code=code)))
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delitem(sys.modules, name, raising=False)
    return name


@pytest.mark.parametrize("code", ["0", "None", "'bye'"])
def test_sys_exit_in_assess_is_a_plugin_error_and_the_audit_goes_on(
    tiny_model_dir: Path, tmp_path: Path, lean_flags: list[str], monkeypatch: pytest.MonkeyPatch, code: str
) -> None:
    name = _exiting_plugin(tmp_path, monkeypatch, f"quitter_{abs(hash(code))}", "auditkit_assess", "audit", code)
    out = tmp_path / "out"
    exit_code, stderr = _run(tiny_model_dir, out, "-p", name, *lean_flags)
    assert exit_code == 3, stderr
    audit = read_audit_json(out / "tox-v3" / "audit.json")  # the report is there
    errors = [f for f in audit["findings"] if f["severity"] == "error"]
    assert len(errors) == 1 and errors[0]["plugin"] == name and "sys.exit" in errors[0]["message"]
    assert audit["verdict"] == "error"


def test_sys_exit_in_a_loader_is_a_plugin_error_naming_it(
    tiny_model_dir: Path, tmp_path: Path, lean_flags: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    name = _exiting_plugin(tmp_path, monkeypatch, "quitting_loader", "auditkit_load_model", "model_dir, config", "0")
    exit_code, stderr = _run(tiny_model_dir, tmp_path / "out", "-p", name, *lean_flags)
    assert exit_code == 3, stderr
    (line,) = _error_lines(stderr)
    assert "'quitting_loader'" in line and "auditkit_load_model" in line and "sys.exit(0)" in line
    assert "Traceback" not in stderr


def test_sys_exit_while_commands_are_built_is_exit_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = _exiting_plugin(tmp_path, monkeypatch, "quitting_commands", "auditkit_add_commands", "subparsers", "0")
    result = run_cli(["-p", name, "plugins"])
    assert result.exit_code == 3
    (line,) = _error_lines(result.stderr)
    assert "'quitting_commands'" in line and "auditkit_add_commands" in line


# ------------------------------------------------------------------ 4. absurd numbers, unwritable --out

EPSILON = ["epsilon", "--sample-rate", "0.01", "--delta", "1e-5"]


@pytest.mark.parametrize(
    ("args", "flag", "accepted"),
    [
        (["--noise-multiplier", "inf", "--steps", "100"], "--noise-multiplier", "between 0.1 and 1e+06"),
        (["--noise-multiplier", "1e-300", "--steps", "100"], "--noise-multiplier", "between 0.1 and 1e+06"),
        (["--noise-multiplier", "1e300", "--steps", "100"], "--noise-multiplier", "between 0.1 and 1e+06"),
        (["--noise-multiplier", "nan", "--steps", "100"], "--noise-multiplier", "between 0.1 and 1e+06"),
        (["--noise-multiplier", "1", "--steps", "1000000000000"], "--steps", "between 1 and 10,000,000"),
        (["--noise-multiplier", "1", "--epochs", "inf"], "--epochs", "at most 100000"),
        (["--target-epsilon", "1e300", "--steps", "100"], "--target-epsilon", "between 0.01 and 100"),
        (["--noise-multiplier", "1", "--steps", "100", "--delta", "1e-300"], "--delta", "[1e-12, 1)"),
    ],
)
def test_absurd_epsilon_inputs_are_one_line_exit_2(args: list[str], flag: str, accepted: str) -> None:
    result = run_cli([*EPSILON, *args])
    assert result.exit_code == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("auditkit: error: epsilon:") and flag in line and accepted in line


def test_pld_beyond_any_meaningful_epsilon_is_not_computed_instead_of_exhausting_memory() -> None:
    from auditkit.plugins.assess.privacy import accounting

    result = run_cli(["epsilon", "--noise-multiplier", "0.5", "--sample-rate", "1", "--steps", "10000",
                      "--delta", "1e-5", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    import json

    values = json.loads(result.stdout)
    assert values["pld"] is None  # PLD would need tens of GiB here
    assert values["rdp"] == pytest.approx(accounting.epsilon(0.5, 1.0, 10000, 1e-5, "rdp"))


def test_an_unwritable_out_is_one_line_exit_2(tiny_model_dir: Path, lean_flags: list[str]) -> None:
    code, stderr = _run(tiny_model_dir, Path("/proc/auditkit-cannot-exist"), *lean_flags)
    assert code == 2, stderr
    (line,) = _error_lines(stderr)
    assert "--out /proc/auditkit-cannot-exist" in line and "pass another --out" in line
    assert "Traceback" not in stderr


def test_a_read_only_out_is_one_line_exit_2(
    tiny_model_dir: Path, tmp_path: Path, lean_flags: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    def read_only(*args: object, **kwargs: object) -> str:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkdtemp", read_only)  # root ignores chmod; a read-only mount does not
    code, stderr = _run(tiny_model_dir, tmp_path / "out", *lean_flags)
    assert code == 2, stderr
    (line,) = _error_lines(stderr)
    assert "Read-only file system" in line and "--out" in line
