"""
### Spread: `yujing_spread`

Follows every post scored negative or complaint: refreshes its counts (and, on Weibo, its
repost timeline: who reposted, when, with how many followers), then predicts its reposts
24 h after posting with an interval and P(viral). Writes `metric_snapshots`, `reposts`,
`spread_estimates`; hot posts are checked every run, cooling ones less often, quiet ones
dropped after `thresholds.track_quiet_hours`.

Runs when new scores land (the `scores` asset: a fresh complaint is followed at once) and
on `schedules.spread`, which keeps hot posts refreshed. When a platform's refresh fails
(an outage, a refused token), `track_spread` still estimates every post from the counts
stored and announces them; `refresh_succeeded` then fails, naming the platform, so the
run is red.
"""

from airflow.sdk import dag, task

from yujing.dag_support import (
    DEFAULT_ARGS,
    SCORES,
    SPREAD_ESTIMATES,
    START_DATE,
    cron_or_assets,
    pipeline_config,
)

CONFIG = pipeline_config()


@dag(
    dag_id="yujing_spread",
    schedule=cron_or_assets(CONFIG, "spread", SCORES),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["yujing", "spread"],
    doc_md=__doc__,
)
def yujing_spread():
    @task(outlets=[SPREAD_ESTIMATES])
    def track_spread() -> dict:
        from yujing.tasks import track_spread

        return track_spread()

    @task(retries=0)  # it only reports what track_spread saw: nothing to retry
    def refresh_succeeded(result: dict) -> None:
        from spread.stage import raise_for_failed_refresh

        raise_for_failed_refresh(result)

    refresh_succeeded(track_spread())


yujing_spread()
