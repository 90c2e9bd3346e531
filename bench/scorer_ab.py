"""The scorer of this checkout against the scorer of another commit, on the same texts.

    python bench/scorer_ab.py ../shared/data/sentiment [--base HEAD~1] [--n 3000] [--rounds 4]

For a change meant to make scoring faster without changing what it says. The base
commit's `nlp/` package (with its model files) is exported with `git archive` into a
temporary directory; each scorer then runs in its own fresh process, in turns (`--rounds`),
timing `score_batch` on the same texts five times after a warm-up; the best run counts
(as timeit). Prints µs per post and the speed-up for Weibo posts and food-delivery
reviews, and whether both commits gave the same output for every text (the scores
compared exactly, as JSON).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPORA = {"weibo": "weibo2018_train.csv", "waimai": "waimai_10k_train.csv"}

WORKER = r"""
import hashlib, json, sys, time
sys.path.insert(0, {root!r})
import pandas as pd
texts = list(pd.read_csv({path!r})["text"].astype(str).head({n}))
from nlp.scorer import Scorer
s = Scorer.load()
s.score_batch(texts[:50])
times = []
for _ in range(5):
    t = time.perf_counter(); scores = s.score_batch(texts); times.append(time.perf_counter() - t)
out = json.dumps([x.to_json_dict() | {{"score": x.complaint_score}} for x in scores])
print(json.dumps({{"best": min(times), "digest": hashlib.sha256(out.encode()).hexdigest(),
                  "version": s.model_version}}))
"""


def _run(root: Path, path: Path, n: int) -> dict:
    code = WORKER.format(root=str(root), path=str(path), n=n)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def export(base: str, into: Path) -> Path:
    """The base commit's nlp/ package (code, lexicon data, model files) under `into`."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", base, "nlp"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    (into / "yujing").symlink_to(ROOT / "yujing")  # the config and paths the scorer reads
    return into


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--base", default="HEAD~1", help="the commit to compare against")
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        roots = {args.base: export(args.base, Path(tmp)), "this checkout": ROOT}
        for corpus, name in CORPORA.items():
            path = args.data_dir / name
            runs: dict[str, list[dict]] = {label: [] for label in roots}
            for _ in range(args.rounds):
                for label, root in roots.items():
                    runs[label].append(_run(root, path, args.n))
            print(f"\n{corpus} ({name}, {args.n} posts)")
            best = {}
            for label, results in runs.items():
                best[label] = min(r["best"] for r in results) * 1e6 / args.n
                per_round = ", ".join(f"{r['best'] * 1e6 / args.n:.1f}" for r in results)
                print(f"  {label:14} best {best[label]:6.1f} µs/post   rounds: {per_round}")
            base, new = (runs[label][0] for label in roots)
            same = base["digest"] == new["digest"]
            print(
                f"  speed-up {best[args.base] / best['this checkout']:.2f}x   same output for "
                f"every text: {'yes' if same else 'NO'} (versions {base['version']} / "
                f"{new['version']})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
