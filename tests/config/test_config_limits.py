"""Numbers the file accepts are numbers the tasks can use: no infinity or NaN, no time so
long that the datetime arithmetic of a task overflows, no YAML boolean read as 1, and no
fraction where a count of reposts belongs."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
import yaml

from yujing.config import DEFAULT_CONFIG_PATH, ConfigError, load_config, parse_config

TEXT = DEFAULT_CONFIG_PATH.read_text(encoding="utf-8")
GOOD = yaml.safe_load(TEXT)


def with_value(path: tuple, value) -> dict:
    data = copy.deepcopy(GOOD)
    node = data
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return data


def problems_of(data) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse_config(data)
    return exc.value.problems


TIME_SETTINGS = [
    ("retention", "raw_payload_days"),
    ("retention", "snapshots_full_days"),
    ("retention", "downsample_minutes"),
    ("levels", "remind_critical_after_minutes"),
    ("levels", "resolve_after_quiet_minutes"),
    ("thresholds", "track_quiet_hours"),
    ("responses", "targets_minutes", "critical"),
]


@pytest.mark.parametrize("path", TIME_SETTINGS, ids=".".join)
@pytest.mark.parametrize("value", [float("inf"), float("nan"), 10**6 * 1440, 1e12])
def test_an_endless_or_overflowing_time_is_refused(path, value):
    (problem,) = problems_of(with_value(path, value))
    assert problem.startswith(".".join(path) + ":")
    assert "finite" in problem or "at most" in problem


@pytest.mark.parametrize(
    "path",
    [
        ("levels", "watch", "p_viral"),
        ("levels", "critical", "velocity_per_10min"),
        ("levels", "warning", "predicted_reposts"),
        ("levels", "warning", "predicted_max_age_hours"),
        ("thresholds", "horizon_hours"),
    ],
    ids=".".join,
)
def test_infinity_and_nan_are_refused_everywhere(path):
    for value in (float("inf"), float("nan")):
        problems = problems_of(with_value(path, value))
        assert any(p.startswith(".".join(path) + ":") and "finite" in p for p in problems)


def test_yaml_infinity_in_the_file_is_refused_with_its_path(tmp_path):
    path = tmp_path / "inf.yaml"
    path.write_text(TEXT.replace("raw_payload_days: 30", "raw_payload_days: .inf"), "utf-8")
    with pytest.raises(ConfigError, match=r"retention\.raw_payload_days: .*finite"):
        load_config(path)


def test_the_longest_times_accepted_still_work_in_the_tasks():
    """What the check lets through, the tasks' datetime arithmetic can take."""
    from alerts.engine import remind_bucket

    data = with_value(("retention", "raw_payload_days"), 36500)
    data["retention"]["snapshots_full_days"] = 36500
    data["levels"]["remind_critical_after_minutes"] = 36500 * 1440
    data["thresholds"]["track_quiet_hours"] = 36500 * 24
    config = parse_config(data)
    now = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    assert now - dt.timedelta(days=config.retention.raw_payload_days) < now
    assert now + dt.timedelta(hours=config.thresholds.track_quiet_hours) > now
    assert remind_bucket(config, now, now + dt.timedelta(days=1)) == 0


@pytest.mark.parametrize("value", [0.95, 0.5, 0.001])
def test_predicted_reposts_is_a_count_not_a_fraction(value):
    (problem,) = problems_of(with_value(("levels", "warning", "predicted_reposts"), value))
    assert problem.startswith("levels.warning.predicted_reposts:")
    assert "count of reposts" in problem and "not a fraction" in problem


def test_predicted_reposts_of_one_or_more_is_accepted():
    config = parse_config(with_value(("levels", "warning", "predicted_reposts"), 1))
    assert config.levels.warning.predicted_reposts == 1


NUMBERS = [
    ("thresholds", "viral_reposts"),
    ("thresholds", "negative_below"),
    ("thresholds", "horizon_hours"),
    ("levels", "watch", "p_viral"),
    ("levels", "critical", "velocity_per_10min"),
    ("levels", "warning", "predicted_reposts"),
    ("levels", "remind_critical_after_minutes"),
    ("responses", "targets_minutes", "warning"),
    ("responses", "max_comment_pages"),
    ("retention", "downsample_minutes"),
]


@pytest.mark.parametrize("path", NUMBERS, ids=".".join)
def test_a_yaml_boolean_is_not_taken_as_a_number(path):
    problems = problems_of(with_value(path, True))
    assert any(
        p.startswith(".".join(path) + ":") and "true is not a number" in p for p in problems
    ), problems


def test_a_receivers_max_per_hour_is_not_a_boolean():
    data = copy.deepcopy(GOOD)
    data["receivers"][0]["max_per_hour"] = True
    (problem,) = problems_of(data)
    assert problem.startswith("receivers[0].max_per_hour: true is not a number")


def test_numbers_written_as_numbers_still_pass():
    data = with_value(("thresholds", "viral_reposts"), 500)
    data["levels"]["warning"]["predicted_reposts"] = 475
    data["levels"]["remind_critical_after_minutes"] = 30.5
    config = parse_config(data)
    assert config.thresholds.viral_reposts == 500
    assert config.levels.remind_critical_after_minutes == 30.5
