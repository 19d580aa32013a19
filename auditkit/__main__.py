"""``python -m auditkit``: the same command line as the ``auditkit`` script.

Useful where the console script is not on PATH (a venv not activated, ``pipx run``,
Windows launchers): ``python -m auditkit run model_dir/``.
"""

from __future__ import annotations

if __name__ == "__main__":  # importing the module (the meta-tests do) must not run the CLI
    from auditkit.cli import console

    console()
