"""The hold-out split `yujing train` and the sentiment benches evaluate on."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from tiny_sentiment_data import tiny_data

from nlp.train import load_splits


def test_no_held_out_text_is_trained_on_and_shared_texts_are_marked(tmp_path):
    train, held_out = load_splits(tiny_data(tmp_path))

    assert set(held_out) == {"weibo2018", "waimai", "chnsenticorp_validation", "negation_probe"}
    # the negation phrases train, except those of the probe's evaluative words
    assert (train["source"] == "negation").sum() > 1000
    assert len(held_out["negation_probe"]) > 100
    trained = set(train["key"])
    for part in held_out.values():
        assert not trained & set(part["key"])
    validation = held_out["chnsenticorp_validation"].set_index("text")["in_training_files"]
    assert validation.to_dict() == {"房间干净，早餐丰富": True, "隔音太差，一夜没睡": False}
    assert not held_out["weibo2018"]["in_training_files"].any()
    # both labels are held out of each split source
    assert set(held_out["weibo2018"]["label"]) == {0, 1}


def test_the_words_variant_adds_jieba_words_without_touching_the_split(tmp_path):
    path = Path(__file__).resolve().parents[2] / "bench" / "nlp_variants.py"
    spec = importlib.util.spec_from_file_location("nlp_variants", path)
    variants = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(variants)
    _, held_out = load_splits(tiny_data(tmp_path))
    part = held_out["weibo2018"]
    before = [list(t) for t in part["tokens"]]

    worded = variants.with_words(part, bigrams=True)

    assert [list(t) for t in part["tokens"]] == before  # the input frame is unchanged
    for own, tokens, text in zip(before, worded["tokens"], worded["clean"], strict=True):
        assert tokens[: len(own)] == own
        added = tokens[len(own) :]
        assert any(t.startswith("W:") and len(t) >= 4 for t in added)
        assert any(t.startswith("B:") for t in added)
        assert all(t[2:].replace("|", "") in text.replace(" ", "") for t in added)


def test_training_twice_writes_the_same_bytes(tmp_path):
    from nlp.train import fit

    train, _ = load_splits(tiny_data(tmp_path / "data"))
    for name in ("a", "b"):
        fit(train, log=lambda *a: None).save(tmp_path / f"{name}.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
