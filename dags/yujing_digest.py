"""
### Daily digest: `yujing_digest`

Each morning (09:00 Asia/Shanghai by default), per brand: yesterday's mention volume,
negative share and its trend, top complaints by spread, incidents opened and resolved with
their lead times and posts, and a chart — on Slack and email (or the local outbox), once
per day and receiver. Each receiver gets the brands the routing sends it, competitors
beside them. "Yesterday" is the day before the run's logical date: a failed run cleared
later still reports its own day. Catchup is off, so after the scheduler was down across
several 09:00s one run is made: it also sends the days missed since the last digest
queued (at most a week in all; the notification log says what went out, once).

Schedule: `schedules.digest`.
"""

from airflow.sdk import dag, task

from yujing.dag_support import DEFAULT_ARGS, START_DATE, cron, pipeline_config

CONFIG = pipeline_config()


@dag(
    dag_id="yujing_digest",
    schedule=cron(CONFIG, "digest"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["yujing", "alerts", "digest"],
    doc_md=__doc__,
)
def yujing_digest():
    @task
    def send_digest(logical_date=None, dag_run=None) -> dict:
        from yujing.tasks import send_digest

        # the day reported is the one this run was scheduled for, also when it is rerun
        # later; a manual run without a logical date reports the day before it ran
        scheduled_for = logical_date or getattr(dag_run, "run_after", None)
        return send_digest(scheduled_for=scheduled_for)

    send_digest()


yujing_digest()
