"""Categories and signals of complaints told in everyday words (lexicon.CATEGORY_HINTS,
lexicon.SIGNAL_HINTS).

None of the examples is taken from the probe files: they are written for these tests.
"""

from __future__ import annotations

import pytest

from nlp import lexicon
from nlp.lexicon import (
    CATEGORY_CODES,
    CATEGORY_HINTS,
    SIGNAL_CODES,
    SIGNAL_HINTS,
    hinted_codes,
    protected_pattern,
)
from nlp.normalize import normalize
from nlp.scorer import with_hints

# one everyday complaint per category, with no problem term of that category in it
EVERYDAY = {
    "refund": "健身房老板人去楼空，我卡里还有两千多",
    "after_sales": "冰箱报修五天了，说师傅下周才能上门",
    "quality": "新买的台灯用了一晚就不亮，开关按了没反应",
    "safety": "充电宝放在床头突然冒出火花，吓得我赶紧拔了",
    "counterfeit": "包装上的防伪码扫出来是别的商品",
    "service_attitude": "问了两句柜员就不耐烦，说要办就办不办就走",
    "delivery": "快递员把包裹扔在门口就走了，也不打个电话",
    "pricing": "物业费账单上多了一笔管理费，谁也说不清是什么",
    "false_ads": "直播间说是纯羊毛，到手标签上写的是腈纶",
    "privacy": "刚在楼盘留了电话，第二天就接到五个装修推销",
}
EVERYDAY_SIGNALS = {
    "regulator_legal": "押金拖了三个月不退，我已经把材料交到交通局了",
    "media": "手机刚过保就黑屏，我准备把维修记录全部公之于众",
    "collective": "小区业主群里统计出十几户的热水器都漏水",
}


@pytest.mark.parametrize("code", CATEGORY_CODES)
def test_each_category_is_named_by_everyday_wording(code):
    text = EVERYDAY[code]
    assert code not in lexicon.match(text).codes(lexicon.PROBLEM), text
    assert code in hinted_codes(text)


@pytest.mark.parametrize("code", SIGNAL_CODES)
def test_each_signal_is_named_by_everyday_wording(code):
    text = EVERYDAY_SIGNALS[code]
    assert code not in lexicon.match(text).codes(lexicon.SIGNAL), text
    assert code in hinted_codes(text)


def test_hints_are_not_lexicon_terms_of_their_own_code():
    # a hint that is already a term or topic of its code would add nothing
    roles = lexicon._roles()
    for hints, codes in ((CATEGORY_HINTS, CATEGORY_CODES), (SIGNAL_HINTS, SIGNAL_CODES)):
        for code, words in hints.items():
            assert code in codes
            assert len(set(words)) == len(words), code
            for w in words:
                assert not {(k, c) for k, c in roles.get(w, []) if c == code}, w


def test_a_denied_or_worried_hint_names_nothing():
    assert "pricing" not in hinted_codes("这家店从来没有额外收过费")
    assert "pricing" in hinted_codes("结账时额外收了五十块")
    assert "safety" not in hinted_codes("担心刹车，试驾了三次")


def test_a_hint_inside_a_brand_name_names_nothing():
    brand = protected_pattern(["小虫科技"])
    text = "小虫科技的客服问了两句就不耐烦"
    assert "safety" in hinted_codes(text)  # 小虫, as in a bug in the food
    assert hinted_codes(text, brand) == {"service_attitude"}


def test_a_repost_adds_the_categories_of_the_post_it_complains_about():
    norm = normalize("一模一样，我也是//@小王:快递员把包裹扔在门口就走了，业主群里都在骂")
    assert with_hints(["quality"], [], norm) == (["quality", "delivery"], ["collective"])
    # a question about a regulator is no threat to go to one
    assert with_hints([], [], norm, signals_too=False) == (["delivery"], [])


def test_hints_name_categories_of_complaints_only(scorer):
    # never evidence of a complaint: a thankful or a worried post stays one
    thanks, worry = scorer.score_batch(
        ["快递小哥冒着大雨送上楼，太感动了", "明天坐高铁回家，有点担心晚点"]
    )
    assert not thanks.complaint and thanks.categories == []
    assert not worry.complaint and worry.categories == []
    complaint = scorer.score("快递员把包裹扔在门口就走了，下楼一看被雨泡烂了，太气人了")
    assert complaint.complaint and "delivery" in complaint.categories
    threat = scorer.score(
        "快递员把包裹扔在门口就走了，下楼一看被雨泡烂了，已经打了邮政管理局的电话"
    )
    assert threat.complaint and threat.signals == ["regulator_legal"]
    asks = scorer.score("包裹被扔在门口泡烂了，请问找邮政管理局有用吗？")
    assert asks.signals == []
