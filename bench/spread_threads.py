"""Spread predictions with one OpenMP thread (what the pipeline uses) vs the library default.

    python bench/spread_threads.py CASCADES [--posts 5000] [--repeat 3]

`Predictor.predict_many` on real observations (the first cascades of CASCADES, each seen
at 10 min, 30 min, 1 h, 2 h and 4 h), timed three ways, each with both settings in the
same run: alone; beside one CPU-bound neighbour process (another task on the worker);
beside a second process predicting with the same setting (two spread tasks at once).
Prints the median seconds per call and default/one-thread ratios (> 1: one thread wins).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

OFFSETS = (600, 1800, 3600, 7200, 14400)


def _observations(path: Path, posts: int):
    from spread.cascades import read_cascades

    obs = []
    for cascade in read_cascades(path):
        obs += [cascade.observe(t) for t in OFFSETS]
        if len(obs) >= posts:
            return obs[:posts]
    return obs


def _predictor(threads: int | None):
    from spread.model import Predictor

    predictor = Predictor.load()
    predictor.threads = threads
    return predictor


def _time(predictor, obs, repeat: int) -> float:
    predictor.predict_many(obs[:100])  # warm up
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        predictor.predict_many(obs)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def _busy(stop) -> None:
    while not stop.is_set():
        pass


def _predict_until(path: Path, posts: int, threads: int | None, ready, stop) -> None:
    predictor, obs = _predictor(threads), _observations(path, posts)
    predictor.predict_many(obs[:100])
    ready.set()
    while not stop.is_set():
        predictor.predict_many(obs[:500])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("cascades", type=Path)
    parser.add_argument("--posts", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    obs = _observations(args.cascades, args.posts)
    settings = {"default": None, "one thread": 1}
    predictors = {name: _predictor(threads) for name, threads in settings.items()}
    print(f"{len(obs)} observations per call, median of {args.repeat}\n")
    print(f"{'situation':34} {'default':>9} {'one thread':>11} {'ratio':>7}")
    ctx = mp.get_context("spawn")
    for situation in ("alone", "beside a CPU-bound process", "beside a second predictor"):
        times = {}
        for name, threads in settings.items():
            stop, ready, helper = ctx.Event(), ctx.Event(), None
            if situation == "beside a CPU-bound process":
                helper = ctx.Process(target=_busy, args=(stop,))
                helper.start()
            elif situation == "beside a second predictor":
                helper = ctx.Process(
                    target=_predict_until, args=(args.cascades, args.posts, threads, ready, stop)
                )
                helper.start()
                ready.wait(300)
            try:
                times[name] = _time(predictors[name], obs, args.repeat)
            finally:
                stop.set()
                if helper is not None:
                    helper.join(60)
        ratio = times["default"] / times["one thread"]
        print(
            f"{situation:34} {times['default']:>8.2f}s {times['one thread']:>10.2f}s "
            f"{ratio:>6.2f}x",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
