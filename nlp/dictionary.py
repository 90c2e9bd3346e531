"""How general Chinese uses a term, read from jieba's bundled dictionary without loading
jieba (`yujing config check` warns about brand terms that are ordinary words with it).

jieba's `dict.txt` lists about 350,000 words of general Chinese (60 million words of text)
as `word count part-of-speech`. Building jieba's tokenizer from it takes about a second,
and parsing every line about 0.7 s; one regular expression over the file's text finds the
few lines holding a config's terms in about 30 ms, which `config check` can afford.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

HAN = re.compile("[\u3400-\u9fff]")


@dataclass(frozen=True)
class Uses:
    """A term in jieba's dictionary: its count as a word of its own (0: not a word), and
    the longer words holding it with theirs, most used first."""

    count: int
    inside: tuple[tuple[str, int], ...]


@functools.cache
def _dictionary_text() -> str:
    """jieba's dictionary as text ("" when jieba or its file is missing: no findings)."""
    spec = importlib.util.find_spec("jieba")  # finds the package without importing it
    for folder in (spec and spec.submodule_search_locations) or ():
        try:
            return (Path(folder) / "dict.txt").read_text(encoding="utf-8")
        except OSError:
            continue
    return ""


def dictionary_uses(terms: list[str]) -> dict[str, Uses]:
    """Uses of each term holding a Chinese character (simplified, as the dictionary is);
    other terms (a Latin name) are left out: the dictionary is of Chinese words."""
    wanted = sorted({t for t in terms if HAN.search(t)}, key=len, reverse=True)
    text = _dictionary_text()
    if not wanted or not text:
        return {}
    count = dict.fromkeys(wanted, 0)
    inside: dict[str, list[tuple[str, int]]] = {t: [] for t in wanted}
    pattern = re.compile("|".join(map(re.escape, wanted)))
    position = 0
    # a Chinese term is only ever found in a line's word, never in its count or tag
    while (found := pattern.search(text, position)) is not None:
        start = text.rfind("\n", 0, found.start()) + 1
        end = text.find("\n", found.end())
        end = len(text) if end == -1 else end
        word, number, *_ = text[start:end].split(" ")
        for term in wanted:
            if term == word:
                count[term] = int(number)
            elif term in word:
                inside[term].append((word, int(number)))
        position = end
    return {
        t: Uses(count[t], tuple(sorted(inside[t], key=lambda w: (-w[1], w[0])))) for t in wanted
    }
