"""What every Yujing DAG file shares: the validated config, schedules, retries, assets.

Only DAG files import this module. Loading the config here at parse time means an invalid
config makes every DAG fail to import with the same message `yujing config check`
prints, so the Airflow UI shows the problem and nothing schedules with half a config.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable

from yujing.config import Config, load_config

START_DATE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

DEFAULT_ARGS = {
    "owner": "yujing",
    "retries": 3,
    "retry_delay": dt.timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": dt.timedelta(minutes=10),
    "execution_timeout": dt.timedelta(minutes=30),
}

# Assets: the warehouse tables one DAG writes and the next reads.
MENTIONS = Asset("yujing://warehouse/mentions")
SCORES = Asset("yujing://warehouse/scores")
SPREAD_ESTIMATES = Asset("yujing://warehouse/spread_estimates")
NOTIFICATIONS = Asset("yujing://warehouse/notifications")


def pipeline_config() -> Config:
    """The validated config; raises ConfigError (listing every problem) when invalid."""
    return load_config()


def cron(config: Config, name: str) -> CronTriggerTimetable:
    """The config's cron schedule for one DAG, in its timezone."""
    schedule = getattr(config.schedules, name)
    return CronTriggerTimetable(schedule.cron, timezone=config.schedule_timezone(name))


def cron_or_assets(config: Config, name: str, *assets: Asset) -> AssetOrTimeSchedule:
    """Run when upstream data lands, and on the config's cron as a safety net."""
    from airflow.sdk import AssetAny

    return AssetOrTimeSchedule(timetable=cron(config, name), assets=AssetAny(*assets))


def run_fails_when_any_fails(*tasks):
    """A leaf that succeeds only when every one of `tasks` did.

    Airflow judges a run by its leaf tasks: a run whose only leaf runs `all_done` (to emit
    its asset event, or to deliver alerts, whatever happened upstream) shows green while a
    brand's ingest or the response check failed. This second leaf turns the run red too,
    so the run list and run-level alerting show it."""
    from airflow.providers.standard.operators.empty import EmptyOperator

    check = EmptyOperator(task_id="all_succeeded")
    for t in tasks:
        t >> check
    return check
