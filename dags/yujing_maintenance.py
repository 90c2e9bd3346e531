"""
### Maintenance: `yujing_maintenance`

Nightly retention (config `retention`): metric snapshots older than
`snapshots_full_days` are downsampled to one per post and `downsample_minutes` bucket, and
raw API payloads (`mentions.raw`) older than `raw_payload_days` are emptied. Idempotent:
a rerun changes nothing more. A safety net also starts tracking any negative post of the
last 48 hours that was scored without being enrolled (normally none: scoring enrols them).

Schedule: `schedules.maintenance`.
"""

from airflow.sdk import dag, task

from yujing.dag_support import DEFAULT_ARGS, START_DATE, cron, pipeline_config

CONFIG = pipeline_config()


@dag(
    dag_id="yujing_maintenance",
    schedule=cron(CONFIG, "maintenance"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["yujing", "maintenance"],
    doc_md=__doc__,
)
def yujing_maintenance():
    @task
    def apply_retention() -> dict:
        from yujing.tasks import apply_retention

        return apply_retention()

    @task
    def enroll_missed_posts() -> dict:
        from yujing.tasks import enroll_missed_posts

        return enroll_missed_posts()

    apply_retention()
    enroll_missed_posts()


yujing_maintenance()
