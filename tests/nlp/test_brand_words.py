"""`yujing score` and the pipeline protect the same brand words, and a search keyword
that names a problem (沐沐质量问题) does not hide that problem."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from nlp import lexicon
from nlp.cli import score_main
from yujing.config import load_config
from yujing.resources import Resources

CONFIG = Path(__file__).resolve().parents[2] / "config" / "yujing.yaml"
POSTS = ["沐沐质量问题太多了，宝宝喝了拉肚子", "星辰S7刹车失灵了", "沐沐金装很好喝"]


@pytest.fixture
def keyword_config(tmp_path, monkeypatch):
    text = CONFIG.read_text(encoding="utf-8").replace(
        "keywords: [沐沐婴儿奶粉]", "keywords: [沐沐婴儿奶粉, 沐沐质量问题]"
    )
    assert "沐沐质量问题" in text
    path = tmp_path / "yujing.yaml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("YUJING_CONFIG", str(path))
    return load_config(path)


def test_score_command_and_pipeline_agree_on_brand_keywords(keyword_config):
    out = io.StringIO()
    assert score_main([], io.StringIO("\n".join(POSTS) + "\n"), out) == 0
    cli = [json.loads(line) for line in out.getvalue().splitlines()]
    pipeline = Resources(config=keyword_config, engine=None).scorer().score_batch(POSTS)
    assert cli == [s.to_json_dict() for s in pipeline]
    assert "quality" in cli[0]["categories"]


def test_a_keyword_made_of_a_brand_and_a_problem_protects_nothing():
    pattern = lexicon.protected_pattern(["沐沐", "沐沐质量问题", "无忧快递"])
    assert lexicon.match("沐沐质量问题太多", pattern).codes("problem") == ["quality"]
    # a brand name that merely contains a term is still protected
    assert not lexicon.match("无忧快递到了", pattern).codes("topic")
