"""Words that contain a negation character but deny nothing (不过, 特别, 不得不), and
negations told with a verb between (从来没碰到过), read by the lexicon, the model's
negation scope and the committed model."""

from __future__ import annotations

import numpy as np
import pytest

from nlp import lexicon
from nlp.features import HashedFeatures


def _live(text: str) -> list[str]:
    return [h.term for h in lexicon.match(text).hits if h.kind != "topic" and not h.negated]


def _negated(text: str) -> list[str]:
    return [h.term for h in lexicon.match(text).hits if h.negated]


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("包装还行，不过漏液了", "漏液"),  # 不过 is "but"
        ("样子好看，只不过发霉了", "发霉"),
        ("这批货特别难吃", "难吃"),  # 特别 is "very"
        ("两台分别死机了", "死机"),
        ("和上一台的区别就是闪退", "闪退"),
        ("店家一直拖，我不得不投诉", "投诉"),  # a double negation asserts
        ("这种店非曝光不可", "曝光"),
        # 非…不可 with the gap reaching past the term's 20-character window (it read 非 as
        # "not" there): the whole post is masked now
        ("我非投诉这个破店不可", "投诉"),
        ("这事我不能不维权", "维权"),
        ("这已经不是第一次死机！", "死机"),  # not the first time: it happened again
        ("这车非常难开，还漏油", "漏油"),
    ],
)
def test_words_that_only_contain_a_negation_deny_nothing(text, term):
    assert term in _live(text)


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("宝宝喝了也不过敏", "过敏"),  # 不 + 过敏: a real negation
        ("别投诉了，已经退了", "投诉"),
        ("不是质量问题", "质量问题"),
        ("一直用这个牌子，从来没碰到过漏液", "漏液"),
        ("买了好几年，从没遇见过假货", "假货"),
        ("网购这么多次，没买到过假货", "假货"),
        ("用了三年，从来没遇到过质量问题", "质量问题"),
        ("开了五万公里，没遇过异响", "异响"),
    ],
)
def test_real_negations_still_cancel(text, term):
    assert term in _negated(text)


def _negation_columns(text: str) -> set[int]:
    """Feature columns that the negation scope adds (present with, absent without it)."""
    on = HashedFeatures(bits=18).transform([text])
    off = HashedFeatures(bits=18, negation=False).transform([text])
    return set(np.flatnonzero(on.toarray()[0])) - set(np.flatnonzero(off.toarray()[0]))


@pytest.mark.parametrize("text", ["不过破损了", "特别难闻", "区别很大", "非常难吃"])
def test_the_model_sees_no_negation_in_words_that_only_contain_one(text):
    assert _negation_columns(text) == set()


def test_the_model_still_sees_real_negations():
    assert _negation_columns("宝宝不过敏")
    assert _negation_columns("一点也不差")


def _columns(text: str) -> set[int]:
    return set(np.flatnonzero(HashedFeatures(bits=18).transform([text]).toarray()[0]))


def test_a_comparison_with_expectations_puts_the_evaluated_word_in_scope():
    # the scope of 没有 in "没有想象中那么好" reaches 好 (as in "不好"), not only 想象中
    assert _columns("没有想象中那么好") & _columns("不好")
    assert _columns("没有传说中那么差") & _columns("不差")


# --- the committed model --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("外卖送到了，不过洒了一半", "delivery"),
        # the model reads 收到了，不过 as mildly positive (0.63): what follows 不过 is judged
        ("快递收到了，不过碎了", "quality"),
        ("这款面霜特别刺鼻", "quality"),
        ("这家店的客服特别敷衍", "service_attitude"),
    ],
)
def test_a_but_or_very_complaint_keeps_its_category(scorer, text, category):
    score = scorer.score(text)
    assert score.complaint and category in score.categories


def test_not_the_first_time_keeps_its_category(scorer):
    score = scorer.score("这已经不是第一次漏水！")
    assert score.complaint and "quality" in score.categories


@pytest.mark.parametrize(
    "text", ["用了好几年，从来没遇到过质量问题", "在这家买了十几次，没碰到过假货"]
)
def test_never_having_met_a_problem_is_no_complaint(scorer, text):
    assert not scorer.score(text).complaint


@pytest.mark.parametrize(
    "text",
    [
        "这家的蛋糕没有想象中那么好吃",
        "效果没有想象中那么好",
        "拿到手，没有想象的那么好看，有点失望",
        "音质没有传说中那么好",
    ],
)
def test_falling_short_of_expectations_reads_negative(scorer, text):
    assert scorer.score(text).sentiment < 0.5


@pytest.mark.parametrize(
    "text", ["这家店没有想象中那么差", "味道没有想象的那么难吃", "其实没有传说中那么贵"]
)
def test_better_than_feared_still_reads_positive(scorer, text):
    assert scorer.score(text).sentiment > 0.5


@pytest.mark.parametrize(
    "text", ["星辰S7值不值得买？", "沐沐金装评测：值不值得入手？", "这款奶粉靠不靠谱？"]
)
def test_asking_whether_it_is_worth_buying_is_no_complaint(scorer, text):
    # a review headline read 不值 ("not worth it") and paged the team about it
    assert not scorer.score(text).complaint


def test_a_complaint_after_the_question_still_counts(scorer):
    assert scorer.score("沐沐奶粉值不值得买？宝宝喝了拉肚子").complaint


def test_what_follows_but_is_the_point_only_when_it_names_a_problem():
    from nlp.lexicon import match
    from nlp.scorer import after_contrast

    def point(text):
        return after_contrast(text, match(text))

    assert point("快递收到了，不过碎了") == "碎了"
    assert point("外观不错，但是用了两天就坏了。客服还行") == "用了两天就坏了"
    assert point("快递慢了两天，不过东西完好无损") is None  # the problem came before
    assert point("宝宝喝了不过敏，很放心") is None  # 不过敏 is "not allergic"


def test_the_but_reading_judges_the_complaint_not_the_overall_tone(scorer):
    score = scorer.score("快递收到了，不过碎了")
    # a mixed post keeps its overall sentiment; the complaint is what follows 不过
    assert score.complaint and score.sentiment > 0.5 and not score.negative


def test_a_but_part_the_model_fails_on_costs_no_other_post_its_reading():
    # not a mock of the model: the committed model, made to raise (as a memory error
    # would) on one post's "but" part only; the other post's is still read
    from nlp.scorer import Scorer

    scorer = Scorer.load()
    read = scorer._probabilities

    def raising_on_one(items):
        if any(item.text == "碎了" for item in items):
            raise MemoryError("test")
        return read(items)

    scorer._probabilities = raising_on_one
    broken, cracked = scorer.score_batch(["花瓶收到了，不过碎了", "杯子收到了，不过裂了"])
    assert cracked.complaint and broken.error is None  # judged as a whole, not failed
