"""`make run`'s supervisor (yujing/local_stack.py) as ops meet it: a busy port, a bad
config at start and while running, an outbox directory of their own. Real sockets, real
files; no Airflow is started here (tests/e2e runs the real DAGs)."""

from __future__ import annotations

import http.server
import os
import re
import socket
import sys
import threading
import time

import pytest

from yujing import local_stack
from yujing.children import ChildProcesses
from yujing.config import DEFAULT_CONFIG_PATH, load_config


def _serve(status: int, body: bytes):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            self.send_response(status)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_port_another_program_listens_on_is_reported():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert local_stack.ports_in_use([port]) == [port]
    assert local_stack.ports_in_use([port]) == []


def test_make_run_refuses_to_start_on_a_busy_port_and_says_which(monkeypatch, capsys):
    started = []
    monkeypatch.setattr(local_stack, "ports_in_use", lambda ports: [8080])
    monkeypatch.setattr("yujing.children.ChildProcesses.start", lambda *a: started.append(a))
    assert local_stack.main([]) == 1
    err = capsys.readouterr().err
    assert "port 8080 is in use" in err and not started


def test_make_run_with_a_bad_config_names_the_problem_without_a_traceback(
    tmp_path, monkeypatch, capsys
):
    bad = tmp_path / "yujing.yaml"
    text = DEFAULT_CONFIG_PATH.read_text(encoding="utf-8")
    bad.write_text(text.replace("  negative_below:", "  negatve_below:", 1), encoding="utf-8")
    monkeypatch.setenv("YUJING_CONFIG", str(bad))
    assert local_stack.main([]) == 2
    err = capsys.readouterr().err
    assert "thresholds.negatve_below" in err and "Traceback" not in err


def test_any_reply_on_the_port_is_not_airflow_being_up():
    other = _serve(404, b"not here")
    airflow = _serve(200, b'{"metadatabase": {"status": "healthy"}}')
    try:
        url = "http://127.0.0.1:{}/api/v2/monitor/health"
        assert not local_stack._wait_for(url.format(other.server_port), 2, "metadatabase")
        assert local_stack._wait_for(url.format(airflow.server_port), 5, "metadatabase")
    finally:
        other.shutdown()
        airflow.shutdown()


def test_a_config_edit_that_breaks_the_pipeline_is_said_on_the_console(tmp_path):
    path = tmp_path / "yujing.yaml"
    good = DEFAULT_CONFIG_PATH.read_text(encoding="utf-8")
    path.write_text(good, encoding="utf-8")
    said: list[str] = []
    watch = local_stack.ConfigWatch(path, say=said.append)
    watch.check()
    assert said == []  # nothing changed
    path.write_text(good.replace("  negative_below:", "  negatve_below:", 1), encoding="utf-8")
    watch.check()
    assert len(said) == 1 and "CONFIG ERROR" in said[0]
    assert "thresholds.negatve_below" in said[0]
    watch.check()
    assert len(said) == 1  # said once, not every two seconds
    path.write_text(good + "\n", encoding="utf-8")
    watch.check()
    assert "config OK again" in said[-1]


def test_an_outbox_receivers_own_directory_is_watched_too(tmp_path, monkeypatch):
    own = tmp_path / "pr-outbox"
    text = DEFAULT_CONFIG_PATH.read_text(encoding="utf-8")
    path = tmp_path / "yujing.yaml"
    path.write_text(text.replace("outbox: {}", f"outbox: {{dir: {own}}}", 1), encoding="utf-8")
    dirs = local_stack.outbox_dirs(load_config(path))
    assert own in dirs and local_stack.outbox_dir() in dirs


def test_each_changed_config_that_loads_is_handed_on_and_a_broken_one_is_not(tmp_path):
    # make run read the outbox directories once: an outbox receiver added while it ran
    # was never echoed; the watch now hands each good change to make run (follow_outboxes)
    path = tmp_path / "yujing.yaml"
    good = DEFAULT_CONFIG_PATH.read_text(encoding="utf-8")
    path.write_text(good, encoding="utf-8")
    handed = []
    watch = local_stack.ConfigWatch(path, say=lambda line: None, on_valid=handed.append)
    own = tmp_path / "pr-outbox"
    path.write_text(good.replace("outbox: {}", "outbox: {dir: [", 1), encoding="utf-8")
    watch.check()
    assert handed == []
    path.write_text(good.replace("outbox: {}", f"outbox: {{dir: {own}}}", 1), encoding="utf-8")
    watch.check()
    (config,) = handed
    assert own in local_stack.outbox_dirs(config)


def test_the_child_that_exited_is_named(tmp_path):
    children = ChildProcesses(tmp_path, {}, say=lambda line: None)
    quick = children.start([sys.executable, "-c", "pass"], "airflow-scheduler.log")
    children.start([sys.executable, "-c", "import time; time.sleep(30)"], "simulator.log")
    quick.wait()
    try:
        assert children.exited() == ["airflow-scheduler.log"]
    finally:
        children.stop(grace_s=1)


