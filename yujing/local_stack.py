"""`make run`: the whole pipeline on one machine, on its embedded defaults.

Starts the local Weibo/WeChat simulator and `airflow standalone` (scheduler,
dag-processor, api-server, triggerer) with a project-local Airflow home, an SQLite
warehouse and the outbox as the alert channel, prints where everything is, echoes each
alert that lands in the outbox, and stops everything it started on Ctrl-C, SIGTERM or a
hangup (the terminal closed, the SSH session lost).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from yujing.config import PROJECT_ROOT, ConfigError, config_path, load_config
from yujing.paths import outbox_dir, state_dir
from yujing.profiles import mask_url
from yujing.resources import OUTBOX_FALLBACK

SIM_PORT = 8765
SERVE_LOGS_PORT = 8793  # airflow serve-logs (standalone) or the Celery worker's log server
API_PORT = 8080


def say(line: str) -> None:
    """A line on the console, if there still is one: after a hangup writing to it fails,
    and stopping the stack must go on regardless."""
    try:
        print(line, flush=True)
    except OSError:
        pass


def _secret_env(home: Path) -> dict[str, str]:
    """Per-machine secrets, generated once into .yujing/ (git-ignored), never committed."""
    path = home / "secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    values = {
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
    }
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    return values


def airflow_env(home: Path) -> dict[str, str]:
    """The environment every Airflow component and `airflow` CLI call gets."""
    venv_bin = Path(sys.executable).parent
    env = dict(os.environ)
    env.update(_secret_env(home))
    env.update(
        {
            "PATH": f"{venv_bin}{os.pathsep}{env.get('PATH', '')}",
            "AIRFLOW_HOME": str(home / "airflow"),
            "AIRFLOW_CONFIG": str(PROJECT_ROOT / "airflow.cfg"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
            "AIRFLOW__API__PORT": str(API_PORT),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "YUJING_HOME": str(home),
            # receivers without a Connection: the outbox (`YUJING_OUTBOX_FALLBACK=0 make
            # run PROFILE=prod` rehearses production's strict delivery)
            OUTBOX_FALLBACK: os.environ.get(OUTBOX_FALLBACK, "1"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


FALLBACK_NOTE = (
    "# This rehearsal delivers alerts of receivers without their Slack/SMTP Connection to a\n"
    "# local outbox. In production delete the next line: such a receiver's alerts then stay\n"
    "# queued and the delivery task fails, naming the Connection (README, Connections)."
)


def write_worker_env(path: Path, env: dict[str, str]) -> Path:
    """The settings a Celery worker on another machine needs, as `KEY=value` lines in a
    file only its owner can read (it holds the database password and the JWT secret): the
    README's scale-out steps start from it. Machine-local paths are left out."""
    from yujing.config import config_path

    keys = [k for k in env if k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "YUJING_"))]
    local = {"AIRFLOW__CORE__DAGS_FOLDER", "YUJING_HOME", "AIRFLOW__API__SECRET_KEY"}
    lines = []
    for key in sorted(k for k in keys if k not in local):
        if key == OUTBOX_FALLBACK and env[key] == "1":
            lines.append(FALLBACK_NOTE)
        lines.append(f"{key}={env[key]}")
    if "YUJING_CONFIG" not in env:
        lines.append(f"YUJING_CONFIG={config_path()}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    path.chmod(0o600)  # an older file keeps its mode through O_TRUNC
    return path


def ports_in_use(ports) -> list[int]:
    """The ports another program is listening on. A taken API port once gave a false
    "Yujing is running" while the scheduler had crashed behind it."""
    import socket

    busy = []
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is free
            try:
                probe.bind(("0.0.0.0", port))
            except OSError:
                busy.append(port)
    return busy


def _wait_for(url: str, seconds: float, expect: str = "") -> bool:
    """Whether `url` answers 200 (with `expect` in its body) within `seconds`: any reply
    is not enough, it may come from another program on the port."""
    import requests

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            reply = requests.get(url, timeout=2)
            if reply.status_code == 200 and expect in reply.text:
                return True
        except requests.RequestException:
            pass
        time.sleep(1)
    return False


class ConfigWatch:
    """Says on the console when the config file changes into one that does not load (every
    DAG then fails to import and vanishes from the DAG list until it is fixed) and when
    it loads again: ops watch this console, not the UI's import errors."""

    def __init__(self, path: Path, say=print, on_valid=None, caveat=lambda: ""):
        self.path = Path(path)
        self.say = say
        self.on_valid = on_valid  # called with each changed config that loads
        self.caveat = caveat  # what keeps the DAGs from coming back (a dead DAG processor)
        self.stamp = self._stamp()
        self.broken = False

    def _stamp(self):
        try:
            stat = self.path.stat()
            return (stat.st_mtime_ns, stat.st_size)
        except OSError:
            return None

    def check(self) -> None:
        stamp = self._stamp()
        if stamp == self.stamp:
            return
        self.stamp = stamp
        try:
            config = load_config(self.path)
        except ConfigError as exc:
            self.broken = True
            self.say(
                f"[yujing] CONFIG ERROR, the pipeline is stopped until it is fixed (every DAG "
                f"fails to import):\n{exc}"
            )
            return
        if self.broken:
            self.say(
                f"[yujing] config OK again ({self.path}): the DAGs come back within a minute"
                + self.caveat()
            )
        else:
            self.say(f"[yujing] config changed and checked ({self.path})")
        self.broken = False
        if self.on_valid is not None:
            self.on_valid(config)


def outbox_dirs(config) -> list[Path]:
    """Every directory notifications land in: the default outbox, which also takes any
    receiver without its Connection, and each outbox receiver's own `dir`."""
    dirs = [outbox_dir()]
    for receiver in config.receivers:
        if receiver.outbox is not None and receiver.outbox.dir:
            path = Path(receiver.outbox.dir)
            if path not in dirs:
                dirs.append(path)
    return dirs


def _admin_password(env: dict[str, str]) -> str:
    generated = Path(env["AIRFLOW_HOME"]) / "simple_auth_manager_passwords.json.generated"
    try:
        return json.loads(generated.read_text()).get("admin", "(see the api-server log)")
    except (OSError, ValueError):
        return "(printed by airflow standalone below)"


def _echo_new_alerts(seen: set[str], dirs: list[Path]) -> None:
    from alerts import render

    for path in sorted(p for d in dirs for p in d.glob("*.json")):
        if str(path) in seen:
            continue
        seen.add(str(path))
        try:
            note = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        summary = note.get("summary") or note.get("title") or path.stem
        receiver = render.printable(str(note.get("receiver") or "outbox"))
        at = time.strftime("%H:%M:%S")
        print(f"[yujing] {at} ALERT → {receiver}: {render.printable(summary)} ({path})", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make run", description=__doc__)
    parser.add_argument(
        "--profile",
        default="local",
        choices=["local", "prod"],
        help="local: standalone on SQLite; prod: PostgreSQL + Celery/Redis (yujing/profiles.py)",
    )
    parser.add_argument("--speed", type=float, default=10.0, help="simulator time compression")
    args = parser.parse_args(argv)

    try:
        config = load_config()
    except ConfigError as exc:  # every problem with its path, no traceback
        print(f"[yujing] cannot start: {exc}", file=sys.stderr)
        return 2
    busy = ports_in_use([SIM_PORT, API_PORT, SERVE_LOGS_PORT])
    if busy:
        print(
            f"[yujing] cannot start: port {', '.join(map(str, busy))} is in use (another "
            "program, or a `make run` still running): stop it and run again",
            file=sys.stderr,
        )
        return 1
    home = state_dir()
    env = airflow_env(home)
    bin_dir = Path(sys.executable).parent

    from warehouse.db import make_engine, upgrade

    prod = None
    if args.profile == "prod":
        from yujing.profiles import ProdSettings, ensure_database

        prod = ProdSettings.from_env()
        for name in (prod.airflow_db, prod.warehouse_db):
            ensure_database(prod.pg, name)
        env.update(prod.env())  # every component gets the warehouse URL from here
    else:
        # the console prints the UI's login: the local stack is not for the network
        env["AIRFLOW__API__HOST"] = "127.0.0.1"
    upgrade(make_engine(prod.warehouse_url if prod else None))
    dirs = outbox_dirs(config)
    seen = {str(p) for d in dirs for p in d.glob("*.json")}

    def follow_outboxes(changed) -> None:
        """An outbox receiver added while the stack runs is echoed from its next alert."""
        for directory in outbox_dirs(changed):
            if directory not in dirs:
                dirs.append(directory)
                seen.update(str(p) for p in directory.glob("*.json"))
                print(f"[yujing] also echoing the outbox {directory}", flush=True)

    from yujing.stack_health import HealthWatch

    health = HealthWatch(
        f"http://127.0.0.1:{API_PORT}/api/v2/monitor/health",
        f"{home}/airflow-*.log",
        say=say,
    )

    def dag_processor_down() -> str:
        if "dag_processor" not in health.unhealthy:
            return ""
        return " (not while the DAG processor is down, said above: Ctrl-C and make run again)"

    watch = ConfigWatch(
        config_path(),
        say=say,
        on_valid=follow_outboxes,
        caveat=dag_processor_down,
    )

    from yujing.children import ChildProcesses

    children = ChildProcesses(home, env, say=say)
    start, stop = children.start, children.stop

    def interrupted(*_args) -> None:
        raise KeyboardInterrupt  # SIGTERM (e.g. from a supervisor) stops everything too

    signal.signal(signal.SIGTERM, interrupted)
    # the children have sessions of their own, out of a hangup's reach: without this a
    # closed terminal killed only the supervisor, and they kept the ports (`nohup make
    # run` ignores SIGHUP on purpose: it still does)
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
        signal.signal(signal.SIGHUP, interrupted)

    try:
        start(
            [
                str(bin_dir / "yujing"),
                "simulate",
                "--port",
                str(SIM_PORT),
                "--speed",
                str(args.speed),
            ],
            "simulator.log",
        )
        if not _wait_for(f"http://127.0.0.1:{SIM_PORT}/_sim/truth", 60):
            print(
                "[yujing] the simulator did not start; see .yujing/simulator.log", file=sys.stderr
            )
            stop()
            return 1
        sim = f"http://:sim-token@127.0.0.1:{SIM_PORT}"
        env.setdefault("AIRFLOW_CONN_WEIBO_DEFAULT", f"{sim}/2")
        env.setdefault("AIRFLOW_CONN_WECHAT_DEFAULT", f"{sim}/wechat")
        subprocess.run(
            [str(bin_dir / "airflow"), "db", "migrate"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        worker_env = None
        if prod is None:
            start([str(bin_dir / "airflow"), "standalone"], "airflow-standalone.log")
        else:
            worker_env = write_worker_env(home / "prod-worker.env", env)
            for command in prod.components():
                name = "celery-worker" if command[0] == "celery" else command[0]
                start([str(bin_dir / "airflow"), *command], f"airflow-{name}.log")
        up = _wait_for(f"http://127.0.0.1:{API_PORT}/api/v2/monitor/health", 180, "metadatabase")
        print(
            "\n".join(
                [
                    "",
                    "预警 Yujing is running"
                    + ("" if up else " (the API server is still starting)"),
                    f"  Airflow UI   http://127.0.0.1:{API_PORT}  login admin / {_admin_password(env)}",
                    f"  Simulator    http://127.0.0.1:{SIM_PORT} (Weibo + WeChat APIs, speed ×{args.speed:g})",
                    f"  Warehouse    {mask_url(prod.warehouse_url) if prod else home / 'warehouse.db'}",
                    *(
                        [
                            f"  Executor     CeleryExecutor, broker {mask_url(prod.redis)}, "
                            f"metadata {mask_url(prod.airflow_url)}",
                            f"  Workers      more on other machines: the settings in {worker_env} "
                            "(README, production profile)",
                        ]
                        if prod
                        else []
                    ),
                    "  Delivery     "
                    + (
                        "receivers without a Slack/SMTP Connection write to the outbox "
                        f"({OUTBOX_FALLBACK}=1; =0 rehearses production)"
                        if env[OUTBOX_FALLBACK] == "1"
                        else f"strict, as production ({OUTBOX_FALLBACK}={env[OUTBOX_FALLBACK]}): "
                        "a receiver without its Connection keeps its alerts queued and fails "
                        "the delivery task"
                    ),
                    f"  Alerts       {', '.join(map(str, dirs))} (outbox receivers"
                    + (", and the fallback in the first" if env[OUTBOX_FALLBACK] == "1" else "")
                    + ") — echoed below",
                    f"  Logs         {home}/airflow-*.log, {home}/simulator.log",
                    f"  Brands       {', '.join(b.name for b in config.brands)}",
                    "  Ctrl-C stops everything.",
                    "",
                ]
            ),
            flush=True,
        )
        while not children.exited():
            _echo_new_alerts(seen, dirs)
            watch.check()
            health.check()
            time.sleep(2)
        print(
            f"[yujing] {', '.join(children.exited())} exited; see its log in {home}",
            file=sys.stderr,
        )
        stop()
        return 1
    except KeyboardInterrupt:
        stop()
        return 0
    except BaseException:
        stop()  # whatever broke the console loop, the stack must not keep the ports
        raise


if __name__ == "__main__":
    sys.exit(main())
