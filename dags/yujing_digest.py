"""
### Daily digest: `yujing_digest`

Each morning (09:00 Asia/Shanghai by default), per brand: yesterday's mention volume,
negative share and its trend, top complaints by spread, incidents opened and resolved with
their lead times, and a chart — on Slack and email (or the local outbox), once per day
and receiver.

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
    def send_digest() -> dict:
        from yujing.tasks import send_digest

        return send_digest()

    send_digest()


yujing_digest()
