"""Edits that used to pass and do something else (a cron step no cron can take), or that
failed with a message that did not say how to fix them."""

from __future__ import annotations

import copy

import pytest
import yaml

from yujing.config import DEFAULT_CONFIG_PATH, ConfigError, load_config, parse_config

TEXT = DEFAULT_CONFIG_PATH.read_text(encoding="utf-8")
GOOD = yaml.safe_load(TEXT)


def problems_of(data) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse_config(data)
    return exc.value.problems


def problems_of_file(tmp_path, content: bytes) -> list[str]:
    path = tmp_path / "yujing.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    return exc.value.problems


def with_cron(cron: str) -> dict:
    data = copy.deepcopy(GOOD)
    data["schedules"]["spread"]["cron"] = cron
    return data


@pytest.mark.parametrize(
    ("cron", "field", "hint"),
    [
        ("*/90 * * * *", "minute", "0 */2 * * *"),
        ("*/60 * * * *", "minute", "0 * * * *"),
        ("0 */30 * * *", "hour", "0 0 */2 * *"),
        ("0 0 */40 * *", "day of month", None),
        ("0 0 1 */13 *", "month", None),
        ("0 0 * * */8", "day of week", None),
        ("5-50/75 * * * *", "minute", None),
    ],
)
def test_a_cron_step_larger_than_its_field_is_refused(cron, field, hint):
    (problem,) = problems_of(with_cron(cron))
    assert problem.startswith(f"schedules.spread.cron: {cron!r}: the step")
    assert field in problem
    if hint:
        assert hint in problem


@pytest.mark.parametrize("cron", ["*/30 * * * *", "*/59 * * * *", "0 */23 * * *", "0 9 * * 1-5/2"])
def test_cron_steps_within_their_field_pass(cron):
    assert parse_config(with_cron(cron)).schedules.spread.cron == cron


def test_a_non_utf8_file_names_the_line_and_says_to_save_as_utf8(tmp_path):
    # a GBK-saved file: 沐沐奶粉 in GBK on line 18
    content = TEXT.encode("utf-8").replace("沐沐奶粉".encode(), "沐沐奶粉".encode("gbk"), 1)
    line = TEXT[: TEXT.index("沐沐奶粉")].count("\n") + 1
    (problem,) = problems_of_file(tmp_path, content)
    assert f"line {line}" in problem and "save the file as UTF-8" in problem


def test_a_tab_in_the_indentation_says_to_indent_with_spaces(tmp_path):
    content = TEXT.replace("  negative_below: 0.4", "\tnegative_below: 0.4").encode("utf-8")
    (problem,) = problems_of_file(tmp_path, content)
    assert "indent with spaces, not tabs" in problem and problem.startswith("line ")


@pytest.mark.parametrize(("written", "meant"), [("7:00", "07:00"), ("7:5", None), ("24:00", None)])
def test_a_quiet_hour_not_written_hh_mm_says_how(written, meant):
    data = copy.deepcopy(GOOD)
    data["receivers"][1]["quiet_hours"] = {"start": "22:00", "end": written}
    (problem,) = problems_of(data)
    assert problem.startswith(f"receivers[1].quiet_hours.end: {written!r} is not a time")
    assert "HH:MM" in problem
    if meant:
        assert f'"{meant}"' in problem
