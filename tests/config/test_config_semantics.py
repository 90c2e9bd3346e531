"""Config settings that used to be accepted and then silently did nothing (or the wrong
thing): each is now refused with its path and how to fix it, or honoured."""

from __future__ import annotations

import copy

import pytest
import yaml

from yujing.config import DEFAULT_CONFIG_PATH, ConfigError, load_config, parse_config

TEXT = DEFAULT_CONFIG_PATH.read_text(encoding="utf-8")
GOOD = yaml.safe_load(TEXT)


def edited(edit) -> dict:
    data = copy.deepcopy(GOOD)
    edit(data)
    return data


def problems_of(data) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse_config(data)
    return exc.value.problems


def problems_of_text(tmp_path, text: str) -> list[str]:
    path = tmp_path / "yujing.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    return exc.value.problems


def brand(data, code) -> dict:
    return next(b for b in data["brands"] if b["code"] == code)


# --- 2. official accounts --------------------------------------------------------------


def test_a_screen_name_is_not_a_weibo_uid():
    data = edited(
        lambda d: brand(d, "mumu").update(official_accounts={"weibo": ["沐沐奶粉官方微博"]})
    )
    (problem,) = problems_of(data)
    assert problem.startswith("brands[0].official_accounts.weibo[0]: '沐沐奶粉官方微博' is not a")
    assert "numeric uid" in problem and "not its screen name" in problem


def test_a_uid_with_spaces_is_stripped_and_a_bare_number_taken_as_digits(tmp_path):
    data = edited(lambda d: brand(d, "mumu").update(official_accounts={"weibo": [" 5503128761 "]}))
    assert parse_config(data).brand("mumu").official_accounts["weibo"] == ["5503128761"]
    path = tmp_path / "uid.yaml"
    path.write_text(TEXT.replace('weibo: ["5503128761"]', "weibo: [5503128761]"), "utf-8")
    assert load_config(path).brand("mumu").official_accounts["weibo"] == ["5503128761"]


def test_a_wechat_account_is_its_biz():
    ok = edited(
        lambda d: brand(d, "mumu").update(official_accounts={"wechat": ["MzA1MjM0NTY3OA=="]})
    )
    assert parse_config(ok).brand("mumu").official_accounts["wechat"] == ["MzA1MjM0NTY3OA=="]
    bad = edited(lambda d: brand(d, "mumu").update(official_accounts={"wechat": ["沐沐奶粉 官方"]}))
    (problem,) = problems_of(bad)
    assert problem.startswith("brands[0].official_accounts.wechat[0]:")
    assert "__biz" in problem
    gh = edited(lambda d: brand(d, "mumu").update(official_accounts={"wechat": ["gh_3f2a1b"]}))
    (problem,) = problems_of(gh)
    assert problem.startswith("brands[0].official_accounts.wechat[0]:") and "original id" in problem


# --- 3. watchlist terms ----------------------------------------------------------------


def test_a_term_on_two_brands_is_refused_with_both_paths():
    data = edited(lambda d: brand(d, "mumu")["aliases"].append("快鲜"))
    (problem,) = problems_of(data)
    assert problem.startswith("brands[2].aliases[0]: '快鲜' is also a search term")
    assert "brands[0].aliases[2]" in problem


def test_a_term_differing_only_in_case_or_width_is_the_same_term():
    data = edited(lambda d: brand(d, "kuaixian")["aliases"].append("ＭＵＭＵ奶粉"))
    (problem,) = problems_of(data)
    assert "brands[0].aliases[1]" in problem and problem.startswith("brands[2].aliases[1]")


def test_an_exclude_word_inside_a_search_term_is_refused():
    data = edited(lambda d: brand(d, "mumu").update(exclude=["沐沐"]))
    (problem,) = problems_of(data)
    assert problem.startswith("brands[0].exclude[0]: excluded word '沐沐' is part of")
    assert "brands[0].name" in problem and "would be dropped" in problem


