"""What makes a post a complaint: an escalation signal or an illness alone does not, an
angry reaction to a quoted complaint does (the committed model and lexicon)."""

from __future__ import annotations

import pytest

from nlp import lexicon
from nlp.scorer import complaint_of


@pytest.mark.parametrize(
    "text",
    [
        "好多人都说这本小说的结局太虐了，哭死",  # collective (好多人都), a sad book
        "电动车被偷了，已经报警了，好郁闷",  # regulator_legal (报警), a theft
        "跟前男友彻底掰了，微信拉黑了，好难受",  # collective (拉黑), a break-up
        "家里的狗狗走丢了，求扩散，好着急",  # media (求扩散), a lost dog
        "雨伞又弄丢了，心疼",  # 弄丢 is not a parcel
    ],
)
def test_a_signal_or_a_lost_thing_alone_is_no_complaint(scorer, text):
    score = scorer.score(text)
    assert not score.complaint
    assert "delivery" not in score.categories


@pytest.mark.parametrize("text", ["钱包搞丢了，身份证也在里面，烦死", "钥匙又给丢了"])
def test_losing_ones_own_things_is_no_delivery_problem(text):
    assert "delivery" not in lexicon.match(text).codes("problem")


@pytest.mark.parametrize(
    ("text", "signal"),
    [
        ("沐沐奶粉有异物，已经报警了", "regulator_legal"),
        ("外卖汤洒了一袋子，求扩散，大家避雷", "media"),
        ("商家拒绝退款，已经打了12315", "regulator_legal"),
        ("已经投诉12315了，等结果", "regulator_legal"),
    ],
)
def test_a_signal_still_escalates_a_complaint(scorer, text, signal):
    score = scorer.score(text)
    assert score.complaint and signal in score.signals


def test_a_courier_losing_a_parcel_is_still_a_delivery_complaint(scorer):
    score = scorer.score("快递员把我的包裹弄丢了，还不认账，气死了")
    assert score.complaint and "delivery" in score.categories


def test_signals_alone_add_no_evidence():
    signal_only = lexicon.match("很多人都说已经报警了")
    assert signal_only.codes("signal")
    complaint, score, _, _ = complaint_of(signal_only, None, 0.05, True)
    assert not complaint and score == 0.0
    with_problem = lexicon.match("很多人都说有异物")
    assert (
        complaint_of(with_problem, None, 0.05, True)[1]
        > complaint_of(lexicon.match("有异物"), None, 0.05, True)[1]
    )


@pytest.mark.parametrize(
    "text",
    ["爷爷又住院了，烦死了", "老公骨折住院了，心情很差"],
)
def test_an_illness_with_nothing_bought_names_no_safety_category(scorer, text):
    assert "safety" not in scorer.score(text).categories


def test_a_brand_elsewhere_in_the_post_is_no_product_behind_an_illness():
    protected = lexicon.protected_pattern(["沐沐奶粉", "星辰汽车"])
    ill = lexicon.match("坐星辰汽车去看外婆，外婆住院了", protected)
    assert not ill.codes("problem")
    # ... while the brand in the illness's own clause is one
    caused = lexicon.match("宝宝换了沐沐奶粉以后过敏了", protected)
    assert caused.codes("problem") == ["safety"]


def test_an_angry_repost_of_a_complaint_is_a_complaint(scorer):
    quoted = "//@小李:星辰汽车刚提的车就刹车失灵，差点撞上护栏"
    bare = scorer.score("转发微博" + quoted)
    angry = scorer.score("[怒][怒]" + quoted)
    assert angry.complaint
    assert angry.complaint_score >= bare.complaint_score


def test_a_neutral_or_happy_reposter_does_not_take_the_quoted_evidence(scorer):
    quoted = "//@小李:星辰汽车刚提的车就刹车失灵，差点撞上护栏"
    assert scorer.score("哈哈哈周末去爬山啦[哈哈]" + quoted).complaint is False


@pytest.mark.parametrize(
    "text",
    [
        "宽带隔三差五掉线，已经投诉到通信管理局了",  # 投诉到 complains by itself
        "装修公司收了定金就人去楼空，业主拉了维权群，明天去报警",  # 人去楼空: what happened
    ],
)
def test_a_signal_beside_a_complaint_told_in_everyday_words_still_counts(scorer, text):
    assert scorer.score(text).complaint
