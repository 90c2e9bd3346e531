"""Config validation: every broken edit gives a clear message with its path in the file."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import yaml

from yujing.cli import main
from yujing.config import DEFAULT_CONFIG_PATH, ConfigError, load_config, parse_config

GOOD = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))


def broken(edit):
    data = copy.deepcopy(GOOD)
    edit(data)
    return data


def _set(path, value):
    def edit(data):
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return edit


def _delete(path):
    def edit(data):
        node = data
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return edit


CASES = [
    (
        _set(["schedules", "spread", "cron"], "61 * * * *"),
        "schedules.spread.cron: '61 * * * *' is not a valid cron",
    ),
    (
        _set(["schedules", "digest", "cron"], "every day"),
        "schedules.digest.cron: 'every day' is not a 5-field cron",
    ),
    (
        _set(["schedules", "digest", "timezone"], "Asia/Beijing"),
        "schedules.digest.timezone: unknown timezone 'Asia/Beijing'",
    ),
    (_set(["timezone"], "CST"), "timezone: unknown timezone 'CST'"),
    (_set(["brands"], []), "brands: List should have at least 1 item"),
    (_delete(["brands", 0, "name"]), "brands[0].name: Field required"),
    (_set(["brands", 1, "code"], "Xing Che"), "brands[1].code: String should match pattern"),
    (
        _set(["brands", 1, "code"], "mumu"),
        "brands[1].code: brand code 'mumu' is used more than once",
    ),
    (_set(["brands", 0, "aliases"], "沐沐"), "brands[0].aliases: Input should be a valid list"),
    (
        _set(["brands", 0, "colour"], "red"),
        "brands[0].colour: unknown setting 'colour' (the "
        "settings here: aliases, code, competitor, exclude, keywords, name, official_accounts, ",
    ),
    # a misspelt setting names the one meant; one in the wrong place, where it belongs
    (
        _set(["brands", 0, "alias"], ["沐沐"]),
        "brands[0].alias: unknown setting 'alias': did you mean 'aliases'?",
    ),
    (
        _set(["thresholds", "viral_repost"], 500),
        "thresholds.viral_repost: unknown setting 'viral_repost': did you mean 'viral_reposts'?",
    ),
    (
        _set(["quiet_hours"], {"start": "22:00", "end": "07:00"}),
        "quiet_hours: 'quiet_hours' is not a setting here: it belongs at receivers[].quiet_hours",
    ),
    (
        _set(["receivers", 0, "channel"], "#pr"),
        "receivers[0].channel: 'channel' is not a "
        "setting here: it belongs at receivers[].slack.channel",
    ),
    (
        _set(["routing", "routes", 0, "contine"], True),
        "routing.routes[0].contine: unknown setting 'contine': did you mean 'continue'?",
    ),
    # a setting's exact name elsewhere comes before a near spelling here
    (
        _set(["receiver"], "pr-slack"),
        "receiver: 'receiver' is not a setting here: it belongs at routing.receiver or "
        "routing.routes[].receiver, or did you mean 'receivers'?",
    ),
    (
        _set(["thresholds", "negative_below"], 1.5),
        "thresholds.negative_below: Input should be less than 1",
    ),
    (
        _set(["thresholds", "viral_reposts"], "lots"),
        "thresholds.viral_reposts: Input should be a valid integer",
    ),
    (
        _set(["levels", "warning", "p_viral"], 0.9),
        "levels.critical.p_viral: p_viral thresholds must rise",
    ),
    (
        _set(["levels", "critical", "velocity_per_10min"], 10),
        "levels.critical.velocity_per_10min: velocity_per_10min thresholds must rise",
    ),
    (_set(["levels", "watch"], {}), "levels.watch: a level needs at least one trigger"),
    (
        _set(["levels", "warning", "predicted_reposts"], None),
        "levels.warning: predicted_max_age_hours needs predicted_reposts",
    ),
    (
        _set(["levels", "critical", "predicted_reposts"], 500),
        "levels.critical.predicted_reposts: predicted_reposts thresholds must rise",
    ),
    (
        _set(["levels", "watch", "predicted_reposts"], -5),
        "levels.watch.predicted_reposts: Input should be greater than 0",
    ),
    (
        _set(["levels", "critical", "predicted_max_age_hours"], 6),
        "levels.critical: predicted_max_age_hours needs predicted_reposts",
    ),
    (
        _set(["levels", "warning", "predicted_max_age_hours"], 0),
        "levels.warning.predicted_max_age_hours: Input should be greater than 0",
    ),
    (
        _set(["routing", "routes", 0, "receiver"], "pr-wechat"),
        "routing.routes[0].receiver: unknown receiver 'pr-wechat'",
    ),
    (
        _set(["routing", "routes", 1, "match", "level"], ["urgent"]),
        "routing.routes[1].match.level[0]: Input should be 'watch', 'warning' or 'critical'",
    ),
    (
        _set(["routing", "routes", 0, "match", "brand"], ["nosuch"]),
        "routing.routes[0].match.brand[0]: unknown brand 'nosuch'",
    ),
    (
        _set(["routing", "routes", 1, "match", "category"], ["saftey"]),
        "routing.routes[1].match.category[0]: unknown category 'saftey' (one of refund,",
    ),
    (
        _set(["routing", "routes", 1, "match", "platform"], ["douyin"]),
        "routing.routes[1].match.platform[0]: Input should be 'weibo' or 'wechat'",
    ),
    (
        _set(["brands", 0, "keywords"], [" "]),
        "brands[0].keywords[0]: ' ' is blank: a blank term would match every post",
    ),
    (
        _set(["brands", 1, "aliases"], ["星辰EV", "\u3000"]),
        "brands[1].aliases[1]: '\\u3000' is blank",
    ),
    (_set(["brands", 0, "name"], "  "), "brands[0].name: '  ' is blank"),
    (  # a sentence pasted as a keyword: its cursor row would not fit (PostgreSQL refused it)
        _set(["brands", 0, "keywords"], ["沐沐奶粉" * 26]),
        "brands[0].keywords[0]: '沐沐奶粉沐沐奶粉沐沐奶粉沐沐奶粉沐沐奶粉'… is 104 characters: a search term is "
        "at most 100",
    ),
    (_set(["brands", 0, "exclude"], [""]), "brands[0].exclude[0]: '' is blank"),
    (
        _set(["schedules", "digest", "cron"], "0 9 31 2 *"),
        "schedules.digest.cron: '0 9 31 2 *' never fires (no date matches it)",
    ),
    (
        _set(["schedules", "maintenance", "cron"], "30 3 31 4,6,9,11 *"),
        "schedules.maintenance.cron: '30 3 31 4,6,9,11 *' never fires",
    ),
    (
        _set(["receivers", 2, "email", "to"], ["not-an-address"]),
        "receivers[2].email.to: 'not-an-address' is not an email address",
    ),
    (
        _set(["receivers", 1, "email"], {"to": ["a@b.cn"]}),
        "receiver 'pr-slack' must have exactly one of slack, email, webhook, outbox (has slack, email)",
    ),
    (
        _set(["receivers", 1, "slack", "conn_id"], ""),
        "receivers[1].slack.conn_id: String should match pattern",
    ),
    (
        _set(["sources", "weibo", "conn_id"], "weibo default"),
        "sources.weibo.conn_id: String should match pattern",
    ),
    (
        _set(["receivers", 0, "quiet_hours"], {"start": "25:00", "end": "07:00"}),
        "receivers[0].quiet_hours.start: '25:00' is not a time as HH:MM",
    ),
]


@pytest.mark.parametrize(("edit", "message"), CASES, ids=[c[1].split(":")[0] for c in CASES])
def test_each_broken_config_names_its_problem(edit, message):
    with pytest.raises(ConfigError) as info:
        parse_config(broken(edit), "ops.yaml")
    assert message in str(info.value)
    assert str(info.value).startswith("invalid Yujing config ops.yaml")


def test_every_problem_is_reported_at_once():
    def edit(data):
        data["timezone"] = "Nowhere/Zone"
        data["schedules"]["spread"]["cron"] = "* * *"
        data["thresholds"]["viral_reposts"] = 0

    with pytest.raises(ConfigError) as info:
        parse_config(broken(edit), "ops.yaml")
    assert len(info.value.problems) == 3


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("brands:\n  - code: mumu\n    name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"line \d+, column \d+: YAML syntax error"):
        load_config(path)


def test_missing_file_and_non_mapping(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_config(tmp_path / "absent.yaml")
    path = tmp_path / "list.yaml"
    path.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="must be a YAML mapping"):
        load_config(path)


def test_a_non_utf8_file_is_a_one_line_error_not_a_traceback(tmp_path, capsys):
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"brands:\n  - code: \xff\xfe\n")
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_config(path)
    assert main(["config", "check", str(path)]) == 1
    err = capsys.readouterr().err
    assert "not UTF-8 text" in err and "Traceback" not in err


def test_db_upgrade_with_a_bad_url_is_a_one_line_error(tmp_path, capsys):
    assert main(["db", "upgrade", "--url", "notaurl"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("yujing db upgrade: bad warehouse URL") and err.count("\n") == 1
    blocked = tmp_path / "file"
    blocked.write_text("")  # a file where the SQLite folder would have to be
    assert main(["db", "upgrade", "--url", f"sqlite:///{blocked}/w.db"]) == 1
    assert "cannot open the warehouse" in capsys.readouterr().err


def test_route_categories_are_the_labels_incidents_carry():
    """A route can match every category an incident is filed under, and nothing else."""
    from alerts.engine import UNCATEGORISED
    from nlp.lexicon import CATEGORY_CODES
    from yujing.config import ROUTE_CATEGORIES

    assert set(ROUTE_CATEGORIES) == {*CATEGORY_CODES, UNCATEGORISED}
    edit = _set(["routing", "routes", 1, "match", "category"], ["safety", UNCATEGORISED])
    assert parse_config(broken(edit)).routing.routes[1].match.category == ["safety", "negative"]


def test_search_terms_are_stripped():
    edit = _set(["brands", 0, "aliases"], [" 沐沐 ", "MuMu奶粉\n"])
    brand = parse_config(broken(edit)).brand("mumu")
    assert brand.aliases == ["沐沐", "MuMu奶粉"]
    assert not brand.matches("快鲜外卖 送餐太慢 了")


@pytest.mark.parametrize(
    "cron", ["0 9 * * 5#3", "0 9 L * *", "0 9 1W * *", "0 9 ? * MON-FRI", "0 9 29 2 *"]
)
def test_cron_forms_airflow_accepts_are_accepted(cron):
    """The DAGs hand the cron to Airflow's CronTriggerTimetable (croniter underneath): what
    it can schedule passes the check."""
    import pendulum
    from airflow.timetables.base import TimeRestriction
    from airflow.timetables.trigger import CronTriggerTimetable

    timetable = CronTriggerTimetable(cron, timezone="Asia/Shanghai")
    timetable.validate()
    restriction = TimeRestriction(pendulum.datetime(2026, 1, 1), None, catchup=True)
    assert timetable.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
    config = parse_config(broken(_set(["schedules", "digest", "cron"], cron)))
    assert config.schedules.digest.cron == cron


@pytest.mark.parametrize(
    "preset", ["@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly"]
)
def test_airflow_cron_presets_are_accepted_as_airflow_expands_them(preset):
    from airflow.sdk import CronTriggerTimetable

    config = parse_config(broken(_set(["schedules", "digest", "cron"], preset)))
    expanded = CronTriggerTimetable(preset, timezone="Asia/Shanghai").expression
    assert config.schedules.digest.cron == expanded


def test_duplicate_yaml_keys_are_refused_with_path_and_lines(tmp_path):
    """YAML keeps the last of two equal keys silently: a second `thresholds:` block would
    quietly undo the first, so the file is refused instead."""
    path = tmp_path / "dup.yaml"
    path.write_text(
        "brands:\n"
        "  - code: mumu\n"
        "    name: 沐沐奶粉\n"
        "    name: 沐沐\n"
        "thresholds:\n"
        "  viral_reposts: 500\n"
        "thresholds:\n"
        "  negative_below: 0.3\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.problems == [
        "brands[0]: duplicate key 'name' (lines 3 and 4): YAML would silently keep only the "
        "last one",
        "(top level): duplicate key 'thresholds' (lines 5 and 7): YAML would silently keep "
        "only the last one",
    ]


def test_yaml_anchors_and_merge_keys_are_not_duplicates(tmp_path):
    path = tmp_path / "merge.yaml"
    path.write_text(
        "x-brand: &brand {code: mumu, name: 沐沐奶粉, aliases: [沐沐]}\n"
        "brands:\n"
        "  - <<: *brand\n"
        "    aliases: [MuMu]\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:  # x-brand is not a setting; nothing else is wrong
        load_config(path)
    (problem,) = info.value.problems
    assert problem.startswith("x-brand: unknown setting 'x-brand': the file holds settings only")
    path.write_text(path.read_text(encoding="utf-8").replace("x-brand:", "brands:"))
    with pytest.raises(ConfigError, match="duplicate key 'brands' \\(lines 1 and 2\\)"):
        load_config(path)


def test_shipped_config_is_valid():
    config = load_config(DEFAULT_CONFIG_PATH)
    assert [b.code for b in config.brands][:2] == ["mumu", "xingche"]
    assert config.brand("mumu").matches("沐沐奶粉里有异物")
    assert not config.brand("mumu").matches("沐沐的猫 今天很乖 沐沐")  # excluded word


def test_config_check_cli_exit_codes(tmp_path, capsys):
    assert main(["config", "check", str(DEFAULT_CONFIG_PATH)]) == 0
    assert "OK" in capsys.readouterr().out
    path = tmp_path / "bad.yaml"
    path.write_text(
        yaml.safe_dump(broken(_set(["timezone"], "CST")), allow_unicode=True), encoding="utf-8"
    )
    assert main(["config", "check", str(path)]) == 1
    assert "timezone: unknown timezone 'CST'" in capsys.readouterr().err


def test_config_check_as_a_command(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        yaml.safe_dump(broken(_set(["thresholds", "viral_reposts"], -1))), encoding="utf-8"
    )
    result = subprocess.run(
        [sys.executable, "-m", "yujing.cli", "config", "check", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "thresholds.viral_reposts: Input should be greater than or equal to 1" in result.stderr


def _problems(edit) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(broken(edit), "ops.yaml")
    return info.value.problems


def _edits(*edits):
    def edit(data):
        for one in edits:
            one(data)

    return edit


def test_field_and_cross_reference_problems_are_all_reported_each_with_its_path():
    """A field error does not hide the cross-checks: every problem is its own line."""
    problems = _problems(
        _edits(
            _set(["thresholds", "negative_below"], 1.4),
            _set(["brands", 1, "code"], "mumu"),
            _set(["routing", "routes", 1, "receiver"], "pr-emial"),
        )
    )
    assert len(problems) == 3, problems
    assert "thresholds.negative_below: Input should be less than 1" in problems
    assert any(
        p.startswith("brands[1].code: brand code 'mumu' is used more than once") for p in problems
    )
    assert "routing.routes[1].receiver: unknown receiver 'pr-emial'" in problems


def test_cross_reference_problems_are_separate_lines_with_their_own_paths():
    problems = _problems(
        _edits(
            _set(["brands", 1, "code"], "mumu"),
            _set(["levels", "critical", "p_viral"], 0.1),
            _set(["routing", "routes", 1, "receiver"], "pr-emial"),
            _set(["routing", "routes", 0, "match", "brand"], ["mumu", "nosuch"]),
        )
    )
    assert len(problems) == 4, problems
    assert not any(p.startswith("(top level)") for p in problems)
    paths = sorted(p.split(":")[0] for p in problems)
    assert paths == [
        "brands[1].code",
        "levels.critical.p_viral",
        "routing.routes[0].match.brand[1]",
        "routing.routes[1].receiver",
    ]


def test_level_order_is_checked_even_when_another_section_fails():
    problems = _problems(
        _edits(_set(["timezone"], "CST"), _set(["levels", "critical", "p_viral"], 0.1))
    )
    assert len(problems) == 2, problems
    assert any(
        p.startswith("levels.critical.p_viral: p_viral thresholds must rise") for p in problems
    )


def test_duplicate_receiver_names_each_get_their_path():
    problems = _problems(_set(["receivers", 2, "name"], "pr-slack"))
    assert (
        "receivers[2].name: receiver 'pr-slack' is defined more than once (first at receivers[1])"
        in problems
    )
    # routes to pr-email now name an unknown receiver, each on its own line
    assert "routing.routes[1].receiver: unknown receiver 'pr-email'" in problems


def test_config_validated_directly_reports_each_cross_reference_problem():
    from pydantic import ValidationError

    from yujing.config import Config

    data = broken(
        _edits(_set(["brands", 1, "code"], "mumu"), _set(["routing", "receiver"], "nobody"))
    )
    with pytest.raises(ValidationError) as info:
        Config.model_validate(data)
    assert sorted(e["loc"] for e in info.value.errors()) == [
        ("brands", 1, "code"),
        ("routing", "receiver"),
    ]


def test_a_duplicate_yaml_key_does_not_hide_a_bad_value(tmp_path):
    text = DEFAULT_CONFIG_PATH.read_text(encoding="utf-8")
    text = text.replace("  negative_below: 0.4", "  negative_below: 1.4\n  horizon_hours: 48", 1)
    path = tmp_path / "e1.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    problems = info.value.problems
    assert len(problems) == 2, problems
    assert any(p.startswith("thresholds: duplicate key 'horizon_hours'") for p in problems)
    assert "thresholds.negative_below: Input should be less than 1" in problems


def test_config_check_cli_lists_every_problem(tmp_path, capsys):
    text = DEFAULT_CONFIG_PATH.read_text(encoding="utf-8")
    text = text.replace("  negative_below: 0.4", "  negative_below: 1.4", 1)
    text = text.replace("  - code: xingche", "  - code: mumu", 1)
    text = text.replace("receiver: pr-email", "receiver: pr-emial", 1)
    path = tmp_path / "d1.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["config", "check", str(path)]) == 1
    err = capsys.readouterr().err
    assert "3 problem(s)" in err
    assert "  - thresholds.negative_below: Input should be less than 1" in err
    assert "  - brands[1].code: brand code 'mumu' is used more than once" in err
    assert "  - routing.routes[1].receiver: unknown receiver 'pr-emial'" in err


def test_an_invalid_threshold_is_reported_once_by_its_field_error():
    problems = _problems(_set(["levels", "critical", "p_viral"], -0.1))
    assert problems == ["levels.critical.p_viral: Input should be greater than or equal to 0"]


def test_a_long_exclude_phrase_is_fine_it_is_never_searched():
    # the 100-character limit is for searched terms (their ingest cursor row must fit)
    config = parse_config(broken(_set(["brands", 0, "exclude"], ["沐沐奶粉过期" * 20])), "ops.yaml")
    assert len(config.brands[0].exclude[0]) == 120