def test_an_exclude_word_equal_to_a_keyword_is_refused():
    data = edited(lambda d: brand(d, "xingche").update(exclude=["星辰s7"]))
    (problem,) = problems_of(data)
    assert problem.startswith("brands[1].exclude[0]:") and "brands[1].keywords[0]" in problem


def test_a_one_character_search_term_is_refused():
    data = edited(lambda d: brand(d, "mumu").update(keywords=["奶"]))
    (problem,) = problems_of(data)
    assert problem.startswith("brands[0].keywords[0]: '奶' is a single character")


@pytest.mark.parametrize("trigger", ["p_viral", "velocity_per_10min"])
def test_a_level_trigger_of_zero_is_refused(trigger):
    data = edited(lambda d: d["levels"]["watch"].update({trigger: 0}))
    (problem,) = problems_of(data)
    assert problem.startswith(f"levels.watch.{trigger}: 0 is met by every post")
    assert "leave the trigger out" in problem


# --- 4. brand matching -----------------------------------------------------------------


def test_matching_ignores_case_width_and_traditional_characters():
    config = load_config()
    xingche, mumu = config.brand("xingche"), config.brand("mumu")
    assert xingche.matches("星辰s7刹车失灵，4S店不管")
    assert xingche.matches("星辰Ｓ７刹车失灵")
    assert xingche.matches("星辰汽車刹车失灵")  # traditional 車
    assert mumu.matches("MUMU奶粉喝出异物") and mumu.matches("mumu奶粉喝出异物")
    assert not mumu.matches("沐沐的貓 MuMu奶粉")  # the excluded word, traditional and all


def test_a_latin_term_matches_as_a_whole_word_only():
    # with case folded, NIO was found in "senior" and "UnionPay": another team paged
    data = edited(lambda d: d["brands"].append(
        {"code": "nio", "name": "蔚来汽车", "aliases": ["NIO"]}))  # fmt: skip
    nio = parse_config(data).brand("nio")
    assert not nio.matches("沐沐奶粉的客服太差了，我用UnionPay付的款到现在没退")
    assert not nio.matches("my senior colleague")
    assert nio.matches("买了NIO的车") and nio.matches("nio es8 刹车失灵") and nio.matches("NIO!")
    assert load_config().brand("xingche").matches("星辰S7刹车失灵")  # Chinese on one side


def test_ingest_files_a_post_written_in_another_case_under_the_brand():
    import datetime as dt

    from ingest.run import mention_rows
    from ingest.weibo_parse import Mention

    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    post = Mention("weibo", "1", "星辰s7刹车失灵", now, "42", "u", 10, False, *[None] * 4, 0, 0, 0)
    assert [r["brand"] for r in mention_rows(load_config(), post, "{}", now)] == ["xingche"]


def test_brand_terms_are_normalised_once_not_per_post(monkeypatch):
    import yujing.config as cfg

    brand_ = load_config().brand("mumu")
    brand_.matches("warm up")
    calls = []
    real = cfg.fold
    monkeypatch.setattr(cfg, "fold", lambda t: calls.append(t) or real(t))
    for i in range(20):
        brand_.matches(f"沐沐奶粉 post {i}")
    assert len(calls) == 20  # one per post, none for the brand's terms


# --- 6. settings accepted, then ignored -------------------------------------------------


def test_quiet_hours_that_start_when_they_end_are_refused():
    data = edited(
        lambda d: d["receivers"][1].update(quiet_hours={"start": "22:00", "end": "22:00"})
    )
    (problem,) = problems_of(data)
    assert problem.startswith("receivers[1].quiet_hours: start and end are both 22:00")


