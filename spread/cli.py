"""`yujing predict --observe SECONDS [--horizon 86400] [--viral 1000] FILE`.

Reads cascades in the `../shared/data/cascades` JSONL format (gzip allowed), keeps only
posts earlier than the observation time (the rest are dropped while parsing, never
looked at), and writes one JSON object per cascade: event_id, observed, predicted, low,
high (80% interval) and p_viral. The output fields are a contract other tools parse.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO


def predict_main(argv: list[str], stdout: TextIO) -> int:
    parser = argparse.ArgumentParser(prog="yujing predict", description=__doc__)
    parser.add_argument("--observe", type=float, required=True, help="seconds after posting")
    parser.add_argument("--horizon", type=float, default=86400.0, help="seconds (default 24 h)")
    parser.add_argument("--viral", type=int, default=1000, help="reposts that count as viral")
    parser.add_argument("file", help="cascades, JSONL or JSONL.gz")
    args = parser.parse_args(argv)
    if args.observe <= 0 or args.horizon <= 0 or args.viral < 1:
        parser.error("--observe and --horizon must be positive and --viral at least 1")

    from spread.cascades import CascadeFormatError, read_cascades
    from spread.model import Predictor

    predictor = Predictor.load(horizon_s=args.horizon, viral=args.viral)
    batch = []

    def flush() -> None:
        estimates = predictor.predict_many([obs for _, obs in batch])
        for (event_id, _), est in zip(batch, estimates, strict=True):
            record = {
                "event_id": event_id,
                "observed": est.observed,
                "predicted": round(est.predicted, 2),
                "low": round(est.low, 2),
                "high": round(est.high, 2),
                "p_viral": round(est.p_viral, 4),
            }
            stdout.write(json.dumps(record) + "\n")
        batch.clear()

    try:
        for cascade in read_cascades(args.file, observe=args.observe):
            batch.append((cascade.event_id, cascade.observe(args.observe)))
            if len(batch) >= 256:
                flush()
        flush()
    except OSError as exc:
        print(f"yujing predict: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except CascadeFormatError as exc:
        print(f"yujing predict: {exc}", file=sys.stderr)
        return 2
    return 0
