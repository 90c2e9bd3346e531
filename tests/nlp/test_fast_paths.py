"""The scorer's shortcuts answer exactly what the plain forms they replaced answer: the
bucketed trie regex, the one-pass repeat collapse, the features × heads product and the
sorted n-gram lookup (each was checked on 48,738 corpus texts; these keep it so). The one
deliberate change of that work, 非…不可 seen in the whole post, is in test_false_negations."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest

from nlp import lexicon
from nlp.normalize import normalize

_ALPHABET = "不没太好差退款客服快递慢冷贵假货坏了的是很有吗？！!。，ＡbB1 \n"


def _plain_alternation(words: list[str]) -> str:
    """The obvious regex for "any of the words, longest first"."""
    return "|".join(map(re.escape, sorted(set(words), key=len, reverse=True)))


def _random_words(rng: random.Random, n: int) -> list[str]:
    # many first characters (the top level is split into buckets) and many words sharing
    # a prefix (inner nodes are split too)
    chars = [chr(0x4E00 + i) for i in range(120)] + list("退款客服快递")
    words = ["".join(rng.choice(chars) for _ in range(rng.randint(1, 4))) for _ in range(n)]
    words += [f"退{c}" for c in chars[:40]] + [f"退{c}款" for c in chars[:30]]
    return words


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_bucketed_trie_matches_what_a_plain_alternation_matches(seed):
    rng = random.Random(seed)
    words = _random_words(rng, 400)
    trie = re.compile(lexicon.trie_regex(words))
    plain = re.compile(_plain_alternation(words))
    assert trie.pattern.count("(?=[") > 2  # the split is exercised
    pool = "".join(sorted(set("".join(words)))) + "，。 "
    for _ in range(300):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(0, 40)))
        assert [m.span() for m in trie.finditer(text)] == [
            m.span() for m in plain.finditer(text)
        ], text


def test_the_bucketed_trie_keeps_its_meaning_inside_larger_patterns_and_ignoring_case():
    words = [*lexicon.NEGATIONS, *(f"X{c}" for c in "abcdefghijklmnopqrstuvwxyz")]
    tail = re.compile(f"(?:{lexicon.trie_regex(words)})(?:了|过)?$", re.I)
    plain = re.compile(f"(?:{_plain_alternation(words)})(?:了|过)?$", re.I)
    for text in ["质量并不", "我没有", "退款xq", "退款XQ了", "好的", "xz过", "不是"]:
        assert bool(tail.search(text)) == bool(plain.search(text)), text


def test_case_folding_twins_keep_their_order_under_ignorecase():
    """Under re.I the Kelvin sign K and k both match "k": branches whose first characters
    fold together stay in one bucket, in their order (in different buckets, "kx" lost to
    the one-character K)."""
    words = ["Z", "kx", "\u212a", *(chr(0x4E00 + i) for i in range(20))]
    trie = re.compile(lexicon.trie_regex(words), re.I)
    unsplit = re.compile("(?:" + "|".join(map(re.escape, sorted(words))) + ")", re.I)
    for text in ["kx", "Kx", "\u212ax", "k"]:
        assert [m.span() for m in trie.finditer(text)] == [
            m.span() for m in unsplit.finditer(text)
        ], text


def _two_pass_repeats(text: str) -> str:
    """The repeat collapse as it was written first: punctuation, then other characters."""
    text = re.sub(r"([!?。,，、.~…;；:：\-—*=_+])\1+", r"\1", text)
    return re.sub(r"(\D)\1{3,}", r"\1\1\1", text)


def test_one_pass_repeat_collapse_equals_the_two_passes():
    from nlp.normalize import _DOUBLED, _REPEATS, _one_or_three

    rng = random.Random(7)
    cases = [
        "哈哈哈哈哈",
        "！！！！",
        "。。。。好",
        "10000元",
        "\n\n\n\n\n",
        "~~~~哈哈哈哈~~",
        "……!!",
    ]
    cases += ["".join(rng.choice("哈!！。~…\n 1a-—") for _ in range(30)) for _ in range(2000)]
    for text in cases:
        collapsed = _REPEATS.sub(_one_or_three, text) if _DOUBLED.search(text) else text
        assert collapsed == _two_pass_repeats(text), repr(text)


def test_text_already_in_nfkc_form_is_left_and_full_width_text_is_folded():
    assert normalize("ＡＢＣ１２３快递").own_text == "ABC123快递"
    assert normalize("快递ABC123").own_text == "快递ABC123"


def test_all_heads_at_once_equal_each_head_alone():
    """`predict` multiplies the gate, the experts and the complaint head in one product;
    bit for bit what `gate`, `expert_margins` and `complaint_text` give one at a time."""
    from nlp.scorer import Scorer, prepare
    from nlp.sentiment_model import blend_margins

    scorer = Scorer.load()
    model = scorer.model
    rng = random.Random(3)
    texts = ["快递三天没到，客服不理人", "一点也不差，好吃", "[怒]退款！！"]
    texts += ["".join(rng.choice(_ALPHABET) for _ in range(rng.randint(1, 60))) for _ in range(300)]
    items = [prepare(t, scorer.protected) for t in texts]
    items = [i for i in items if i.error is None]
    plain, tokens = [i.text for i in items], [i.tokens for i in items]
    x = model._x(plain, tokens)
    gate = model.gate(x)
    expected = model.calibrate(
        blend_margins(model.expert_margins(x), gate, model.blend), plain, gate
    )
    positive, complaint = model.predict(plain, tokens)
    assert np.array_equal(positive, expected)
    assert np.array_equal(complaint, model.complaint_text(x))


def test_sorted_search_equals_searchsorted():
    from nlp.category_model import _sorted_search

    rng = np.random.default_rng(5)
    known = np.sort(rng.integers(0, 2**63, size=1000, dtype=np.uint64))
    needles = np.concatenate([rng.choice(known, 500), rng.integers(0, 2**63, 500, np.uint64)])
    rng.shuffle(needles)
    assert np.array_equal(_sorted_search(known, needles), np.searchsorted(known, needles))
    assert len(_sorted_search(known, needles[:0])) == 0
