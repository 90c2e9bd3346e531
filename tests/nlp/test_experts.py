"""The sentiment model's experts and their per-domain blend, as trained, saved and loaded."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from tiny_sentiment_data import tiny_data

from nlp.sentiment_model import BLEND, DOMAINS, EXPERTS, MODEL_PATH, SentimentModel, load
from nlp.train import EXPERT_SOURCES, TrainParams, fit, load_splits

THREE = ("weibo", "general", "reviews")
THREE_BLEND = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.5, 0.5))


@pytest.fixture(scope="module")
def train(tmp_path_factory):
    return load_splits(tiny_data(tmp_path_factory.mktemp("data")))[0]


def test_every_domain_has_an_in_domain_expert_and_blends_sum_to_one():
    assert set(EXPERT_SOURCES) | {"general"} == set(EXPERTS)
    blend = np.array(BLEND)
    assert blend.shape == (len(DOMAINS), len(EXPERTS))
    assert np.allclose(blend.sum(axis=1), 1.0)
    delivery = blend[DOMAINS.index("delivery")]
    assert delivery[EXPERTS.index("delivery")] > delivery[EXPERTS.index("general")] > 0


def test_the_delivery_expert_learns_from_delivery_texts_only(train, tmp_path):
    model = fit(train, log=lambda *a: None)
    assert model.experts == EXPERTS and model.coef.shape[0] == len(EXPERTS)
    delivery = model.coef[EXPERTS.index("delivery")]
    # a character n-gram seen only in the Weibo texts ("微博") has no weight in it
    weibo_only = model.features.transform(["微博"], [[]])
    assert not (weibo_only @ delivery).any()
    assert (model.features.transform(["外卖"], [[]]) @ delivery).any()

    model.save(tmp_path / "m.npz")
    again = SentimentModel.from_file(tmp_path / "m.npz")
    assert again.experts == EXPERTS
    assert np.allclose(again.blend, BLEND)


def test_a_three_expert_recipe_saves_and_scores_as_three(train, tmp_path):
    params = dataclasses.replace(TrainParams(), experts=THREE, blend=THREE_BLEND)
    model = fit(train, params, log=lambda *a: None)
    model.save(tmp_path / "three.npz")
    again = SentimentModel.from_file(tmp_path / "three.npz")
    assert again.experts == THREE and again.coef.shape[0] == 3
    texts, tokens = ["送餐很快，好吃", "太难吃了"], [[], []]
    assert np.allclose(again.predict_proba(texts, tokens), model.predict_proba(texts, tokens))


def test_a_file_whose_blend_does_not_match_its_experts_is_refused(tmp_path):
    model, _ = load(MODEL_PATH)
    model.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as data:
        arrays = dict(data)
    header = json.loads(bytes(arrays["header"]).decode())
    header["blend"] = [row[:-1] for row in header["blend"]]  # one expert column short
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="expected domains × experts"):
        SentimentModel.from_file(tmp_path / "bad.npz")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"experts": ("weibo", "general", "shopping")}, r"experts \['shopping'\] have no"),
        ({"blend": THREE_BLEND}, "expected one row per domain"),
    ],
)
def test_a_recipe_with_an_unknown_expert_or_a_misfit_blend_is_refused(train, change, message):
    with pytest.raises(ValueError, match=message):
        fit(train, dataclasses.replace(TrainParams(), **change), log=lambda *a: None)


def test_the_product_over_the_used_features_equals_the_whole_product():
    """sparse_dot reads only the columns a batch uses; its answer is bit-for-bit the full
    float64 product it replaced (empty rows and a batch with no features included)."""
    from scipy import sparse

    from nlp.sentiment_model import sparse_dot

    rng = np.random.default_rng(0)
    rows = rng.normal(size=(4, 5000)).astype(np.float32)
    x = sparse.random(50, 5000, density=0.01, format="lil", random_state=1, dtype=np.float64)
    x[3] = 0  # a text with no known feature
    x = x.tocsr()
    expected = np.asarray(x @ rows.T.astype(np.float64))
    assert np.array_equal(sparse_dot(x, rows), expected)
    assert np.array_equal(sparse_dot(x, rows[0][np.newaxis, :]), expected[:, :1])
    empty = sparse.csr_matrix((2, 5000))
    assert np.array_equal(sparse_dot(empty, rows), np.zeros((2, 4)))
