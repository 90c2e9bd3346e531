"""`yujing export VIEW [--format csv|parquet] [--out FILE]`: a whole view to a file.

The format is what `--out`'s name ends with (`.parquet` or `.csv`) unless `--format` says
(a `--format` that contradicts the name is refused); CSV otherwise.

For analysts who live in pandas: any analyst view (docs/warehouse.md) streams out in
chunks with a progress bar on large exports; filter it in pandas afterwards. Only the
documented views can be named (the name is checked against the list, never pasted into
SQL unchecked), and no SQL is taken from the command line.

CSV is made for spreadsheets (Excel, WPS, LibreOffice), which evaluate a cell that starts
with = + - @ (or a tab, CR or NUL) as a formula: post texts and author names are written
by strangers, so such a text cell is written with a leading `'` (OWASP's advice; the
spreadsheet shows the text, not a formula). Numbers are never touched (-3 stays -3).
A CSV file (`--out`) starts with a UTF-8 byte-order mark, so Excel on Chinese Windows
reads it as UTF-8 rather than GBK, and ends lines with CRLF (RFC 4180; a CR inside a text
is then quoted). CSV on stdout (a pipe) has the same cells without the mark. Parquet keeps
every value as stored.

A view gives the same column types from SQLite and from PostgreSQL: timestamps are
timezone-aware UTC (`datetime64[us, UTC]`; SQLite hands them back as naive text), counts and
0/1 flags nullable integers (`Int64`; PostgreSQL types a SUM as NUMERIC, which came out as
float), other numbers `float64`, flags stored as booleans `boolean`. Each column's kind is
what the database types it as, or what its view file declares for a computed column
(`-- column types:`, see warehouse/views.py).
"""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from pathlib import Path

from yujing.atomic import replacing

CHUNK = 50_000
FORMAT_OF_SUFFIX = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
# a spreadsheet evaluates a cell starting with one of these (OWASP "CSV injection")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\0")


