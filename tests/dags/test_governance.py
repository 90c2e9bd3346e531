"""Governance over every DAG (after Mozilla telemetry-airflow): rules no DAG may break."""

from __future__ import annotations

from pathlib import Path

import pytest

from yujing.config import load_config

DAGS = Path(__file__).resolve().parents[2] / "dags"
EXPECTED = {
    "yujing_weibo_ingest": "weibo_ingest",
    "yujing_wechat_ingest": "wechat_ingest",
    "yujing_score": "score",
    "yujing_spread": "spread",
    "yujing_escalate": "escalate",
    "yujing_digest": "digest",
    "yujing_maintenance": "maintenance",
}
# tasks that must not retry, each with why: the escalation's brand-response check is read
# again by the next run five minutes later, and the alerts after it wait for its retries;
# a failed delivery is sent again by the next run, which waits for its retries
NO_RETRIES = {
    ("yujing_escalate", "check_responses"),
    ("yujing_escalate", "deliver_notifications"),
    ("yujing_spread", "refresh_succeeded"),
}
HEAVY = ("jieba", "snownlp", "pandas", "sklearn", "slack_sdk", "matplotlib", "numpy", "scipy")


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


def test_the_pipeline_dags_exist(dagbag):
    assert set(dagbag.dag_ids) == set(EXPECTED)


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_dag_rules(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert "yujing" in dag.tags and len(dag.tags) >= 2
    assert dag.max_active_runs == 1
    assert dag.catchup is False
    assert dag.doc_md and len(dag.doc_md) > 100
    for task in dag.tasks:
        if (dag_id, task.task_id) in NO_RETRIES:
            assert task.retries == 0, f"{dag_id}.{task.task_id} retries"
            continue
        assert task.retries >= 2, f"{dag_id}.{task.task_id} retries"
        assert task.retry_exponential_backoff


@pytest.mark.parametrize(("dag_id", "name"), sorted(EXPECTED.items()))
def test_schedules_equal_the_config(dagbag, dag_id, name):
    config = load_config()
    schedule = getattr(config.schedules, name)
    timetable = dagbag.dags[dag_id].timetable
    cron_timetable = getattr(timetable, "timetable", timetable)  # asset-or-time wraps a cron
    assert cron_timetable.expression == schedule.cron
    assert str(
        getattr(cron_timetable.timezone, "name", cron_timetable.timezone)
    ) == config.schedule_timezone(name)


def test_escalation_alerts_run_after_the_brand_response_check_even_when_it_fails(dagbag):
    # replies are read first (no "no response" notice for a reply already there), but a
    # slow Weibo that fails or times out the check must not stop or retry-delay the alerts
    dag = dagbag.dags["yujing_escalate"]
    check = dag.get_task("check_responses")
    assert check.retries == 0 and check.execution_timeout is not None
    update = dag.get_task("update_incidents")
    assert update.upstream_task_ids == {"check_responses"}
    assert update.trigger_rule == "all_done"
    assert dag.get_task("deliver_notifications").upstream_task_ids == {"update_incidents"}


def test_a_receiver_that_cannot_be_reached_does_not_hold_back_the_next_runs_alerts(dagbag):
    # delivery fails, after sending everything else, while one receiver cannot be reached
    # (SMTP down, a missing Connection), for as long as that lasts. Its three retries (30 s,
    # 1 and 2 min, each up to doubled) kept the run open 3.5-7 minutes more every time, and
    # with one run at a time the next one, with new critical alerts for Slack, waited
    dag = dagbag.dags["yujing_escalate"]
    assert dag.max_active_runs == 1
    deliver = dag.get_task("deliver_notifications")
    assert deliver.retries == 0
    assert not deliver.downstream_task_ids  # nothing else of the run waits for it either


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_a_run_is_red_when_a_task_failed(dagbag, dag_id):
    # Airflow judges a run by its leaves: a task that runs `all_done` (to emit an asset
    # event or deliver alerts whatever happened) would turn a failed brand green, so
    # whatever feeds one is also upstream of an all-success leaf
    dag = dagbag.dags[dag_id]

    def failing_turns_red(task) -> set[str]:
        # tasks whose failure fails `task`: its upstream, and theirs while the rule holds
        found = set(task.upstream_task_ids)
        for up in task.upstream_task_ids:
            if dag.get_task(up).trigger_rule == "all_success":
                found |= failing_turns_red(dag.get_task(up))
        return found

    leaves = [t for t in dag.tasks if not t.downstream_task_ids]
    strict = set().union(*(failing_turns_red(t) for t in leaves if t.trigger_rule == "all_success"))
    for task in dag.tasks:
        if task.trigger_rule != "all_success":
            assert task.upstream_task_ids <= strict, f"{dag_id}.{task.task_id}"


def test_dag_files_import_nothing_heavy_at_module_level():
    for path in DAGS.glob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith(("import ", "from ")):
                module = line.split()[1].split(".")[0]
                assert module not in HEAVY, f"{path.name}: {line}"


def test_invalid_config_fails_every_dag_import_with_the_check_message(tmp_path, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    bad = tmp_path / "bad.yaml"
    bad.write_text("timezone: Asia/Shanghai\nbrands: []\n", encoding="utf-8")
    monkeypatch.setenv("YUJING_CONFIG", str(bad))
    bag = DagBag(dag_folder=str(DAGS))
    assert bag.dag_ids == []
    assert len(bag.import_errors) == len(list(DAGS.glob("yujing_*.py")))
    for message in bag.import_errors.values():
        assert "brands: List should have at least 1 item" in message


def test_tasks_wait_for_a_slow_api_server_instead_of_failing():
    """`make run` starts every part of Airflow at once on a small machine: a task's calls
    to the execution API get 30 s (Airflow's 5 s default failed the first runs)."""
    from airflow.configuration import conf

    assert conf.getfloat("workers", "execution_api_timeout") >= 30
