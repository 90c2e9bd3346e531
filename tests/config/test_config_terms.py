"""Brand terms are checked as they are matched: in simplified and traditional characters.
The same term on two brands is refused; a term inside another brand's term (every post
with the longer one counts for both) and one account under two brands are warned about by
`yujing config check`, not refused: 小米 beside 小米汽车 is a real brand set, and refusing
it made every DAG fail to import."""

from __future__ import annotations

import copy

import pytest
import yaml

from yujing.config import DEFAULT_CONFIG_PATH, ConfigError, parse_config, term_warnings

GOOD = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))


def edited(edit) -> dict:
    data = copy.deepcopy(GOOD)
    edit(data)
    return data


def brand(data, code) -> dict:
    return next(b for b in data["brands"] if b["code"] == code)


def warnings_of(data) -> list[str]:
    return term_warnings(parse_config(data))


def problems_of(data) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse_config(data)
    return exc.value.problems


def test_a_term_in_traditional_characters_is_the_same_term_as_its_simplified_form():
    # 星辰汽車 is xingche's 星辰汽车: posts with either count for both brands
    data = edited(lambda d: brand(d, "kuaixian")["aliases"].append("星辰汽車"))
    (problem,) = problems_of(data)
    assert problem.startswith("brands[2].aliases[1]: '星辰汽車' is also a search term")
    assert "brands[1].name" in problem


def test_an_excluded_word_in_traditional_characters_inside_a_term_is_refused():
    # matching compares every script: 汽車 would drop every post 星辰汽车 finds
    data = edited(lambda d: brand(d, "xingche").update(exclude=["汽車"]))
    (problem,) = problems_of(data)
    assert problem.startswith("brands[1].exclude[0]: excluded word '汽車' is part of")
    assert "'星辰汽车'" in problem


def test_a_term_inside_another_brands_term_is_a_warning_naming_both():
    data = edited(lambda d: brand(d, "kuaixian")["aliases"].append("沐沐奶"))
    (warning,) = warnings_of(data)
    assert warning.startswith("brands[2].aliases[1]: '沐沐奶' (brand kuaixian) is part of")
    assert "'沐沐奶粉'" in warning and "brand mumu" in warning and "brands[0].name" in warning
    assert "never kuaixian's" in warning  # what an exclude would cost, said


def test_a_real_brand_set_with_a_shorter_name_loads():
    # 小米 beside 小米汽车 (a group and its car brand) was refused: every DAG failed to import
    def edit(d):
        brand(d, "mumu").update(name="小米", aliases=["Xiaomi"], exclude=[])
        brand(d, "xingche").update(name="小米汽车", aliases=["Xiaomi EV"], exclude=[])

    config = parse_config(edited(edit))
    assert config.brand("mumu").name == "小米"
    assert any("'小米' (brand mumu) is part of '小米汽车'" in w for w in term_warnings(config))


def test_a_term_inside_another_brands_term_in_another_script_is_a_warning():
    data = edited(lambda d: brand(d, "kuaixian")["aliases"].append("辰汽車"))
    (warning,) = warnings_of(data)
    assert warning.startswith("brands[2].aliases[1]: '辰汽車' (brand kuaixian) is part of")
    assert "brand xingche" in warning


def test_a_latin_term_inside_another_brands_term_counts_as_a_whole_word_only():
    # MuMu is a whole word in MuMu奶粉 (matched there), NIO is not one in Senior奶粉
    data = edited(lambda d: brand(d, "kuaixian")["aliases"].append("MuMu"))
    (warning,) = warnings_of(data)
    assert warning.startswith("brands[2].aliases[1]: 'MuMu' (brand kuaixian) is part of")
    data = edited(lambda d: brand(d, "kuaixian")["aliases"].append("NIO"))
    brand(data, "mumu")["aliases"].append("Senior奶粉")
    assert warnings_of(data) == []


def test_a_brands_own_terms_may_contain_each_other():
    data = edited(lambda d: brand(d, "mumu")["aliases"].append("沐沐奶"))
    assert "沐沐奶" in parse_config(data).brand("mumu").aliases and warnings_of(data) == []


