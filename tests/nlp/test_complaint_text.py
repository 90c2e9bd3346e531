"""The complaint-text head: complaints told in everyday words, without the lexicon's."""

from __future__ import annotations

import numpy as np
import pytest
from tiny_sentiment_data import tiny_data

from nlp.lexicon import Hits, match
from nlp.scorer import COMPLAINT_TEXT_AT, Reading, complaint_of
from nlp.sentiment_model import MODEL_PATH, SentimentModel, load
from nlp.train import fit, load_splits, report_complaint_head

# everyday complaints: none of these has a lexicon term the rule could count
EVERYDAY = [
    "衣服跟图片完全不是一个颜色",
    "说好的包邮，付款的时候又多出来十块钱",
    "新买的电饭煲煮出来的饭硬邦邦的",
]
# negative, and not about anything bought
PERSONAL = ["这电影太悲伤了，看哭了", "考试又挂了，好难过", "外婆住院了，心里好难受"]


def test_the_head_alone_decides_only_negative_unreported_posts():
    nothing = Hits()
    sure = complaint_of(nothing, None, 0.3, True, Reading(), complaint_text=0.9)
    assert sure[0] and sure[1] == pytest.approx(0.5 * 0.9 / COMPLAINT_TEXT_AT)
    unsure = complaint_of(nothing, None, 0.3, True, Reading(), complaint_text=0.5)
    assert not unsure[0] and unsure[1] < 0.5
    # a post that does not lean negative, a question and a report are not complaints
    assert not complaint_of(nothing, None, 0.55, False, Reading(), complaint_text=0.99)[0]
    asks = Reading(inquiry=True)
    assert not complaint_of(nothing, None, 0.2, True, asks, complaint_text=0.99)[0]
    reports = Reading(news=True)
    assert not complaint_of(nothing, None, 0.2, True, reports, complaint_text=0.99)[0]
    # without the head (snownlp, an old model) the lexicon rule is unchanged
    assert complaint_of(nothing, None, 0.01, True, Reading()) == (False, 0.0, [], [])


def test_an_illness_with_no_product_behind_it_is_no_complaint_evidence():
    ill = match("外婆住院了，心里好难受")
    assert ill.codes("topic") == ["safety"]
    assert not complaint_of(ill, None, 0.01, True, Reading())[0]
    poisoned = match("吃了他家的外卖住院了")
    assert complaint_of(poisoned, None, 0.01, True, Reading())[0]


def test_the_committed_model_reads_everyday_complaints(scorer):
    for text in EVERYDAY:
        assert match(text).hits == [], text
    scores = scorer.score_batch(EVERYDAY + PERSONAL)
    assert [s.complaint for s in scores] == [True] * len(EVERYDAY) + [False] * len(PERSONAL)
    # a product question is not a complaint, though it reads like a review
    question = scorer.score("请问这款耳机支持降噪吗？")
    assert not question.complaint


def test_grief_alone_is_a_feeling_not_a_complaint(scorer):
    # the issue's own example: negative, not a complaint about us; the head reads it as
    # review-like wording, so sad words leave the decision to lexicon evidence
    for text in ("这电影太悲伤了", "这部电影太悲伤了", "这本书的结局太悲伤了，看哭了"):
        assert not scorer.score(text).complaint, text
    sad_and_harmed = scorer.score("买的奶粉里有异物，孩子喝了吐了一晚上，心疼死了")
    assert sad_and_harmed.complaint and "safety" in sad_and_harmed.categories


def test_the_head_is_trained_saved_and_loaded(tmp_path_factory):
    train = load_splits(tiny_data(tmp_path_factory.mktemp("data")))[0]
    model = fit(train, log=lambda *a: None)
    assert model.complaint_coef is not None and model.complaint_coef.any()
    path = tmp_path_factory.mktemp("model") / "m.npz"
    model.save(path)
    again = SentimentModel.from_file(path)
    texts, tokens = ["送餐太慢了，饭都凉了", "今天心情很好"], [[], []]
    for a, b in zip(model.predict(texts, tokens), again.predict(texts, tokens), strict=True):
        assert np.allclose(a, b, atol=2e-3)


def test_the_committed_model_has_a_head_that_separates_complaints():
    model, _ = load(MODEL_PATH)
    _, head = model.predict(EVERYDAY + PERSONAL, [[]] * (len(EVERYDAY) + len(PERSONAL)))
    assert min(head[: len(EVERYDAY)]) > max(head[len(EVERYDAY) :])


def test_training_reports_how_the_head_separates_complaints(tmp_path_factory):
    train, held_out = load_splits(tiny_data(tmp_path_factory.mktemp("data")))
    lines = []
    result = report_complaint_head(fit(train, log=lambda *a: None), held_out, log=lines.append)
    assert 0.0 <= result["auc"] <= 1.0
    assert 0.0 <= result["weibo_negative_flagged"] <= 1.0
    assert "complaint-text head" in lines[0] and "ROC-AUC" in lines[0]


def test_a_question_that_names_no_problem_is_no_complaint_on_the_head_alone(scorer):
    # the head reads a pre-purchase question like a review; it asks, it does not complain
    for text in (
        "第一次坐飞机带猫，需要提前准备什么证明吗？",
        "准备在网上买个二手手机，但是很怕买到翻新机，有什么办法分辨吗？",
        "第一次坐飞机，充电宝能带上去吗？要注意什么？",
    ):
        score = scorer.score(text)
        assert score.negative and not score.complaint, text
    # indignation ending in a question mark is still a complaint, and so is a question
    # that names its problem
    assert scorer.score("床单上有别人的头发，毛巾黄得发黑，这是四星？").complaint
    # a bare 吗 is indignation and 呢 ends statements; 还是 in an earlier clause is "still"
    for text in (
        "昨天买的面包里面全是绿毛，你们就是这么卖东西的吗",
        "连着三天都说今天送到，结果到现在也没见到人呢",
        "新买的空调开了一晚上屋里还是三十度，这钱花得值吗",
        "手机充一晚上电才到百分之五十，这正常吗",
    ):
        assert scorer.score(text).complaint, text
    assert scorer.score("外卖备注了不要香菜，结果满满一层香菜，无语子").complaint
    named = scorer.score("买的奶粉喝出异物，能退吗？")
    assert named.complaint and "safety" in named.categories
