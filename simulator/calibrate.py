"""Derive the simulator's small committed calibration from the real data sets.

    python -m simulator.calibrate ../shared/data

writes two small files next to this module (they are committed; the data sets are not):

- `calibration.json`: from the real Weibo cascades (`cascades/weibo_rumdect_dev.jsonl.gz`,
  2,709 events, about 1.3 million reposts): the parent→child repost delay distribution,
  the reposters' follower distribution, and the mean number of direct reposts a repost
  draws by the reposter's follower count (log10 buckets). These drive the simulator's
  self-exciting (marked Hawkes) cascades. Also the overall delay distribution from
  `cascades/weibo_reaction_time_hist_10s.txt` (8.5 million reposts), for reference.
- `samples.txt`: a few hundred real consumer review lines (food delivery from
  `sentiment/waimai_10k_train.csv`, dairy from `sentiment/online_shopping_10_cats.csv`)
  the simulator mixes into its phrase bank, as `industry<TAB>label<TAB>text`.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import math
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUANTILES = [i / 200 for i in range(201)]


def _quantiles(values: list[float]) -> list[float]:
    values = sorted(values)
    n = len(values)
    return [round(values[min(n - 1, int(q * (n - 1)))], 3) for q in QUANTILES]


def cascades_calibration(folder: Path) -> dict:
    delays: list[float] = []
    followers: list[float] = []
    kids_by_bucket: dict[int, list[int]] = defaultdict(list)
    root_kids: list[int] = []
    within_24h: list[int] = []
    with gzip.open(folder / "weibo_rumdect_dev.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            event = json.loads(line)
            root = event["root"]["mid"]
            times = {root: 0.0}
            marks = {root: event["root"].get("followers") or 0}
            for post in event["posts"]:
                times[post[3]] = float(post[0])
                marks[post[3]] = int(post[1] or 0)
            kids: Counter = Counter()
            for post in event["posts"]:
                parent = post[2]
                if parent in times and post[0] >= times[parent]:
                    delays.append(post[0] - times[parent])
                    kids[parent] += 1
                followers.append(max(int(post[1] or 0), 0))
            for mid, f in marks.items():
                if mid != root:
                    kids_by_bucket[int(math.log10(max(f, 1)))].append(kids[mid])
            root_kids.append(kids[root])
            within_24h.append(sum(1 for p in event["posts"] if p[0] < 86400))
    week = 7 * 86400
    return {
        "source": "weibo_rumdect_dev.jsonl.gz (Ma et al. 2016 Weibo rumour corpus)",
        "quantiles": QUANTILES,
        "child_delay_s": _quantiles([min(d, week) for d in delays]),
        "reposter_followers": _quantiles(followers),
        "kids_by_log10_followers": {
            str(b): round(sum(v) / len(v), 4) for b, v in sorted(kids_by_bucket.items()) if v
        },
        "root_direct_reposts": _quantiles(root_kids),
        "reposts_within_24h": _quantiles(within_24h),
    }


def kernel_quantiles(path: Path) -> list[float]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
                rows.append((int(parts[0]) * 10.0, int(parts[1])))
    rows.sort()
    total = sum(c for _, c in rows)
    out, acc, i = [], 0, 0
    for q in QUANTILES:
        while i < len(rows) - 1 and acc + rows[i][1] < q * total:
            acc += rows[i][1]
            i += 1
        out.append(rows[i][0])
    return out


def samples(folder: Path, seed: int = 0) -> list[tuple[str, int, str]]:
    rng = random.Random(seed)
    picked: list[tuple[str, int, str]] = []

    def take(rows: list[tuple[int, str]], industry: str, label: int, n: int) -> None:
        pool = [t for lab, t in rows if lab == label and 6 <= len(t) <= 70 and "\t" not in t]
        rng.shuffle(pool)
        picked.extend((industry, label, t.strip()) for t in pool[:n])

    with open(folder / "waimai_10k_train.csv", encoding="utf-8") as f:
        rows = [(int(r["label"]), r["text"]) for r in csv.DictReader(f)]
    take(rows, "delivery", 0, 120)
    take(rows, "delivery", 1, 40)
    with open(folder / "online_shopping_10_cats.csv", encoding="utf-8") as f:
        rows = [(int(r["label"]), r["text"]) for r in csv.DictReader(f) if r["category"] == "蒙牛"]
    take(rows, "dairy", 0, 100)
    take(rows, "dairy", 1, 40)
    return picked


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="the shared data folder (../shared/data)")
    args = parser.parse_args(argv)
    calibration = cascades_calibration(args.data / "cascades")
    calibration["reaction_time_s"] = kernel_quantiles(
        args.data / "cascades" / "weibo_reaction_time_hist_10s.txt"
    )
    (HERE / "calibration.json").write_text(
        json.dumps(calibration, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    lines = samples(args.data / "sentiment")
    with open(HERE / "samples.txt", "w", encoding="utf-8") as f:
        f.write("# industry\tlabel\ttext — real review lines, see simulator/calibrate.py\n")
        for industry, label, text in lines:
            f.write(f"{industry}\t{label}\t{text}\n")
    print(f"wrote {HERE / 'calibration.json'} and {len(lines)} lines to {HERE / 'samples.txt'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
