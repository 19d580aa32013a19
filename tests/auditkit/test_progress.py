"""Progress on a non-terminal: a heartbeat line at least every 15 s of silence; on a terminal, as before."""

from __future__ import annotations

import io
import time

from auditkit.terminal import HEARTBEAT_SECONDS, Progress


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_heartbeat_repeats_the_step_with_its_elapsed_seconds() -> None:
    clock, stream = FakeClock(), io.StringIO()
    progress = Progress(stream=stream, clock=clock)
    progress.close()  # the fake clock drives tick() alone; no thread races the test
    assert HEARTBEAT_SECONDS == 15
    progress("tox-v3: assess: fairness")
    clock.now += 14.9
    assert not progress.tick()
    clock.now += 0.1  # 15 s since the last line
    assert progress.tick()
    clock.now += 10
    assert not progress.tick()  # the heartbeat itself counts as a line
    clock.now += 5
    assert progress.tick()
    assert stream.getvalue().splitlines() == [
        "auditkit: tox-v3: assess: fairness",
        "auditkit: tox-v3: assess: fairness (still working: 15 s)",
        "auditkit: tox-v3: assess: fairness (still working: 30 s)",
    ]
    progress("tox-v3: rendering pdf")  # a new step restarts both the silence and the elapsed time
    clock.now += 15
    assert progress.tick()
    assert stream.getvalue().splitlines()[-1] == "auditkit: tox-v3: rendering pdf (still working: 15 s)"


def test_nothing_before_the_first_step() -> None:
    clock, stream = FakeClock(), io.StringIO()
    progress = Progress(stream=stream, clock=clock)
    clock.now += 100
    assert not progress.tick()
    assert stream.getvalue() == ""


def test_the_thread_prints_the_heartbeat_during_silent_work() -> None:
    stream = io.StringIO()
    with Progress(stream=stream, heartbeat=0.05) as progress:
        progress("m: training epoch 1")
        deadline = time.monotonic() + 10
        while stream.getvalue().count("still working") < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "auditkit: m: training epoch 1"
    assert len(lines) >= 3
    assert all(line.startswith("auditkit: m: training epoch 1 (still working: ") for line in lines[1:])
    after = stream.getvalue()
    time.sleep(0.2)
    assert stream.getvalue() == after, "close() stops the heartbeat"


def test_on_a_terminal_and_when_quiet_there_is_no_heartbeat() -> None:
    tty = Tty()
    with Progress(stream=tty, heartbeat=0.05) as progress:
        progress("m: training epoch 1")
        assert not progress.beating
        time.sleep(0.2)
    assert tty.getvalue() == "auditkit: m: training epoch 1\n"
    quiet = io.StringIO()
    with Progress(quiet=True, stream=quiet, heartbeat=0.05) as progress:
        progress("m: training epoch 1")
        time.sleep(0.2)
        assert not progress.tick()
    assert quiet.getvalue() == ""
