"""Opt-in training options that bench/nlp_variants.py measures against the recipe: binary
features, NB-LR interpolation, and an extra source outside every domain (the self-trained
Weibo posts). Off, they leave the committed model's recipe as it was."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tiny_sentiment_data import tiny_data

from nlp.features import HashedFeatures
from nlp.train import TrainParams, _nb_ratio, fit, load_splits

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import nlp_variants  # noqa: E402

QUIET = dict(log=lambda *a: None)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tiny_data(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def split(data_dir):
    return load_splits(data_dir)


def test_binary_features_count_presence_and_are_stored_only_when_on():
    plain, binary = HashedFeatures(), HashedFeatures(binary=True)
    assert "binary" not in plain.config()
    assert HashedFeatures(**binary.config()) == binary
    counts = plain.transform(["好好好好吃"])
    assert counts.data.max() > 1
    presence = binary.transform(["好好好好吃"])
    assert np.array_equal(presence.indices, counts.indices)
    assert set(presence.data.tolist()) == {1.0}


def test_nb_interpolation_at_zero_is_the_naive_bayes_ratio(split):
    train = split[0]
    params = dataclasses.replace(TrainParams(), nb_beta=0.0, min_df=1)
    model = fit(train, params, **QUIET)
    weibo = train[train["source"].isin(["weibo2018", "negation"])]
    x = HashedFeatures().transform(list(weibo["clean"]), list(weibo["tokens"]))
    seen = np.asarray((x != 0).sum(axis=0)).ravel() > 0
    coef = model.coef[model.experts.index("weibo")].astype(np.float64)
    weights = np.where(weibo["source"] == "negation", 0.1, 1.0)
    r = _nb_ratio(x, weibo["label"].to_numpy(), weights, 1.0)
    kept = seen & (coef != 0)  # features under min_df are dropped after the fit
    ratio = coef[kept] / r[kept]
    assert kept.sum() > 20 and np.allclose(ratio, ratio[0], rtol=1e-3)  # all mean|w|
    assert not coef[~seen].any()


def test_an_extra_source_trains_its_experts_only(split, data_dir):
    train, held_out = split
    extra = pd.DataFrame(
        {
            "label": 1,
            "text": ["转发抽奖锦鲤附体", "锦鲤附体好运来", "今天也是锦鲤附体"],
            "source": "extra",
        }
    )
    from nlp.train import prepared_frame

    extra = prepared_frame(extra[["label", "text"]], "extra")
    base = TrainParams()
    sources = dict(base.expert_sources, weibo=(*base.expert_sources["weibo"], "extra"))
    params = dataclasses.replace(
        base, expert_sources=sources, source_weights=dict(base.source_weights, extra=1.0)
    )
    with_extra = fit(pd.concat([train, extra], ignore_index=True), params, **QUIET)
    without = fit(train, **QUIET)
    koi = with_extra.features.transform(["锦鲤"], [[]])
    weibo = with_extra.coef[with_extra.experts.index("weibo")]
    delivery = with_extra.coef[with_extra.experts.index("delivery")]
    assert (koi @ weibo).item() > 0 and not (koi @ delivery).any()
    # no domain: the gate never sees it, and the Weibo prior is the hand-labelled one
    assert not (koi @ with_extra.gate_coef.T).any()
    assert with_extra.meta["training_prior"] == without.meta["training_prior"]
    assert np.allclose(with_extra.prior_shift, without.prior_shift)


class _Reader:
    """Reads a post as positive in proportion to how many 好 it has."""

    def predict_proba(self, texts, tokens):
        return np.array([t.count("好") / 10 + 0.01 * len(t) / 100 for t in texts])


def test_self_training_labels_the_most_confident_posts_by_the_model(
    split, data_dir, tmp_path, monkeypatch
):
    train, held_out = split
    folder = tmp_path / "data"
    folder.mkdir()
    for f in data_dir.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    # emoticon labels that contradict the text: self-training must not read them
    rows = [(0, "好天气好心情好运[哈哈]"), (0, "好吃好玩好看"), (1, "一般般吧[泪]")]
    rows += [(1, "什么都不想说了"), (0, "今天还行好"), (1, "下雨了")]
    pd.DataFrame(rows, columns=["label", "text"]).to_csv(
        folder / "weibo_senti_100k_dev.csv", index=False
    )
    monkeypatch.setattr(nlp_variants, "SELF_TRAINED_PER_CLASS", 2)
    out = nlp_variants.with_self_trained(folder, train, held_out, _Reader())
    added = out[out["source"] == nlp_variants.SELF_TRAINED]
    assert len(out) == len(train) + 4
    labels = dict(zip(added["clean"], added["label"], strict=True))
    assert labels["好天气好心情好运"] == 1 and labels["好吃好玩好看"] == 1  # emoticon said 0
    assert sorted(labels.values()) == [0, 0, 1, 1]
    assert not any("[" in t for t in added["clean"])