def test_a_term_inside_another_brands_term_that_it_excludes_is_not_warned_about():
    # the shorter term's brand drops posts with the longer terms: nothing counts twice
    # (星辰 is also part of everyday words, 日月星辰: that warning is not this test's)
    data = edited(lambda d: brand(d, "kuaixian")["aliases"].append("星辰"))
    (warning, everyday) = warnings_of(data)  # once, though 星辰 is in three of xingche's terms
    assert warning.startswith("brands[2].aliases[1]: '星辰' (brand kuaixian) is part of")
    assert everyday.startswith("brands[2].aliases[1]: '星辰' is part of everyday words")
    brand(data, "kuaixian")["exclude"] = ["星辰汽车", "星辰EV", "星辰S7"]
    assert [w for w in warnings_of(data) if "everyday" not in w] == []


def test_a_term_inside_a_term_that_is_itself_inside_is_reported_once():
    # mumu's 沐沐 is in 沐沐奶 because 沐沐奶 is in mumu's 沐沐奶粉: 沐沐奶 is the one
    data = edited(lambda d: brand(d, "kuaixian")["aliases"].append("沐沐奶"))
    (warning,) = warnings_of(data)
    assert warning.startswith("brands[2].aliases[1]: '沐沐奶'")


def test_one_official_account_under_two_brands_is_a_warning():
    data = edited(lambda d: brand(d, "xingche").update(official_accounts={"weibo": ["5503128761"]}))
    (warning,) = warnings_of(data)
    assert warning.startswith("brands[1].official_accounts.weibo[0]: '5503128761' is also")
    assert "brands[0].official_accounts.weibo[0]" in warning


def test_config_check_prints_the_warnings_and_passes(tmp_path, capsys):
    from yujing.cli import main

    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(edited(lambda d: brand(d, "kuaixian")["aliases"].append(
        "沐沐奶")), allow_unicode=True), encoding="utf-8")  # fmt: skip
    assert main(["config", "check", str(path)]) == 0
    captured = capsys.readouterr()
    assert (
        captured.err.startswith("warning: brands[2].aliases[1]: '沐沐奶'") and "OK" in captured.out
    )


# --- terms that are ordinary words (jieba's dictionary of general Chinese) ----------------


def test_a_term_inside_everyday_words_is_a_warning_saying_what_to_exclude():
    # 星辰 (the stars) beside 星辰汽车 filed every 日月星辰/星辰大海 post under the car brand
    data = edited(lambda d: brand(d, "xingche")["aliases"].append("星辰"))
    (warning,) = warnings_of(data)
    assert warning.startswith("brands[1].aliases[1]: '星辰' is part of everyday words (日月星辰")
    assert "exclude" in warning and "'星辰汽车'" in warning  # what to do: exclude, or longer
    assert warning.count("\n") == 0
    # excluding the everyday words it is part of answers it
    brand(data, "xingche")["exclude"] = ["日月星辰"]
    assert warnings_of(data) == []


def test_an_everyday_word_as_a_brand_name_is_a_warning_until_its_senses_are_excluded():
    data = edited(lambda d: brand(d, "mumu").update(name="理想", aliases=[], keywords=[]))
    (warning,) = warnings_of(data)
    assert warning.startswith("brands[0].name: '理想' is an everyday word")
    assert "理想主义" in warning and "exclude" in warning
    brand(data, "mumu")["exclude"] = ["理想主义", "理想国"]
    assert warnings_of(data) == []


def test_brand_names_that_are_no_everyday_word_are_not_warned_about():
    # 蔚来, 华为: names, not words of general Chinese; the shipped config has none either
    assert warnings_of(GOOD) == []
    data = edited(lambda d: brand(d, "mumu").update(name="蔚来", aliases=["华为"], keywords=[]))
    assert warnings_of(data) == []


def test_config_check_prints_the_everyday_word_warning_and_passes(tmp_path, capsys):
    from yujing.cli import main

    path = tmp_path / "c.yaml"
    data = edited(lambda d: brand(d, "xingche")["aliases"].append("星辰"))
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert main(["config", "check", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.err.startswith("warning: brands[1].aliases[1]: '星辰' is part of everyday")
    assert captured.err.count("\n") == 1 and "OK" in captured.out