def test_an_outbox_directory_is_honoured_and_unknown_keys_refused(tmp_path):
    from alerts.channels import channel_for_receiver

    data = edited(lambda d: d["receivers"][0].update(outbox={"dir": str(tmp_path / "box")}))
    channel = channel_for_receiver(parse_config(data).receiver("outbox"), None)
    assert channel.directory == tmp_path / "box"
    (problem,) = problems_of(edited(lambda d: d["receivers"][0].update(outbox={"path": "/x"})))
    assert problem == "receivers[0].outbox.path: unknown setting 'path' (the settings here: dir)"
    (problem,) = problems_of(edited(lambda d: d["receivers"][0].update(outbox={"dir": "box"})))
    assert problem.startswith("receivers[0].outbox.dir: 'box' is a relative path")
    a_file = tmp_path / "notadir"
    a_file.write_text("x")
    (problem,) = problems_of(
        edited(lambda d: d["receivers"][0].update(outbox={"dir": str(a_file)}))
    )
    assert problem.endswith("exists and is not a directory: nothing could be written there")


def test_an_empty_outbox_says_to_write_braces(tmp_path):
    (problem,) = problems_of_text(tmp_path, TEXT.replace("outbox: {}", "outbox:"))
    assert "write outbox: {}" in problem


def test_a_route_on_a_competitor_is_refused():
    data = edited(lambda d: d["routing"]["routes"][1]["match"].update(brand=["kuaixian"]))
    (problem,) = problems_of(data)
    assert problem.startswith("routing.routes[1].match.brand: 'kuaixian': competitors never")
    # a competitor beside one of ours is harmless: making a brand a competitor must not
    # turn a shared route into an error that stops every DAG
    shared = edited(lambda d: d["routing"]["routes"][1]["match"].update(brand=["mumu", "kuaixian"]))
    assert parse_config(shared).routing.routes[1].match.brand == ["mumu", "kuaixian"]


def test_an_empty_matcher_is_refused():
    data = edited(lambda d: d["routing"]["routes"][1]["match"].update(level=[]))
    (problem,) = problems_of(data)
    assert problem.startswith("routing.routes[1].match.level: an empty list matches nothing")


def test_a_receiver_nothing_reaches_is_refused_by_name():
    data = edited(
        lambda d: d["receivers"].append(
            {"name": "ops-dingtalk", "webhook": {"conn_id": "dingtalk_ops", "kind": "dingtalk"}}
        )
    )
    (problem,) = problems_of(data)
    assert problem.startswith("receivers[3]: receiver 'ops-dingtalk' is never sent anything")


def test_a_receiver_reached_only_by_the_ops_route_is_fine():
    def edit(d):
        d["receivers"].append({"name": "ops-dingtalk", "webhook": {"conn_id": "dingtalk_ops"}})
        d["routing"]["routes"].insert(
            0, {"match": {"category": ["ops"]}, "receiver": "ops-dingtalk"}
        )

    assert parse_config(edited(edit)).receiver("ops-dingtalk").webhook.conn_id == "dingtalk_ops"


# --- 7. unquoted YAML ------------------------------------------------------------------


def test_an_unquoted_time_gets_a_quoting_hint(tmp_path):
    # YAML 1.1 reads 22:00 and 7:30 as base-60 numbers (07:00, with its 0, stays text)
    quiet = "    quiet_hours: {start: 22:00, end: 7:30}\n"
    text = TEXT.replace("  - name: pr-slack\n", "  - name: pr-slack\n" + quiet)
    assert problems_of_text(tmp_path, text) == [
        "receivers[1].quiet_hours.start: YAML read an unquoted time as the number 1320: "
        'quote the time: "22:00"',
        "receivers[1].quiet_hours.end: YAML read an unquoted time as the number 450: "
        'quote the time: "07:30"',
    ]


def test_a_number_where_text_belongs_gets_a_quoting_hint(tmp_path):
    (problem,) = problems_of_text(tmp_path, TEXT.replace("name: 沐沐奶粉", "name: 3721"))
    assert problem == (
        "brands[0].name: Input should be a valid string (YAML read it as the number 3721: "
        'quote it, "3721")'
    )


def test_the_shipped_config_is_still_valid():
    config = load_config()
    assert [b.code for b in config.brands] == ["mumu", "xingche", "kuaixian"]