@pytest.fixture(autouse=True)
def _own_state(tmp_path, monkeypatch):
    monkeypatch.setenv("YUJING_HOME", str(tmp_path / "home"))


def _fake_stack(monkeypatch, running: bool = False) -> dict:
    """local_stack.main with nothing started: children recorded instead of spawned (they
    have "exited" at once unless `running`), no ports probed, no Airflow CLI run. Returns
    what it records: the children's `envs` and the `calls` to start and stop."""
    monkeypatch.setattr(local_stack, "ports_in_use", lambda ports: [])
    monkeypatch.setattr(local_stack, "_wait_for", lambda *a, **k: True)
    monkeypatch.setattr(local_stack.subprocess, "run", lambda *a, **k: None)
    monkeypatch.setattr(local_stack.signal, "signal", lambda *a, **k: None)
    seen: dict = {"envs": [], "calls": []}

    class Children:
        def __init__(self, home, env, say):
            seen["envs"].append(env)

        def start(self, *a, **k):
            seen["calls"].append("start")

        def exited(self):
            return [] if running else ["airflow-standalone.log"]

        def stop(self):
            seen["calls"].append("stop")

    monkeypatch.setattr("yujing.children.ChildProcesses", Children)
    return seen


def test_the_local_stacks_api_server_listens_on_loopback_only(monkeypatch, capsys):
    # the console prints the UI's admin password; the api-server listened on 0.0.0.0
    monkeypatch.delenv("YUJING_OUTBOX_FALLBACK", raising=False)  # the shell's own
    envs = _fake_stack(monkeypatch)["envs"]
    assert local_stack.main([]) == 1  # its only child "exited"
    assert envs and envs[0]["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert envs[0]["YUJING_OUTBOX_FALLBACK"] == "1"


def test_an_operator_can_rehearse_strict_delivery(monkeypatch, tmp_path):
    # `YUJING_OUTBOX_FALLBACK=0 make run PROFILE=prod`: the stack used to overwrite it
    assert local_stack.airflow_env(tmp_path)["YUJING_OUTBOX_FALLBACK"] == "1"
    monkeypatch.setenv("YUJING_OUTBOX_FALLBACK", "0")
    assert local_stack.airflow_env(tmp_path)["YUJING_OUTBOX_FALLBACK"] == "0"


def test_stopping_leaves_no_member_of_a_childs_group_behind(tmp_path):
    """A LocalExecutor worker ignores SIGTERM and outlives a scheduler that died; stopping
    `make run` left eight of them running. A child here starts such a grandchild (in its
    process group) and exits on SIGTERM: after stop() the grandchild is gone too."""
    children = ChildProcesses(tmp_path, {}, say=lambda line: None)
    pidfile = tmp_path / "grandchild.pid"
    grandchild = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    )
    parent = (
        "import subprocess, sys, time; "
        f"p = subprocess.Popen([sys.executable, '-c', {grandchild!r}]); "
        f"open({str(pidfile)!r}, 'w').write(str(p.pid)); time.sleep(60)"
    )
    children.start([sys.executable, "-c", parent], "airflow-standalone.log")
    for _ in range(100):
        if pidfile.exists() and pidfile.read_text():
            break
        time.sleep(0.1)
    pid = int(pidfile.read_text())
    time.sleep(0.5)  # the grandchild has set its SIGTERM handler
    children.stop(grace_s=2)
    for _ in range(50):  # reaped by init shortly after SIGKILL
        if not _alive(pid):
            break
        time.sleep(0.1)
    else:
        os.kill(pid, 9)
        raise AssertionError("the grandchild outlived stop()")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_whatever_breaks_the_console_loop_stops_the_stack(monkeypatch, capsys):
    """An exception in the loop (a health reply cut short raised one) left Airflow and the
    simulator running in their own sessions, holding the ports."""
    calls = _fake_stack(monkeypatch, running=True)["calls"]

    class Broken:
        def __init__(self, *a, **k):
            pass

        def check(self):
            raise RuntimeError("something nobody foresaw")

    monkeypatch.setattr("yujing.stack_health.HealthWatch", Broken)
    with pytest.raises(RuntimeError):
        local_stack.main([])
    assert calls[-1] == "stop"


@pytest.mark.parametrize("fallback", ["1", "0"])
def test_the_console_says_how_alerts_are_delivered_in_the_local_profile(
    monkeypatch, capsys, fallback
):
    monkeypatch.setenv("YUJING_OUTBOX_FALLBACK", fallback)
    _fake_stack(monkeypatch)
    local_stack.main([])
    (line,) = [x for x in capsys.readouterr().out.splitlines() if "Delivery" in x]
    assert ("write to the outbox" in line) == (fallback == "1")
    assert ("strict, as production" in line) == (fallback == "0")


