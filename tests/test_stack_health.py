"""make run's health watch: a part of Airflow that dies inside `airflow standalone` (which
itself keeps running) is said on the console once, and its return once. Airflow's health
endpoint is served here by a real HTTP server on 127.0.0.1 with the answers Airflow 3
gives (`/api/v2/monitor/health`)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from yujing.stack_health import HealthWatch

BEAT = "2026-12-01T18:00:00.081195+08:00"  # as Airflow sends it, in another zone


def _health(scheduler="healthy", dag_processor="healthy", triggerer=None) -> dict:
    return {
        "metadatabase": {"status": "healthy"},
        "scheduler": {"status": scheduler, "latest_scheduler_heartbeat": BEAT},
        "triggerer": {"status": triggerer, "latest_triggerer_heartbeat": None},
        "dag_processor": {"status": dag_processor, "latest_dag_processor_heartbeat": BEAT},
    }


class _Airflow:
    """A real HTTP server answering the health endpoint with `answer` (None: 503)."""

    def __init__(self):
        self.answer: dict | None = _health()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server API
                body = json.dumps(outer.answer).encode() if outer.answer else b"starting"
                self.send_response(200 if outer.answer else 503)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v2/monitor/health"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def airflow():
    server = _Airflow()
    yield server
    server.close()


class _Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def _watch(url, said, clock):
    return HealthWatch(url, ".yujing/airflow-*.log", said.append, every=30, monotonic=clock)


def test_a_dead_scheduler_is_said_once_and_its_return_once(airflow):
    said, clock = [], _Clock()
    watch = _watch(airflow.url, said, clock)
    for answer, expect in [
        (_health(), []),
        (_health(scheduler="unhealthy"), ["the scheduler (no DAG run starts) is not running"]),
        (_health(scheduler="unhealthy"), []),  # still down: not said again
        (_health(scheduler="unhealthy", dag_processor="unhealthy"), ["the DAG processor"]),
        (_health(), ["the scheduler is running again", "the DAG processor is running again"]),
        (_health(), []),
    ]:
        airflow.answer = answer
        clock.t += 30
        before = len(said)
        watch.check()
        new = said[before:]
        assert len(new) == len(expect) and all(
            e in line for e, line in zip(expect, new, strict=True)
        ), new
    problem = next(line for line in said if "PROBLEM" in line)
    assert "last heartbeat 2026-12-01 10:00:00 UTC" in problem
    assert ".yujing/airflow-*.log" in problem


def test_it_asks_at_most_every_interval_and_a_part_never_started_is_no_problem(airflow):
    said, clock, asked = [], _Clock(), []
    watch = HealthWatch(airflow.url, "logs", said.append, every=30, monotonic=clock,
                        fetch=lambda url: asked.append(url) or _health(triggerer=None))  # fmt: skip
    for _ in range(10):
        clock.t += 5
        watch.check()
    assert len(asked) == 1 and said == []


def test_an_api_server_that_stops_answering_is_said_after_a_few_misses(airflow):
    said, clock = [], _Clock()
    watch = _watch(airflow.url, said, clock)
    airflow.answer = None  # 503 while it restarts
    for _ in range(2):
        clock.t += 30
        watch.check()
    assert said == []  # a restart or a busy minute is no news
    clock.t += 30
    watch.check()
    assert len(said) == 1 and "does not answer" in said[0]
    clock.t += 30
    watch.check()
    assert len(said) == 1
    airflow.answer = _health()
    clock.t += 30
    watch.check()
    assert said[-1] == "[yujing] the Airflow API server answers again"


@pytest.mark.parametrize(
    "reply",
    [b"garbage\r\n\r\n", b'HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{"metadata'],
    ids=["bad status line", "body cut short"],
)
def test_a_reply_cut_short_is_a_miss_not_a_crash(reply):
    """An API server killed mid-reply sends a broken answer: http.client raised
    BadStatusLine / IncompleteRead through the watch and ended make run."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def answer():
        conn, _ = server.accept()
        conn.recv(4096)
        conn.sendall(reply)
        conn.close()

    threading.Thread(target=answer, daemon=True).start()
    said, clock = [], _Clock()
    url = f"http://127.0.0.1:{server.getsockname()[1]}/api/v2/monitor/health"
    watch = HealthWatch(url, "logs", said.append, every=30, misses_allowed=1, monotonic=clock)
    clock.t += 30
    watch.check()
    server.close()
    assert len(said) == 1 and "does not answer" in said[0]
