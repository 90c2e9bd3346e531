"""Scoring throughput and memory: the project's scorer vs stock snownlp vs jieba alone.

    python bench/nlp_throughput.py ../shared/data/sentiment [--n 3000] [--gate 15000]

All three run on the same Weibo texts, single process, in this run; each is measured in
a fresh subprocess so peak memory (ru_maxrss) belongs to that scorer alone. Prints
posts/s and the ratios the issue asks about (ours / snownlp, ours / jieba).

Then it checks the shortcut that makes normalisation fast: only text OpenCC t2s would
change goes through OpenCC (nlp/normalize.py `_would_convert`). On the first `--gate`
texts of every labelled file it prints how many the gate sent, how many OpenCC changes,
and how many changed texts the gate missed (must be 0). `--gate 0` skips it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WORKER = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
import pandas as pd
texts = list(pd.read_csv({path!r})["text"].astype(str).head({n}))
kind = {kind!r}
if kind == "ours":
    from nlp.scorer import Scorer
    s = Scorer.load()
    s.score_batch(texts[:50])
    t = time.perf_counter(); s.score_batch(texts); dt = time.perf_counter() - t
elif kind == "snownlp":
    from snownlp import SnowNLP
    SnowNLP(texts[0]).sentiments
    t = time.perf_counter()
    for x in texts:
        SnowNLP(x).sentiments
    dt = time.perf_counter() - t
else:
    import jieba
    jieba.initialize()
    t = time.perf_counter()
    for x in texts:
        jieba.lcut(x)
    dt = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"posts_per_s": len(texts) / dt, "peak_mb": rss, "n": len(texts)}}))
"""


def measure(kind: str, path: Path, n: int) -> dict:
    code = WORKER.format(root=str(ROOT), path=str(path), n=n, kind=kind)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--gate", type=int, default=15000, help="texts per file to check")
    args = parser.parse_args(argv)
    path = args.data_dir / "weibo2018_train.csv"
    results = {}
    for kind, n in (("jieba", args.n), ("ours", args.n), ("snownlp", min(args.n, 600))):
        results[kind] = measure(kind, path, n)
        r = results[kind]
        print(
            f"{kind:8} {r['posts_per_s']:>9.0f} posts/s   peak {r['peak_mb']:>6.0f} MB   "
            f"({r['n']} posts)",
            flush=True,
        )
    ours = results["ours"]["posts_per_s"]
    print(
        f"\nours / snownlp: {ours / results['snownlp']['posts_per_s']:.1f}x   "
        f"ours / jieba.lcut alone: {ours / results['jieba']['posts_per_s']:.2f}x"
    )
    if args.gate:
        check_conversion_gate(args.data_dir, args.gate)
    return 0


def check_conversion_gate(data_dir: Path, per_file: int) -> None:
    """The OpenCC gate against OpenCC itself: every text it changes must pass the gate."""
    import pandas as pd

    sys.path.insert(0, str(ROOT))
    from nlp.normalize import _opencc, _would_convert

    texts = []
    for path in sorted(data_dir.glob("*.csv")):
        texts += list(pd.read_csv(path)["text"].astype(str).head(per_file))
    sent = changed = missed = 0
    for text in texts:
        gate, change = _would_convert(text), _opencc().convert(text) != text
        sent += gate
        changed += change
        missed += change and not gate
    print(
        f"\nOpenCC gate on {len(texts):,} texts: sent {sent:,}, changed by OpenCC {changed:,}, "
        f"missed {missed} (must be 0)"
    )


if __name__ == "__main__":
    sys.exit(main())