def test_what_an_exited_child_left_behind_is_asked_to_stop_first(tmp_path):
    """A crashed `airflow standalone` leaves its scheduler and api-server: they get SIGTERM
    (a clean shutdown) at once, not 20 idle seconds and then SIGKILL."""
    children = ChildProcesses(tmp_path, {}, say=lambda line: None)
    marker, pidfile = tmp_path / "terminated", tmp_path / "pid"
    grandchild = (
        "import signal, sys, time\n"
        f"signal.signal(signal.SIGTERM, lambda *a: (open({str(marker)!r}, 'w').close(), "
        "sys.exit(0)))\n"
        f"open({str(pidfile)!r}, 'w').write('ok')\n"
        "time.sleep(60)\n"
    )
    parent = f"import subprocess, sys; subprocess.Popen([sys.executable, '-c', {grandchild!r}])"
    child = children.start([sys.executable, "-c", parent], "airflow-standalone.log")
    child.wait()  # the parent exits at once, its child lives on in its group
    for _ in range(100):
        if pidfile.exists():
            break
        time.sleep(0.1)
    started = time.monotonic()
    children.stop(grace_s=20)
    assert marker.exists() and time.monotonic() - started < 10


def test_console_alert_lines_name_the_receiver_and_the_time(tmp_path, capsys):
    # one alert to two receivers printed two identical lines
    import json

    for receiver in ("pr-slack", "pr-email"):
        note = {"receiver": receiver, "summary": "🔴 [紧急 CRITICAL] 沐沐奶粉 · mumu-1"}
        (tmp_path / f"mumu-1:open:critical:{receiver}.json").write_text(json.dumps(note))
    local_stack._echo_new_alerts(set(), [tmp_path])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and len(set(lines)) == 2
    assert all(
        re.search(r"^\[yujing\] \d\d:\d\d:\d\d ALERT → pr-(slack|email): ", x) for x in lines
    )


def test_config_ok_again_says_when_the_dags_cannot_come_back(tmp_path):
    # with the DAG processor down, "the DAGs come back within a minute" was untrue
    path = tmp_path / "yujing.yaml"
    good = DEFAULT_CONFIG_PATH.read_text(encoding="utf-8")
    path.write_text(good, encoding="utf-8")
    said: list[str] = []
    down = " (not while the DAG processor is down)"
    watch = local_stack.ConfigWatch(path, say=said.append, caveat=lambda: down)
    path.write_text(good.replace("  negative_below:", "  negatve_below:", 1), encoding="utf-8")
    watch.check()
    path.write_text(good + "\n", encoding="utf-8")
    watch.check()
    assert said[-1].endswith("within a minute" + down)


# `make run` with every child a sleeping stand-in in its own session, as the real ones are
# (no port probed, no Airflow started); prints each child's pid, then the banner
_STANDIN_STACK = """
import sys
from yujing import children, local_stack

local_stack.ports_in_use = lambda ports: []
local_stack._wait_for = lambda *a, **k: True
local_stack.subprocess.run = lambda *a, **k: None


class Quiet:
    def __init__(self, *a, **k):
        pass

    def check(self):
        pass


import yujing.stack_health
yujing.stack_health.HealthWatch = Quiet
start = children.ChildProcesses.start


def standin(self, cmd, log_name):
    child = start(self, [sys.executable, "-c", "import time; time.sleep(120)"], log_name)
    print(child.pid, flush=True)
    return child


children.ChildProcesses.start = standin
sys.exit(local_stack.main([]))
"""


def test_a_closed_terminal_stops_the_stack(tmp_path):
    """Closing the terminal or losing the SSH session sends SIGHUP: the supervisor died of
    it at once, leaving Airflow and the simulator (in sessions of their own, so untouched
    by the hangup) running and holding the ports, and the next `make run` refused to start
    ("port 8080 is in use"). The console is gone by then: writing to it fails too."""
    import signal
    import subprocess

    repo = str(DEFAULT_CONFIG_PATH.parents[1])
    env = {**os.environ, "PYTHONPATH": repo}
    stack = subprocess.Popen(
        [sys.executable, "-c", _STANDIN_STACK],
        env=env,
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    pids = []
    try:
        for line in stack.stdout:
            if line.strip().isdigit():
                pids.append(int(line))
            if "Ctrl-C stops everything" in line:
                break
        assert len(pids) == 2, pids
        stack.stdout.close()  # the terminal went away with the hangup
        stack.send_signal(signal.SIGHUP)
        stack.wait(timeout=30)
        deadline = time.monotonic() + 10
        while any(map(_alive, pids)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in pids if _alive(pid)], "children outlived the hangup"
    finally:
        if stack.poll() is None:
            stack.kill()
        for pid in pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