def _inert(value):
    """A text cell a spreadsheet would evaluate, prefixed with `'`; anything else as is."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_safe(frame):
    """The frame with every text cell `_inert` (numeric, boolean and time columns are left
    alone: a negative number is a number)."""
    from pandas.api.types import is_bool_dtype, is_datetime64_any_dtype, is_numeric_dtype

    for column in frame.columns:
        values = frame[column]
        if not (
            is_numeric_dtype(values) or is_bool_dtype(values) or is_datetime64_any_dtype(values)
        ):
            frame[column] = values.map(_inert)
    return frame


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


def _reflected_kind(sqltype) -> str | None:
    """The kind (warehouse.views.COLUMN_KINDS) of a reflected column type, None if unknown
    (SQLite has no type for an expression in a view)."""
    from sqlalchemy import types

    for cls, kind in (
        (types.DateTime, "timestamp"),
        (types.Boolean, "boolean"),
        (types.Integer, "integer"),
        # SQLAlchemy 2.1 no longer makes Float a Numeric; a NUMERIC count is declared
        (types.Float, "float"),
        (types.Numeric, "float"),
        (types.String, "text"),
    ):
        if isinstance(sqltype, cls):
            return kind
    return None


def column_kinds(view, declared: dict[str, str]) -> dict[str, str | None]:
    """{column: kind} for a reflected view: its file's declaration, else the database's type."""
    return {c.name: declared.get(c.name) or _reflected_kind(c.type) for c in view.columns}


def typed(frame, kinds: dict[str, str | None]):
    """The frame with every column of a known kind in that kind's dtype, the same from
    either backend: UTC-aware timestamps, Int64 counts, float64 numbers, boolean flags."""
    import pandas as pd

    for column in frame.columns:
        kind, values = kinds.get(column), frame[column]
        if kind == "timestamp":
            values = pd.to_datetime(values, utc=True, format="ISO8601").dt.as_unit("us")
        elif kind == "integer":
            values = pd.to_numeric(values).astype("Int64")
        elif kind == "float":
            values = pd.to_numeric(values).astype("float64")
        elif kind == "boolean":
            values = values.astype("boolean")
        else:
            continue
        frame[column] = values
    return frame


def arrow_schema(frame, kinds: dict[str, str | None]):
    """The Parquet schema of a `typed` frame: each column of a known kind in that kind's
    Arrow type, whatever its values, so an export with no rows (or a column of NULLs) has
    the schema of a full one rather than Arrow's `null` type (pyarrow cannot tell the type
    of an empty or all-missing text column); a column of unknown kind as pyarrow infers it."""
    import pyarrow as pa

    by_kind = {
        "timestamp": pa.timestamp("us", tz="UTC"),
        "integer": pa.int64(),
        "float": pa.float64(),
        "boolean": pa.bool_(),
        "text": pa.string(),
    }
    inferred = pa.Schema.from_pandas(frame, preserve_index=False)
    return pa.schema(
        [
            field.with_type(by_kind[kinds[field.name]])
            if kinds.get(field.name) in by_kind
            else field
            for field in inferred
        ]
    )


def export_main(argv: list[str], engine=None, stdout=None) -> int:
    from warehouse.views import view_files, view_name

    files = {view_name(p): p for p in view_files()}
    views = list(files)
    parser = argparse.ArgumentParser(prog="yujing export", description=__doc__)
    parser.add_argument("view", help=f"one of: {', '.join(views)}")
    parser.add_argument(
        "--format",
        choices=["csv", "parquet"],
        help="default: what --out's name ends with (.parquet or .csv), else csv",
    )
    parser.add_argument("--out", help="output file (csv: default stdout)")
    args = parser.parse_args(argv)
    # top.parquet is Parquet: CSV written under a .parquet name (the old default) failed in
    # pandas; a --format that contradicts the name is refused rather than guessed
    named = FORMAT_OF_SUFFIX.get(Path(args.out).suffix.lower()) if args.out else None
    if args.format and named and args.format != named:
        print(
            f"yujing export: --format {args.format} does not match {args.out} (a "
            f"{named} name): drop --format, or name the file .{args.format}",
            file=sys.stderr,
        )
        return 2
    args.format = args.format or named or "csv"
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
        return _export(args, engine, stdout or sys.stdout, files[args.view])
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


def _export(args, engine, out, view_file: Path) -> int:
    import pandas as pd
    from sqlalchemy import MetaData, Table, func, select
    from tqdm import tqdm

    from warehouse.views import column_kinds as declared_kinds

    with ExitStack() as stack:
        conn = stack.enter_context(engine.connect())
        view = Table(
            args.view, MetaData(), autoload_with=conn
        )  # checked name, quoted by SQLAlchemy
        kinds = column_kinds(view, declared_kinds(view_file))
        total = conn.execute(select(func.count()).select_from(view)).scalar_one()
        chunks = pd.read_sql_query(select(view), conn, chunksize=CHUNK)
        frames = []
        csv_options = {"index": False}
        if args.format == "csv" and args.out:
            # written beside the file and renamed over it at the end: an export that fails
            # half-way leaves the previous file whole, never a truncated one in its place;
            # one handle for every chunk: utf-8-sig writes the BOM once, at the start
            partial = stack.enter_context(replacing(Path(args.out)))
            out = stack.enter_context(open(partial, "w", encoding="utf-8-sig", newline=""))
            csv_options["lineterminator"] = "\r\n"
        with tqdm(total=total, unit=" rows", desc=args.view, disable=None, file=sys.stderr) as bar:
            first = True
            for chunk in chunks:
                chunk = typed(chunk, kinds)
                if args.format == "csv":
                    csv_safe(chunk).to_csv(out, header=first, **csv_options)
                else:
                    frames.append(chunk)
                first = False
                bar.update(len(chunk))
    if args.format == "parquet":
        if frames:
            frame = pd.concat(frames, ignore_index=True)
        else:  # no chunk at all: the view's columns, no rows
            frame = typed(
                pd.DataFrame({c.name: pd.Series(dtype=object) for c in view.columns}), kinds
            )
        with replacing(Path(args.out)) as partial:
            frame.to_parquet(partial, index=False, schema=arrow_schema(frame, kinds))
    if args.out:
        print(f"{total} rows from {args.view} → {args.out}", file=sys.stderr)
    return 0
