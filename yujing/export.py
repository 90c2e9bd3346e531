"""`yujing export VIEW [--format csv|parquet] [--out FILE]`: a whole view to a file.

For analysts who live in pandas: any analyst view (docs/warehouse.md) streams out in
chunks with a progress bar on large exports; filter it in pandas afterwards. Only the
documented views can be named (the name is checked against the list, never pasted into
SQL unchecked), and no SQL is taken from the command line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

CHUNK = 50_000


def output_problem(out: str) -> str | None:
    """Why `out` cannot be written, checked before a long query or render, or None."""
    path = Path(out)
    if path.is_dir():
        return "it is a folder; give a file name"
    if not path.parent.is_dir():
        return f"no such folder {path.parent}"
    return None


def not_upgraded(engine) -> str | None:
    """The one-line hint for a warehouse whose tables were never created, or None."""
    from warehouse.db import is_migrated

    if is_migrated(engine):
        return None
    url = engine.url.render_as_string(hide_password=True)
    return f"the warehouse {url} has no tables yet: run `yujing db upgrade`"


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

    problem = args.out and output_problem(args.out)
    if problem:
        print(f"yujing export: cannot write {args.out}: {problem}", file=sys.stderr)
        return 2

    from sqlalchemy.exc import NoSuchTableError

    from warehouse.db import make_engine

    engine = engine or make_engine()
    problem = not_upgraded(engine)
    if problem:
        print(f"yujing export: {problem}", file=sys.stderr)
        return 2
    try:
        return _export(args, engine, stdout or sys.stdout)
    except NoSuchTableError:  # a warehouse upgraded before this view existed
        print(
            f"yujing export: the warehouse has no view {args.view}: run `yujing db upgrade`",
            file=sys.stderr,
        )
        return 2
    except OSError as exc:  # e.g. no permission to write, disk full
        if not args.out:  # stdout: a closed pipe is the CLI's to handle
            raise
        print(f"yujing export: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 2


def _export(args, engine, out) -> int:
    import pandas as pd
    from sqlalchemy import MetaData, Table, func, select
    from tqdm import tqdm

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
