"""
### Escalate: `yujing_escalate`

Turns fresh spread estimates and complaint scores into incidents (watch → warning →
critical by the config's `levels`; "no response" past the config's `responses` targets),
then routes, silences, rate-limits and delivers notifications to Slack, email, webhooks
or the local outbox. Every notification has a unique key in `notifications`: reruns and
retries never send twice, and a failed send is retried next run until it goes out (the
delivery task itself does not retry: a receiver that cannot be reached, SMTP down or a
missing Connection, must not hold back the next run's alerts to everyone else).

First it reads the comments of unanswered complaints for a reply from the brand's
official accounts (`brand_responses`), within a time budget of a few minutes and
stopping early when Weibo keeps failing; a long thread is read on over several runs
from where the last one stopped. The alerts run whether it succeeds or not (no retries:
the next run, five minutes later, reads again): a slow or failing Weibo delays them by at
most the budget and never stops them (the run still shows red when the check failed).
A "no response" notice, though, needs a check that read the whole thread at or after
the target and found no reply: after a failed, rate-limited, skipped or partial check
it waits for a later run rather than trust an older one (the reply may be there now).

Runs after each spread run (the `spread_estimates` asset) and on `schedules.escalate`.
"""

import datetime as dt

from airflow.sdk import dag, task

from yujing.dag_support import (
    DEFAULT_ARGS,
    NOTIFICATIONS,
    SPREAD_ESTIMATES,
    START_DATE,
    cron_or_assets,
    pipeline_config,
    run_fails_when_any_fails,
)

CONFIG = pipeline_config()


@dag(
    dag_id="yujing_escalate",
    schedule=cron_or_assets(CONFIG, "escalate", SPREAD_ESTIMATES),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["yujing", "alerts"],
    doc_md=__doc__,
)
def yujing_escalate():
    # its own budget is a few minutes (alerts/responses.py); this only caps a hung call
    @task(retries=0, execution_timeout=dt.timedelta(minutes=10))
    def check_responses() -> dict:
        from yujing.tasks import check_responses

        return check_responses()

    @task(trigger_rule="all_done")  # alerts go out even when the response check failed
    def update_incidents() -> dict:
        from yujing.tasks import update_incidents

        return update_incidents()

    # no retries: what failed is sent by the next run, which would wait for them (one run
    # at a time), new alerts and all, for as long as a receiver cannot be reached
    @task(outlets=[NOTIFICATIONS], retries=0)
    def deliver_notifications() -> dict:
        from yujing.tasks import deliver_notifications

        return deliver_notifications()

    check = check_responses()
    check >> update_incidents() >> deliver_notifications()
    run_fails_when_any_fails(check)  # alerts went out, but the run is red


yujing_escalate()
