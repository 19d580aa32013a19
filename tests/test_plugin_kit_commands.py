"""A plugin adds a sub-command through ``auditkit_add_commands`` (as docs/plugins.md describes)."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from auditkit.testing import run_cli

COMMAND_PLUGIN = """
    from auditkit import hookimpl
    from auditkit.errors import UsageError


    @hookimpl
    def auditkit_add_commands(subparsers):
        parser = subparsers.add_parser("ece", help="expected calibration error of a scores file")
        parser.add_argument("scores", type=float, nargs="+", help="probabilities")
        parser.add_argument("--outcomes", required=True, help="0/1 outcomes, comma-separated")
        parser.set_defaults(func=_ece)


    def _ece(args):
        import numpy as np  # heavy imports inside func: `auditkit --help` stays fast

        outcomes = [int(v) for v in args.outcomes.split(",")]
        if len(outcomes) != len(args.scores):
            raise UsageError(f"--outcomes: {len(outcomes)} values for {len(args.scores)} scores; give one per score")
        p, y = np.array(args.scores), np.array(outcomes)
        bins = np.searchsorted(np.linspace(0, 1, 11)[1:-1], p)
        ece = sum(abs((y[bins == b] - p[bins == b]).sum()) for b in range(10)) / len(p)
        print(f"ECE {ece:.4f}")
        return 1 if ece > 0.1 else 0
"""


@pytest.fixture
def command_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "ak_command_plugin.py").write_text(textwrap.dedent(COMMAND_PLUGIN))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "ak_command_plugin"
    sys.modules.pop("ak_command_plugin", None)


def test_plugin_command_runs_and_returns_its_exit_code(command_plugin: str) -> None:
    # bins [0, .1] … (.9, 1]: {0.05→0}, {0.45→1, 0.45→0}, {0.95→1}; ECE = (.05 + .1 + .05) / 4 = 0.05
    result = run_cli(["-p", command_plugin, "ece", "0.05", "0.45", "0.45", "0.95", "--outcomes", "0,1,0,1"])
    assert (result.exit_code, result.stdout.strip()) == (0, "ECE 0.0500")
    # {0.95→0}: ECE = .95
    result = run_cli(["-p", command_plugin, "ece", "0.95", "--outcomes", "0"])
    assert (result.exit_code, result.stdout.strip()) == (1, "ECE 0.9500")


def test_plugin_command_is_listed_in_help(command_plugin: str) -> None:
    import importlib

    from auditkit.cli import build_parser
    from auditkit.manager import get_plugin_manager

    pm = get_plugin_manager(extra_plugins=[(command_plugin, importlib.import_module(command_plugin))])
    assert "expected calibration error of a scores file" in build_parser(pm).format_help()
    assert pm.infos[command_plugin].hooks == ["auditkit_add_commands"]


def test_usage_error_from_a_plugin_command(command_plugin: str) -> None:
    result = run_cli(["-p", command_plugin, "ece", "0.5", "--outcomes", "0,1"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "auditkit: error: --outcomes: 2 values for 1 scores; give one per score"
