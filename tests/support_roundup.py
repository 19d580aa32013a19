"""A real Roundup tracker for the publishing tests: ``roundup-admin`` installs the classic
template on SQLite in a fresh folder, ``roundup-server`` serves it on a free port of
127.0.0.1. roundup-server refuses to run as root ("Can't run as root!"), so as root it is
started with ``-u``/``-g`` as an unprivileged user (``AUDITKIT_TEST_USER``, else
``nobody``), owning the tracker folder; the folder lives outside pytest's tmp folders,
whose 0700 parents that user could not enter."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ADMIN_PASSWORD = "admin-pw-for-tests"
USER, PASSWORD = "reviewer", "reviewer-pw-for-tests"


@dataclass
class Tracker:
    url: str  # the tracker's web address, ending in '/'
    home: Path
    issue: str  # an issue made for the test
    user: str = USER
    password: str = PASSWORD


def _tool(name: str) -> str:
    beside = Path(sys.executable).parent / name  # the venv's script, even when PATH lacks the venv
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: pip install 'roundup==2.6.*' (in auditkit's test extra)")
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _admin(home: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [_tool("roundup-admin"), "-i", str(home), *args], input=stdin, capture_output=True, text=True, timeout=60
    )
    if done.returncode != 0:
        raise RuntimeError(f"roundup-admin {' '.join(args[:1])} failed: {done.stdout[-500:]} {done.stderr[-500:]}")
    return done.stdout


# roundup-server, with every Roundup module imported before it drops root for the test user:
# Roundup imports some lazily (the sqlite indexer at the first request), and the test user
# may not be able to read the virtual environment (a venv under a 0700 folder, as CI's may be)
_SERVE = """
import importlib, pkgutil, sys
import roundup
for module in pkgutil.walk_packages(roundup.__path__, "roundup."):
    try:
        importlib.import_module(module.name)
    except Exception:  # optional back ends (MySQL, Xapian, ...) that are not installed
        pass
from roundup.scripts.roundup_server import run
sys.argv[0] = "roundup-server"
sys.exit(run())
"""


@contextmanager
def roundup_tracker() -> Iterator[Tracker]:
    home = Path(tempfile.mkdtemp(prefix="auditkit-roundup-"))
    process = None
    log = None
    try:
        os.chmod(home, 0o755)
        port = _free_port()
        url = f"http://127.0.0.1:{port}/tracker/"
        _admin(home, "install", "classic", "sqlite")
        config = home / "config.ini"
        text = config.read_text(encoding="utf-8")
        for old, new in (
            ("#web = NO DEFAULT", f"web = {url}"),
            ("#domain = NO DEFAULT", "domain = localhost"),
            # each request checks the password: the default 250,000 rounds cost ~0.3 s a request
            ("password_pbkdf2_default_rounds = 250000", "password_pbkdf2_default_rounds = 1000"),
        ):
            assert text.count(old) == 1, f"config.ini of Roundup changed: {old!r}"
            text = text.replace(old, new)
        config.write_text(text, encoding="utf-8")
        _admin(home, "initialise", ADMIN_PASSWORD, stdin="y\n")
        _admin(home, "create", "user", f"username={USER}", f"password={PASSWORD}", "roles=User",
               "address=reviewer@localhost")
        issue = _admin(home, "create", "issue", "title=Review: bert-tiny").strip()
        command = [sys.executable, "-c", _SERVE, "-n", "127.0.0.1", "-p", str(port)]
        if os.geteuid() == 0:
            import grp
            import pwd

            account = pwd.getpwnam(os.environ.get("AUDITKIT_TEST_USER", "nobody"))
            for folder, _, names in os.walk(home):
                for path in [folder, *(os.path.join(folder, n) for n in names)]:
                    os.chown(path, account.pw_uid, account.pw_gid)
            command += ["-u", account.pw_name, "-g", grp.getgrgid(account.pw_gid).gr_name]
        command.append(f"tracker={home}")
        log = (home.parent / f"{home.name}.log").open("wb")
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except (urllib.error.URLError, OSError) as exc:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = Path(log.name).read_text(errors="replace")[-1000:]
                    raise RuntimeError(f"roundup-server did not start ({exc}): {output}") from None
                time.sleep(0.2)
        yield Tracker(url=url, home=home, issue=issue)
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        if log is not None:
            log.close()
        shutil.rmtree(home, ignore_errors=True)
        Path(f"{home}.log").unlink(missing_ok=True)
