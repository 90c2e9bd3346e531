"""The opt-in contrast scope (bench/nlp_variants.py --variants contrast): copies of the
n-grams after 但是/不过 … to the end of their sentence, and nothing when it is off (the
committed model's features must not move)."""

from __future__ import annotations

from nlp.features import HashedFeatures


def _columns(features: HashedFeatures, text: str) -> set[int]:
    return set(features.transform([text]).indices.tolist())


def test_off_by_default_and_absent_from_a_stored_config():
    plain = HashedFeatures()
    assert "contrast" not in plain.config()
    assert HashedFeatures(**plain.config()) == plain
    on = HashedFeatures(contrast=10)
    assert HashedFeatures(**on.config()) == on


def test_copies_cover_what_follows_but_and_stop_at_the_sentence_end():
    plain, on = HashedFeatures(), HashedFeatures(contrast=10)
    text = "快递收到了，不过碎了"
    extra = _columns(on, text) - _columns(plain, text)
    assert extra  # 碎, 碎了, 了 after 不过
    # the scope ends with the sentence: what follows adds n-grams but no contrast copies
    # (past the n-grams that start in it: 了。包)
    short, later = "快递收到了，不过碎了。包装", "快递收到了，不过碎了。包装很好很好很好"
    assert _columns(on, later) - _columns(plain, later) == (
        _columns(on, short) - _columns(plain, short)
    )
    assert _columns(on, later) - _columns(plain, later) > extra
    # without a contrast word, nothing is added
    assert _columns(on, "快递收到了，碎了") == _columns(plain, "快递收到了，碎了")
