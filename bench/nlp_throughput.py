"""Scoring throughput and memory: the project's scorer vs stock snownlp vs jieba alone.

    python bench/nlp_throughput.py ../shared/data/sentiment [--n 3000] [--corpus all]
                                   [--repeat 3] [--rounds 2] [--gate 15000]

On Weibo posts and on food-delivery reviews (short, two-thirds complaints), each scorer
runs on the same texts, single process, in this run: each in a fresh subprocess, so peak
memory (ru_maxrss) belongs to that scorer alone, timed `--repeat` times after a warm-up,
all of them `--rounds` times in turn; the best run counts (as timeit; the first run is
printed too). Prints posts/s and the ratios the issue asks about (ours / snownlp, ours /
jieba), and what the learned category model costs, timed in one process against the
scorer with the lexicon's categories only (`Scorer.load(categories=False)`), in turns.

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
    run = lambda: s.score_batch(texts)
elif kind == "snownlp":
    from snownlp import SnowNLP
    SnowNLP(texts[0]).sentiments
    run = lambda: [SnowNLP(x).sentiments for x in texts]
else:
    import jieba
    jieba.initialize()
    run = lambda: [jieba.lcut(x) for x in texts]
times = []
for _ in range({repeat}):
    t = time.perf_counter(); run(); times.append(time.perf_counter() - t)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"best": min(times), "first": times[0], "peak_mb": rss, "n": len(texts)}}))
"""

# The category model's cost: one process, the scorer with and without it taking turns on
# the same texts, so both see the same machine load (separate processes read 0.72x-1.45x
# on the same code)
PAIRED = r"""
import json, statistics, sys, time
sys.path.insert(0, {root!r})
import pandas as pd
texts = list(pd.read_csv({path!r})["text"].astype(str).head({n}))
from nlp.scorer import Scorer
scorers = {{"with": Scorer.load(), "without": Scorer.load(categories=False)}}
for s in scorers.values():
    s.score_batch(texts[:50])
times = {{k: [] for k in scorers}}
for _ in range({repeat}):
    for k, s in scorers.items():
        t = time.perf_counter(); s.score_batch(texts); times[k].append(time.perf_counter() - t)
print(json.dumps({{k: statistics.median(v) for k, v in times.items()}}))
"""

KINDS = ("jieba", "ours", "snownlp")
# Weibo posts (what the pipeline scores), and food-delivery reviews: short, two-thirds of
# them complaints, where the category model (run on complaints only) costs most
CORPORA = {"weibo": "weibo2018_train.csv", "waimai": "waimai_10k_train.csv"}


def _run(template: str, **values) -> dict:
    code = template.format(root=str(ROOT), **values)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_corpus(path: Path, n: int, repeat: int, rounds: int) -> None:
    """Each scorer in a fresh process (its own peak memory), `repeat` timed runs after a
    warm-up; all of them `rounds` times in turn, so a noisy minute hits every scorer. The
    best run counts (as timeit: the slower ones carry the machine's noise)."""
    results: dict[str, list[dict]] = {kind: [] for kind in KINDS}
    for _ in range(rounds):
        for kind in KINDS:
            size = min(n, 600) if kind == "snownlp" else n
            results[kind].append(_run(WORKER, path=str(path), n=size, kind=kind, repeat=repeat))
    rate = {}
    for kind, runs in results.items():
        best = min(runs, key=lambda r: r["best"])
        rate[kind] = best["n"] / best["best"]
        first = max(r["n"] / r["first"] for r in runs)
        peak = max(r["peak_mb"] for r in runs)
        print(
            f"  {kind:8} {rate[kind]:>7.0f} posts/s (first run {first:.0f})   peak {peak:>5.0f} MB"
            f"   ({best['n']} posts)",
            flush=True,
        )
    paired = _run(PAIRED, path=str(path), n=n, repeat=max(3, repeat))
    print(
        f"  ours / snownlp: {rate['ours'] / rate['snownlp']:.1f}x   ours / jieba.lcut alone: "
        f"{rate['ours'] / rate['jieba']:.2f}x   time with the category model / with the "
        f"lexicon's categories only (paired, median): {paired['with'] / paired['without']:.2f}x",
        flush=True,
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--corpus", choices=[*CORPORA, "all"], default="all")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs in each process")
    parser.add_argument("--rounds", type=int, default=2, help="processes per scorer, in turn")
    parser.add_argument("--gate", type=int, default=15000, help="texts per file to check")
    args = parser.parse_args(argv)
    for corpus in CORPORA if args.corpus == "all" else [args.corpus]:
        path = args.data_dir / CORPORA[corpus]
        print(f"\n{corpus} ({path.name})", flush=True)
        bench_corpus(path, args.n, args.repeat, args.rounds)
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
