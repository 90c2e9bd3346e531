"""The production scorer, loaded once for the NLP tests."""

from __future__ import annotations

import pytest

from nlp.scorer import Scorer


@pytest.fixture(scope="session")
def scorer():
    return Scorer.load(extra_words=["沐沐奶粉", "星辰汽车"])
