"""Normalisation edge cases that changed what a post says: a link glued to a repost marker,
and traditional 著 read as 着 (著火 is 着火, "on fire")."""

from __future__ import annotations

import pytest

from nlp.normalize import normalize


@pytest.mark.parametrize(
    "raw",
    [
        "看看这个 https://t.cn/R2Wxyz9//@阿明:沐沐奶粉喝出了玻璃渣",
        "看看这个 http://weibo.com/a/b?c=1//@阿明:沐沐奶粉喝出了玻璃渣",
        "看看这个 www.example.com/x// @阿明：沐沐奶粉喝出了玻璃渣",
    ],
)
def test_a_link_right_before_a_repost_marker_keeps_the_chain(raw):
    norm = normalize(raw)
    assert norm.is_repost
    assert norm.own_text == "看看这个"
    assert "玻璃渣" in norm.quoted_text
    assert norm.links == 1


def test_a_link_with_an_at_sign_inside_is_still_one_link():
    norm = normalize("详情 https://example.com/u/@shop/item?id=3 沐沐")
    assert norm.own_text == "详情 沐沐" and norm.links == 1 and not norm.is_repost


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("車子停在樓下著火了", "车子停在楼下着火了"),
        ("房子著火了", "房子着火了"),  # no other traditional character in the post
        ("寶寶著涼了", "宝宝着凉了"),
        ("等著退款等了一個月", "等着退款等了一个月"),
        ("著名作家的原著", "著名作家的原著"),  # 著 as in 著名 stays
        ("效果显著", "效果显著"),
    ],
)
def test_traditional_zhuo_becomes_zhao_where_it_means_on_or_ing(raw, expected):
    assert normalize(raw).own_text == expected


def test_a_fire_told_in_traditional_is_a_safety_complaint(scorer):
    score = scorer.score("剛買的星辰汽車停在車庫裡著火了")
    assert score.complaint and "safety" in score.categories


def test_only_text_opencc_would_change_goes_through_opencc():
    # the check must never skip a text t2s changes (exact), and should skip 么, which t2s
    # changes only inside 么麼 (a quarter of Weibo posts went through the converter for it)
    from nlp.normalize import _opencc, _would_convert

    texts = [
        "怎么回事，这么差",  # 么 alone: unchanged
        "么麼小丑",  # the phrase t2s converts
        "這個產品質量太差了",
        "沈阳的快递",
        "乾脆退款吧",
        "说明书写得很清楚",
        "",
        "[怒][怒]",
    ]
    for text in texts:
        assert _would_convert(text) == (_opencc().convert(text) != text), text
    assert not _would_convert("怎么这么慢")
