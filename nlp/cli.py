"""`yujing score [FILE]`: one post per line in, one JSON object per line out, in order.

The output fields are a contract other tools parse: sentiment (P(positive) or null),
negative, complaint, categories, signals, complaint_score, and error for an unusable line.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

BATCH = 512


def score_main(argv: list[str], stdin: TextIO, stdout: TextIO) -> int:
    parser = argparse.ArgumentParser(prog="yujing score", description=__doc__)
    parser.add_argument("file", nargs="?", help="UTF-8 text, one post per line (default: stdin)")
    parser.add_argument("--negative-below", type=float, default=None)
    args = parser.parse_args(argv)

    from nlp.scorer import Scorer
    from yujing.config import ConfigError, load_config

    try:
        config = load_config()
        words = [w for b in config.brands for w in (b.name, *b.aliases, *b.products)]
        negative_below = config.thresholds.negative_below
    except ConfigError:
        words, negative_below = [], 0.4
    if args.negative_below is not None:
        negative_below = args.negative_below
    scorer = Scorer.load(extra_words=words, negative_below=negative_below)

    if args.file:
        try:
            source = open(args.file, encoding="utf-8", errors="surrogateescape")  # noqa: SIM115
        except OSError as exc:
            print(f"yujing score: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
            return 2
    else:
        source = stdin
    try:
        batch: list[str] = []
        for line in source:
            batch.append(line.rstrip("\r\n"))
            if len(batch) >= BATCH:
                _write(scorer, batch, stdout)
                batch = []
        if batch:
            _write(scorer, batch, stdout)
    finally:
        if source is not stdin:
            source.close()
    return 0


def _write(scorer, lines: list[str], stdout: TextIO) -> None:
    clean = [line.encode("utf-8", errors="replace").decode("utf-8") for line in lines]
    for result in scorer.score_batch(clean):
        stdout.write(json.dumps(result.to_json_dict(), ensure_ascii=False) + "\n")
    stdout.flush()
