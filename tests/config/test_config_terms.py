"""Brand terms are checked as they are matched: in simplified and traditional characters,
and a term inside another brand's term (every post with the longer one counts for both
brands) is refused like the same term on two brands."""

from __future__ import annotations

import copy

import pytest
import yaml

from yujing.config import DEFAULT_CONFIG_PATH, ConfigError, parse_config

GOOD = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))


def edited(edit) -> dict:
    data = copy.deepcopy(GOOD)
    edit(data)
    return data


def brand(data, code) -> dict:
    return next(b for b in data["brands"] if b["code"] == code)


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


def test_a_term_inside_another_brands_term_is_refused_naming_both():
    data = edited(lambda d: brand(d, "kuaixian")["aliases"].append("沐沐奶"))
    (problem,) = problems_of(data)
    assert problem.startswith("brands[2].aliases[1]: '沐沐奶' (brand kuaixian) is part of")
    assert "'沐沐奶粉'" in problem and "brand mumu" in problem and "brands[0].name" in problem


def test_a_term_inside_another_brands_term_in_another_script_is_refused():
    data = edited(lambda d: brand(d, "kuaixian")["aliases"].append("辰汽車"))
    (problem,) = problems_of(data)
    assert problem.startswith("brands[2].aliases[1]: '辰汽車' (brand kuaixian) is part of")
    assert "brand xingche" in problem


def test_a_latin_term_inside_another_brands_term_counts_as_a_whole_word_only():
    # MuMu is a whole word in MuMu奶粉 (matched there), NIO is not one in Senior奶粉
    data = edited(lambda d: brand(d, "kuaixian")["aliases"].append("MuMu"))
    (problem,) = problems_of(data)
    assert problem.startswith("brands[2].aliases[1]: 'MuMu' (brand kuaixian) is part of")
    data = edited(lambda d: brand(d, "kuaixian")["aliases"].append("NIO"))
    brand(data, "mumu")["aliases"].append("Senior奶粉")
    parse_config(data)


def test_a_brands_own_terms_may_contain_each_other():
    data = edited(lambda d: brand(d, "mumu")["aliases"].append("沐沐奶"))
    assert "沐沐奶" in parse_config(data).brand("mumu").aliases


def test_a_term_inside_another_brands_term_that_it_excludes_is_fine():
    # the shorter term's brand drops posts with the longer terms: nothing counts twice
    data = edited(lambda d: brand(d, "kuaixian")["aliases"].append("星辰"))
    (problem,) = problems_of(data)  # once, though 星辰 is in three of xingche's terms
    assert problem.startswith("brands[2].aliases[1]: '星辰' (brand kuaixian) is part of")
    brand(data, "kuaixian")["exclude"] = ["星辰汽车", "星辰EV", "星辰S7"]
    parse_config(data)


def test_a_term_inside_a_term_that_is_itself_inside_is_reported_once():
    # mumu's 沐沐 is in 沐沐奶 because 沐沐奶 is in mumu's 沐沐奶粉: 沐沐奶 is the problem
    data = edited(lambda d: brand(d, "kuaixian")["aliases"].append("沐沐奶"))
    (problem,) = problems_of(data)
    assert problem.startswith("brands[2].aliases[1]: '沐沐奶'")


def test_two_brands_with_the_same_official_account_are_refused():
    data = edited(lambda d: brand(d, "xingche").update(official_accounts={"weibo": ["5503128761"]}))
    (problem,) = problems_of(data)
    assert problem.startswith("brands[1].official_accounts.weibo[0]: '5503128761' is also")
    assert "brands[0].official_accounts.weibo[0]" in problem
