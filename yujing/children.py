"""The processes `make run` starts, and stopping all of them however it is interrupted.

Each child runs in a session of its own (so a terminal's Ctrl-C reaches only the
supervisor, which then stops the children in order) and is stopped by signalling its whole
process group: `airflow standalone` has children of its own. While stopping, further
SIGINT/SIGTERM/SIGHUP are ignored: a second Ctrl-C, a supervisor that signals twice
(`timeout` and `make` both pass SIGTERM on) or a hangup would otherwise abandon the
remaining children, still holding their ports.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path


class ChildProcesses:
    def __init__(self, log_dir: Path, env: Mapping[str, str], say: Callable[[str], None] = print):
        self.log_dir = Path(log_dir)
        self.env = env  # read at each start: the caller may add to it between starts
        self.say = say
        self.children: list[subprocess.Popen] = []
        self.logs: dict[int, str] = {}  # pid -> its log file's name

    def start(self, cmd: Sequence[str], log_name: str) -> subprocess.Popen:
        """Start `cmd` in its own session, its output appended to log_dir/log_name."""
        with open(self.log_dir / log_name, "ab") as log:  # the child keeps its own copy
            child = subprocess.Popen(
                list(cmd),
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.children.append(child)
        self.logs[child.pid] = log_name
        return child

    def all_running(self) -> bool:
        return not self.exited()

    def exited(self) -> list[str]:
        """The log names of the children that have exited (say which one stopped)."""
        return [self.logs[c.pid] for c in self.children if c.poll() is not None]

    def stop(self, grace_s: float = 20.0) -> None:
        """SIGTERM each child's process group (newest first), SIGKILL what is still there
        after `grace_s`; interrupts meanwhile are ignored, then the handlers restored."""
        previous = {
            sig: signal.signal(sig, signal.SIG_IGN)
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        }
        try:
            self.say("\n[yujing] stopping…")
            for child in reversed(self.children):
                # a child that exited may have left its group behind (a crashed `airflow
                # standalone`'s scheduler and api-server): they get their SIGTERM too
                if child.poll() is None or _group_alive(child):
                    _signal_group(child, signal.SIGTERM)
            deadline = time.monotonic() + grace_s
            for child in self.children:
                try:
                    child.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    _signal_group(child, signal.SIGKILL)
                    child.wait()
            # a child can exit and leave members of its group behind: LocalExecutor workers
            # ignore SIGTERM, and outlive a scheduler that died (found by killing one
            # inside `airflow standalone`); they would hold on until the machine restarts
            while any(_group_alive(c) for c in self.children) and time.monotonic() < deadline:
                time.sleep(0.1)
            for child in self.children:
                if _group_alive(child):
                    _signal_group(child, signal.SIGKILL)
            self.say("[yujing] stopped.")
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _group_alive(child: subprocess.Popen) -> bool:
    try:
        os.killpg(child.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member we may not signal: not ours to stop
        return False
    return True


def _signal_group(child: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(child.pid, sig)
    except ProcessLookupError:  # it exited between the check and the signal
        pass
