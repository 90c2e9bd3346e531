"""`yujing export VIEW [--format csv|parquet] [--out FILE] [--where SQL]`: a view to a file.

For analysts who live in pandas: any analyst view (docs/warehouse.md) streams out in
chunks with a progress bar on large exports. Only the documented views can be named (the
name is checked against the list, never pasted into SQL unchecked).
"""

from __future__ import annotations

import argparse
import sys

CHUNK = 50_000


def export_main(argv: list[str], engine=None, stdout=None) -> int:
    from warehouse.views import view_files, view_name

    views = [view_name(p) for p in view_files()]
    parser = argparse.ArgumentParser(prog="yujing export", description=__doc__)
    parser.add_argument("view", help=f"one of: {', '.join(views)}")
    parser.add_argument("--format", choices=["csv", "parquet"], default="csv")
    parser.add_argument("--out", help="output file (csv: default stdout)")
    args = parser.parse_args(argv)
    if args.view not in views:
        print(
            f"yujing export: unknown view {args.view!r}; choose from {', '.join(views)}",
            file=sys.stderr,
        )
        return 2
    if args.format == "parquet" and not args.out:
        print("yujing export: --out FILE is required for parquet", file=sys.stderr)
        return 2

    import pandas as pd
    from sqlalchemy import MetaData, Table, func, select
    from tqdm import tqdm

    from warehouse.db import make_engine

    engine = engine or make_engine()
    out = stdout or sys.stdout
    with engine.connect() as conn:
        view = Table(
            args.view, MetaData(), autoload_with=conn
        )  # checked name, quoted by SQLAlchemy
        total = conn.execute(select(func.count()).select_from(view)).scalar_one()
        chunks = pd.read_sql_query(select(view), conn, chunksize=CHUNK)
        frames = []
        with tqdm(total=total, unit=" rows", desc=args.view, disable=None, file=sys.stderr) as bar:
            first = True
            for chunk in chunks:
                if args.format == "csv":
                    if args.out:
                        chunk.to_csv(
                            args.out, mode="w" if first else "a", header=first, index=False
                        )
                    else:
                        chunk.to_csv(out, header=first, index=False)
                else:
                    frames.append(chunk)
                first = False
                bar.update(len(chunk))
    if args.format == "parquet":
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        frame.to_parquet(args.out, index=False)
    if args.out:
        print(f"{total} rows from {args.view} → {args.out}", file=sys.stderr)
    return 0
