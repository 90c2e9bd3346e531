"""`make run`'s child processes (yujing/children.py): real processes, real signals."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

from yujing.children import ChildProcesses

# a child that takes a while to stop, like airflow standalone shutting its parts down,
# and that starts a grandchild in its own process group
SLOW_TO_STOP = """
import signal, subprocess, sys, time
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print(grandchild.pid, flush=True)
def stop(*_):
    time.sleep(1.0)
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
time.sleep(60)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_for_line(path, timeout=10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path.read_text() if path.exists() else ""
        if text.strip():
            return text.strip()
        time.sleep(0.05)
    raise AssertionError(f"{path} stayed empty")


def test_a_second_sigterm_while_stopping_does_not_abandon_the_children(tmp_path):
    def interrupted(*_args):
        raise KeyboardInterrupt  # what make run's supervisor does on SIGTERM

    previous = signal.signal(signal.SIGTERM, interrupted)
    env = dict(os.environ)
    children = ChildProcesses(tmp_path, env, say=lambda line: None)
    try:
        env["ADDED_AFTER_INIT"] = "yes"  # the caller adds connections between starts
        first = children.start([sys.executable, "-c", SLOW_TO_STOP], "first.log")
        second = children.start(
            [sys.executable, "-c", "import os; print(os.environ['ADDED_AFTER_INIT'])"],
            "second.log",
        )
        grandchild = int(_wait_for_line(tmp_path / "first.log"))
        assert _wait_for_line(tmp_path / "second.log") == "yes"
        # the supervisor is signalled again while the slow child is still stopping
        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM)).start()
        children.stop(grace_s=10)

        assert first.poll() is not None and second.poll() is not None
        for _ in range(100):  # the grandchild got the group's SIGTERM
            if not _alive(grandchild):
                break
            time.sleep(0.05)
        assert not _alive(grandchild)
        # the supervisor's own handler is back once stopping is over
        assert signal.getsignal(signal.SIGTERM) is interrupted
    finally:
        signal.signal(signal.SIGTERM, previous)
        for child in children.children:
            if child.poll() is None:
                child.kill()


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path):
    children = ChildProcesses(tmp_path, dict(os.environ), say=lambda line: None)
    stubborn = children.start(
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
            " print('ready', flush=True); time.sleep(60)",
        ],
        "stubborn.log",
    )
    _wait_for_line(tmp_path / "stubborn.log")
    assert children.all_running()
    children.stop(grace_s=0.5)
    assert stubborn.returncode == -signal.SIGKILL
    assert not children.all_running()
