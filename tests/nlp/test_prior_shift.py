"""The sentiment model's shift from training priors to deployment priors, and the
reweighted metrics that evaluate it."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from nlp.scorer import prepare
from nlp.sentiment_model import DOMAINS, MODEL_PATH, SentimentModel, load
from nlp.train import deployment_prior_of, metrics, prior_shifts


def _logit(p):
    p = np.asarray(p, dtype=np.float64)
    return np.log(p / (1 - p))


def test_the_shift_moves_a_domain_from_its_training_share_to_its_deployment_prior():
    frame = pd.DataFrame(
        {
            "source": ["weibo2018"] * 20 + ["waimai"] * 10,
            "label": [1] * 11 + [0] * 9 + [1] * 3 + [0] * 7,
        }
    )
    w = np.ones(len(frame))

    training, shift = prior_shifts(frame, w, {"weibo": 0.7})

    assert training == {"weibo": 0.55, "delivery": 0.3}
    k = DOMAINS.index("weibo")
    assert shift[k] == pytest.approx(math.log(0.7 / 0.3) - math.log(0.55 / 0.45))
    assert not np.delete(shift, k).any()  # domains without a deployment prior stay put


@pytest.mark.parametrize("prior", [{"weibo": 1.0}, {"weibo": 0.0}, {"twitter": 0.5}])
def test_an_impossible_or_unknown_prior_is_refused(prior):
    frame = pd.DataFrame({"source": ["weibo2018", "weibo2018"], "label": [1, 0]})
    with pytest.raises(ValueError, match="deployment_prior"):
        prior_shifts(frame, np.ones(2), prior)


def test_the_committed_model_adds_the_gate_weighted_shift_to_its_calibrated_logit():
    model, _ = load(MODEL_PATH)
    assert model.prior_shift[DOMAINS.index("weibo")] > 0.3  # Weibo reads more positive
    texts = [
        "今天天气真好，出去玩[哈哈]",
        "这家酒店的房间很干净，服务也不错",
        "外卖送得太慢了，饭都凉了",
    ]
    items = [prepare(t) for t in texts]
    clean, tokens = [i.text for i in items], [i.tokens for i in items]

    shifted = model.predict_proba(clean, tokens)
    unshifted = model.calibrate(model.margins(clean, tokens)[0], clean)
    gate = model.gate(model._x(clean, tokens))

    assert _logit(shifted) - _logit(unshifted) == pytest.approx(gate @ model.prior_shift)


def test_the_shift_survives_a_save_and_an_old_file_loads_without_one(tmp_path):
    model, _ = load(MODEL_PATH)
    model.save(tmp_path / "m.npz")
    assert np.allclose(SentimentModel.from_file(tmp_path / "m.npz").prior_shift, model.prior_shift)

    with np.load(tmp_path / "m.npz") as data:
        arrays = dict(data)
    header = json.loads(bytes(arrays["header"]).decode())
    del header["prior_shift"]  # a model file written before the shift existed
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    np.savez(tmp_path / "old.npz", **arrays)
    assert not SentimentModel.from_file(tmp_path / "old.npz").prior_shift.any()


def test_metrics_reweighted_to_a_prior_count_each_class_at_that_share():
    labels = np.array([1, 1, 0, 0])
    probs = np.array([0.9, 0.4, 0.2, 0.3])  # one positive wrong, both negatives right

    assert metrics(labels, probs)["accuracy"] == pytest.approx(0.75)
    # as if 80% were positive: half the positives right (0.4) + all negatives (0.2)
    assert metrics(labels, probs, prior=0.8)["accuracy"] == pytest.approx(0.6)
    assert deployment_prior_of("weibo2018") == 0.7
    assert deployment_prior_of("waimai") is None
    assert deployment_prior_of("chnsenticorp_validation") is None


def test_saving_replaces_the_file_whole_and_leaves_no_partial(tmp_path):
    model, _ = load(MODEL_PATH)
    target = tmp_path / "sentiment.npz"
    target.write_bytes(b"an older model")
    model.save(target)
    assert SentimentModel.from_file(target).coef.shape == model.coef.shape
    assert [p.name for p in tmp_path.iterdir()] == ["sentiment.npz"]
