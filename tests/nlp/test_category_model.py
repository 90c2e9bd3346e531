"""The learned complaint-category model (nlp/category_model.py) beside the lexicon."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from nlp import category_model
from nlp.category_model import CategoryModel
from nlp.lexicon import CATEGORY_CODES
from nlp.scorer import Scorer
from nlp.train_categories import ROOT, fit, read_corpus, scoring_texts

FIXTURES = ROOT / "tests" / "nlp" / "fixtures"


@pytest.fixture(scope="module")
def lexicon_only():
    return Scorer.load(extra_words=["沐沐奶粉", "星辰汽车"], categories=False)


def test_features_are_scikit_learns_char_tfidf():
    # scoring recomputes the features without scikit-learn (hashed n-grams looked up in the
    # vocabulary); they must be the ones the model was trained on
    from sklearn.feature_extraction.text import TfidfVectorizer

    corpus = scoring_texts([r.text for r in read_corpus()[::7]])
    edges = [
        "耳机戴了一周  左边就不响了",
        "Ａpp 闪退\t闪退 \n\n X",
        "退款退款退款",
        "",
        "x",
        "😡😡好",
    ]
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
    expected = vectorizer.fit_transform(corpus + edges)
    model = CategoryModel(
        ("quality",),
        dict(vectorizer.vocabulary_),
        vectorizer.idf_,
        np.zeros((1, len(vectorizer.vocabulary_))),
        np.zeros(1),
    )
    got = model.features(corpus + edges)
    assert len(corpus) > 300 and abs(got - expected).max() < 1e-9
    # an n-gram outside the vocabulary counts for nothing, and the text around it still does
    assert np.allclose(model.features(["退款龘"]).toarray(), model.features(["退款"]).toarray())


def test_the_committed_model_is_what_training_on_the_committed_corpus_gives(tmp_path):
    committed, _ = category_model.load(category_model.MODEL_PATH)
    rows = read_corpus()
    texts = scoring_texts([r.text for r in rows])
    labels = np.array([[c in r.categories for c in CATEGORY_CODES] for r in rows], dtype=int)
    retrained = fit(texts, labels, CATEGORY_CODES)
    retrained.save(tmp_path / "categories.npz")
    again = CategoryModel.from_file(tmp_path / "categories.npz")
    assert again.codes == committed.codes == CATEGORY_CODES
    assert again.vocabulary == committed.vocabulary
    sample = texts[::25]
    assert np.allclose(again.probabilities(sample), committed.probabilities(sample), atol=1e-4)


def test_it_adds_a_category_the_lexicon_cannot_name(scorer, lexicon_only):
    # no quality or advertising term: the lexicon names nothing it can point at
    for text, code in (
        ("衣服跟图片完全不是一个颜色", "false_ads"),
        ("耳机戴了一周左边就不响了，找客服也没人回", "quality"),
    ):
        learned, lexicon = scorer.score(text), lexicon_only.score(text)
        assert learned.complaint and lexicon.complaint, text
        assert code in learned.categories and code not in lexicon.categories, text
        assert set(lexicon.categories) <= set(learned.categories), text
        assert learned.categories == [c for c in CATEGORY_CODES if c in learned.categories]


def test_an_angry_rant_about_people_gets_no_category(scorer, lexicon_only):
    # the scorer's false complaints: a model trained on complaints alone read any rant as
    # a quality complaint; the Weibo non-complaints in its corpus teach it otherwise
    for text in (
        "室友真的太恶心了，垃圾丢一地也不收拾，气死我了[怒]",
        "考试又挂了，这破学校的老师就是故意的，恶心死了",
        "隔壁装修吵了一整天，头都要爆炸了[怒][怒]",
    ):
        assert set(scorer.score(text).categories) <= set(lexicon_only.score(text).categories), text


def test_it_keeps_only_the_lexicon_categories_it_does_not_rule_out():
    # a topic (客服, 快递) or a hint (签收) names who was involved, not what went wrong: its
    # category needs P >= keep_named_at; a problem term's (异物) only P >= keep_problem_at
    model = CategoryModel(
        ("quality", "service_attitude", "delivery"),
        {},
        np.zeros(0),
        np.zeros((3, 0)),
        np.zeros(3),
        add_at=0.6,
        keep_named_at=0.2,
        keep_problem_at=0.05,
    )
    named = {"quality", "service_attitude", "delivery", "privacy"}
    assert model.choose(np.array([0.1, 0.1, 0.7]), named, {"quality"}) == [
        "quality",  # a problem term, not ruled out
        "delivery",  # the model reads it
        "privacy",  # a code the model was not trained on: it cannot judge
    ]
    assert model.choose(np.array([0.01, 0.3, 0.1]), named - {"privacy"}, {"quality"}) == [
        "service_attitude"
    ]
    assert model.choose(np.array([0.9, 0.1, 0.1]), (), ()) == ["quality"]


def test_the_lexicon_category_of_a_personal_rant_is_ruled_out(scorer, lexicon_only):
    # 冷漠 and 甩锅 are service words; about a boyfriend they name no customer service
    rant = "我男朋友太冷漠了，吵架就甩锅给我，气死了"
    assert lexicon_only.score(rant).categories == ["service_attitude"]
    assert scorer.score(rant).categories == []
    staff = "找了三天才找到停车位，物业的人还骂人，态度极差"
    assert scorer.score(staff).categories == ["service_attitude"]


def test_a_model_file_saved_before_the_vetting_keeps_every_lexicon_category(tmp_path):
    model = CategoryModel(("quality",), {"坏": 0}, np.ones(1), np.zeros((1, 1)), np.zeros(1))
    model.save(tmp_path / "new.npz")
    with np.load(tmp_path / "new.npz") as data:
        arrays = dict(data)
    header = json.loads(bytes(arrays["header"]).decode())
    del header["keep_named_at"], header["keep_problem_at"]  # as an older file has it
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    np.savez(tmp_path / "old.npz", **arrays)
    old = CategoryModel.from_file(tmp_path / "old.npz")
    assert (old.keep_named_at, old.keep_problem_at) == (0.0, 0.0)
    assert old.choose(np.array([0.0]), {"quality"}, ()) == ["quality"]


def test_it_never_decides_whether_a_post_is_a_complaint(scorer, lexicon_only):
    with (FIXTURES / "complaint_probe_fresh3.tsv").open(encoding="utf-8", newline="") as f:
        texts = [r["text"] for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]
    texts += ["这电影太悲伤了", "外婆住院了，心里难受", "", "[怒][怒]"]
    learned, lexicon = scorer.score_batch(texts), lexicon_only.score_batch(texts)
    for text, a, b in zip(texts, learned, lexicon, strict=True):
        assert (a.complaint, a.sentiment, a.signals) == (b.complaint, b.sentiment, b.signals)
        if not a.complaint:
            assert a.categories == [], text


def test_a_new_category_model_is_a_new_scorer_version(scorer, lexicon_only):
    # a retrained category model rescores every mention once, like a new sentiment model
    _, digest = category_model.load(category_model.MODEL_PATH)
    assert f"c{digest}" in scorer.model_version
    assert scorer.model_version != lexicon_only.model_version


def test_bad_training_files_are_refused(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("id\ttext\tcomplaint\tcategories\n1\t坏了\t1\tquality,qualty\n", "utf-8")
    with pytest.raises(SystemExit, match="unknown categories.*qualty"):
        read_corpus([bad])
    bad.write_text("id\ttext\tcategories\n1\t坏了\tquality\n", "utf-8")
    with pytest.raises(SystemExit, match="missing columns.*complaint"):
        read_corpus([bad])


def test_a_file_that_is_not_a_category_model_is_refused(tmp_path):
    other = tmp_path / "x.npz"
    np.savez(other, header=np.frombuffer(b'{"format": "something-else"}', np.uint8))
    with pytest.raises(ValueError, match="not a yujing-categories/1 model file"):
        CategoryModel.from_file(other)
