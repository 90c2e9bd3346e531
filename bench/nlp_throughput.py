"""Scoring throughput and memory: the project's scorer vs stock snownlp vs jieba alone.

    python bench/nlp_throughput.py ../shared/data/sentiment [--n 3000] [--corpus all]
                                   [--gate 15000]

On Weibo posts and on food-delivery reviews (two-thirds complaints), each scorer runs on
the same texts, single process, in this run; each is measured in a fresh subprocess so
peak memory (ru_maxrss) belongs to that scorer alone. Prints posts/s and the ratios the
issue asks about (ours / snownlp, ours / jieba), and what the learned category model
costs: ours against ours with the lexicon's categories only (`Scorer.load(categories=
False)`), as a time ratio.

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
if kind in ("ours", "ours-lexicon-categories"):
    from nlp.scorer import Scorer
    s = Scorer.load(categories=kind == "ours")
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


# Weibo posts (what the pipeline scores), and food-delivery reviews: two-thirds of them
# complaints, where the category model (run on complaints only) costs most
CORPORA = {"weibo": "weibo2018_train.csv", "waimai": "waimai_10k_train.csv"}
KINDS = ("jieba", "ours", "ours-lexicon-categories", "snownlp")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--corpus", choices=[*CORPORA, "all"], default="all")
    parser.add_argument("--gate", type=int, default=15000, help="texts per file to check")
    args = parser.parse_args(argv)
    for corpus in CORPORA if args.corpus == "all" else [args.corpus]:
        path = args.data_dir / CORPORA[corpus]
        print(f"\n{corpus} ({path.name})", flush=True)
        results = {}
        for kind in KINDS:
            n = min(args.n, 600) if kind == "snownlp" else args.n
            results[kind] = r = measure(kind, path, n)
            print(
                f"  {kind:24} {r['posts_per_s']:>9.0f} posts/s   peak {r['peak_mb']:>6.0f} MB   "
                f"({r['n']} posts)",
                flush=True,
            )
        rate = {kind: r["posts_per_s"] for kind, r in results.items()}
        print(
            f"  ours / snownlp: {rate['ours'] / rate['snownlp']:.1f}x   "
            f"ours / jieba.lcut alone: {rate['ours'] / rate['jieba']:.2f}x   "
            f"time with the category model / without: "
            f"{rate['ours-lexicon-categories'] / rate['ours']:.2f}x"
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
