"""
### Ingest: `yujing_weibo_ingest`, `yujing_wechat_ingest`

Pulls mentions of every watched brand (name, aliases, keywords; one mapped task per
brand) from one platform —
Weibo's search API, or the WeChat article vendor feed — incrementally from each query's
stored cursor, into `mentions`, each with a first metric snapshot. Rejected items land in
`quarantine` with the reason; nothing is stored twice.

Connections: `sources.<platform>.conn_id` in the config (`weibo_default`, `wechat_default`).
Schedules: `schedules.weibo_ingest`, `schedules.wechat_ingest`. A rate limit stops the run
cleanly and the next run resumes; an expired token fails the task with a message naming
the Connection (and ops get one notification, not one per run).
"""

from airflow.sdk import dag, task

from yujing.dag_support import (
    DEFAULT_ARGS,
    MENTIONS,
    START_DATE,
    cron,
    pipeline_config,
    run_fails_when_any_fails,
)

CONFIG = pipeline_config()


def ingest_dag(platform: str):
    @dag(
        dag_id=f"yujing_{platform}_ingest",
        schedule=cron(CONFIG, f"{platform}_ingest"),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["yujing", "ingest", platform],
        doc_md=__doc__,
    )
    def ingest_pipeline():
        @task(task_id=f"ingest_{platform}")
        def ingest(brand: str) -> dict:
            from yujing.tasks import ingest_source

            return ingest_source(platform, brand=brand)

        # after every brand's task (even a failed one), one `mentions` asset event per run,
        # so scoring starts once the whole run's mentions are stored
        @task(outlets=[MENTIONS], trigger_rule="all_done")
        def stored() -> None:
            """Emits the asset event (the per-brand counts are in the mapped tasks' logs)."""

        # one mapped task per brand (its own search terms and cursors): more Celery
        # workers ingest more brands at once
        brands = ingest.expand(brand=[b.code for b in CONFIG.brands])
        brands >> stored()
        run_fails_when_any_fails(brands)  # the run is red when any brand failed

    return ingest_pipeline()


for _platform in ("weibo", "wechat"):
    ingest_dag(_platform)
