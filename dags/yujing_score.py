"""
### Score: `yujing_score`

Cleans and segments every new mention (jieba, with the brands and the complaint vocabulary
in its dictionary) and scores sentiment, complaint-ness, categories and escalation signals
into `scores`, one row per post and model version (reruns score nothing twice). A post the
model fails on is tried again by later runs (three tries, then stored with the reason, in
`score_failures` meanwhile); a model failing on most of a batch fails the run, stores
nothing of the batch, and the next run tries again.

Runs when new mentions land (the `mentions` asset) and on `schedules.score` as a safety net.
"""

from airflow.sdk import dag, task

from yujing.dag_support import (
    DEFAULT_ARGS,
    MENTIONS,
    SCORES,
    START_DATE,
    cron_or_assets,
    pipeline_config,
    run_fails_when_any_fails,
)

CONFIG = pipeline_config()


@dag(
    dag_id="yujing_score",
    schedule=cron_or_assets(CONFIG, "score", MENTIONS),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["yujing", "nlp"],
    doc_md=__doc__,
)
def yujing_score():
    @task
    def score_mentions(brand: str) -> dict:
        from yujing.tasks import score_mentions

        return score_mentions(brand=brand)

    # one `scores` asset event per run, after every brand's task
    @task(outlets=[SCORES], trigger_rule="all_done")
    def scored() -> None:
        """Emits the asset event (the per-brand counts are in the mapped tasks' logs)."""

    # one mapped task per brand: more Celery workers score more brands at once
    brands = score_mentions.expand(brand=[b.code for b in CONFIG.brands])
    brands >> scored()
    run_fails_when_any_fails(brands)  # the run is red when any brand failed


yujing_score()
