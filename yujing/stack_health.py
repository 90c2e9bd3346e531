"""Says on `make run`'s console when a part of Airflow stops working while the stack runs.

`airflow standalone` keeps running when its scheduler, dag-processor or triggerer dies
(or hangs): the console stayed quiet and no DAG ran again. Airflow's own health endpoint
(`/api/v2/monitor/health`) reports each part from its heartbeats; `HealthWatch` reads it
every `every` seconds and prints one line when a part turns unhealthy, one when it is back,
and one when the API server itself stops answering. A part Airflow reports no status for
(null: never started in this deployment) is not a problem.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import time
import urllib.request
from collections.abc import Callable

# each part's name on the console, and what stops while it is down
PARTS = {
    "metadatabase": ("Airflow's metadata database", ""),
    "scheduler": ("the scheduler", " (no DAG run starts)"),
    "dag_processor": ("the DAG processor", " (config and DAG edits are not picked up)"),
    "triggerer": ("the triggerer", ""),
}


def fetch_health(url: str, timeout: float = 5.0) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - our URL
        return json.loads(response.read().decode("utf-8"))


def _heartbeat(report: dict) -> str | None:
    """The part's last heartbeat, to the second in UTC ("2026-12-01 23:08:09 UTC")."""
    beat = next((v for k, v in report.items() if k.startswith("latest_") and v), None)
    if not isinstance(beat, str):
        return None
    try:
        when = dt.datetime.fromisoformat(beat)
    except ValueError:
        return beat
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC)
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


class HealthWatch:
    """`check()` from the console loop; it asks Airflow at most every `every` seconds (by
    `monotonic`), and says news only: the first check that finds a part unhealthy, the
    first that finds it healthy again. The API server not answering `misses_allowed`
    checks in a row (a restart, a busy machine) is news too."""

    def __init__(
        self,
        url: str,
        logs: str,
        say: Callable[[str], None] = print,
        *,
        every: float = 30.0,
        misses_allowed: int = 3,
        fetch: Callable[[str], dict] = fetch_health,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.url, self.logs, self.say = url, logs, say
        self.every, self.misses_allowed = every, misses_allowed
        self.fetch, self.monotonic = fetch, monotonic
        self.next_at = monotonic() + every
        self.unhealthy: set[str] = set()
        self.misses = 0
        self.silent = False

    def check(self) -> None:
        now = self.monotonic()
        if now < self.next_at:
            return
        self.next_at = now + self.every
        try:
            health = self.fetch(self.url)
            if not isinstance(health, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError, http.client.HTTPException) as exc:  # a reply cut short
            self.misses += 1
            if self.misses == self.misses_allowed:
                self.silent = True
                self.say(
                    f"[yujing] PROBLEM: the Airflow API server does not answer ({exc}); "
                    f"see {self.logs}"
                )
            return
        if self.silent:
            self.say("[yujing] the Airflow API server answers again")
        self.misses, self.silent = 0, False
        for part, report in health.items():
            status = report.get("status") if isinstance(report, dict) else None
            name, consequence = PARTS.get(part, (part, ""))
            if status == "unhealthy" and part not in self.unhealthy:
                self.unhealthy.add(part)
                beat = _heartbeat(report)
                since = f", last heartbeat {beat}" if beat else ""
                self.say(
                    f"[yujing] PROBLEM: {name}{consequence} is not running{since}; see {self.logs} "
                    "(Ctrl-C and make run again restarts everything)"
                )
            elif status == "healthy" and part in self.unhealthy:
                self.unhealthy.discard(part)
                self.say(f"[yujing] {name} is running again")
