"""Analyst views (`sql/views/*.sql`), one definition for SQLite and PostgreSQL.

The few things the two dialects spell differently are written as macros in the SQL files
and expanded here: `{{ local_day(col) }}` (the Asia/Shanghai calendar day as
'YYYY-MM-DD'), `{{ json_items(col, alias) }}` (the elements of a JSON text array as rows
with a `value` column), `{{ minutes_between(later, earlier) }}` and
`{{ week_start(day) }}` (the Monday of a 'YYYY-MM-DD' day, as 'YYYY-MM-DD') and
`{{ json_first(col) }}` (the first element of a JSON text array, NULL when empty). Views are
created by a migration, so `yujing db upgrade` brings them up to date.

`{{ official_author(brand, platform, author_id) }}` is true for a post by one of the brand's
own official accounts (a row of `official_accounts`, kept in sync with the config by
warehouse/official_accounts.py): the brand's statement, which the views count as a mention
but never as a negative post or complaint against that brand. The same on both dialects;
where the table does not exist (the views that revisions before 0006 create from today's
files) it is false.

`{{ column_or_null(table, alias, column) }}` is `alias.column`, or NULL where the table does
not have that column yet: revisions before the one that adds a column recreate the views
from today's files too (`incidents.crossed_before_seen`, revision 0011).

`minutes_between` is exact on both: the difference in whole microseconds (SQLite stores a
timestamp as 'YYYY-MM-DD HH:MM:SS.ffffff' UTC text; julianday's floating-point days were off
by up to a few microseconds, so a reply exactly 30 minutes later was 29.9999995 or 30.0000002
minutes) divided by 60,000,000 as a double precision float on both backends.

On SQLite, `local_day` and `minutes_between` give date() and strftime('%s') only the whole
seconds (`substr(x, 1, 19)`, 'YYYY-MM-DD HH:MM:SS'): both round a time to the millisecond
before they drop the fraction, so until revision 0008 a time of .9995 s or more past a
second counted as the next second (15:59:59.999999 UTC fell on the next Shanghai day, and
minutes_between, adding the microseconds again, was a second off). `render_0007` renders
a view as revisions 0005 to 0007 did, for their downgrades.

A view file may declare the types of its computed columns (SQLite knows no type for an
expression in a view, and PostgreSQL types a SUM of integers as NUMERIC):
`-- column types: went_viral integer, lead_minutes float, first_alert_at timestamp`
(kinds: integer, float, timestamp, boolean, text). `yujing export` gives those columns,
and the ones the database types itself, the same dtypes on both backends.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import Connection, inspect, text

from yujing.config import PROJECT_ROOT

VIEWS_DIR = PROJECT_ROOT / "sql" / "views"
_MACRO = re.compile(r"\{\{\s*(\w+)\(([^)]*)\)\s*\}\}")
LOCAL_TIMEZONE = "Asia/Shanghai"  # China has had no DST since 1991: a fixed +8 h offset
_LOCAL_OFFSET_HOURS = 8


def _whole_seconds(column: str) -> str:
    """The stored time without its fraction ('YYYY-MM-DD HH:MM:SS'): date() and
    strftime() would round the fraction to the millisecond, .9995 s and more up to the
    next second."""
    return f"substr({column}, 1, 19)"


def _sqlite(name: str, args: list[str]) -> str:
    if name == "local_day":
        return f"date({_whole_seconds(args[0])}, '+{_LOCAL_OFFSET_HOURS} hours')"
    if name == "json_items":
        return f"json_each({args[0]}) AS {args[1]}"
    if name == "minutes_between":
        # whole seconds by strftime('%s') of the time cut to its seconds, plus the stored
        # microseconds (characters 21-26 of 'YYYY-MM-DD HH:MM:SS.ffffff'; a value stored
        # without them counts as .000000)
        a, b = args
        micros = "CAST(substr({} || '000000', 21, 6) AS INTEGER)"
        return (
            f"(((strftime('%s', {_whole_seconds(a)}) - strftime('%s', {_whole_seconds(b)}))"
            f" * 1000000 + {micros.format(a)} - {micros.format(b)}) / 60000000.0)"
        )
    if name == "json_first":
        return f"json_extract({args[0]}, '$[0]')"
    if name == "week_start":
        return f"date({args[0]}, 'weekday 0', '-6 days')"
    raise ValueError(f"unknown SQL macro {name!r}")


def _sqlite_0007(name: str, args: list[str]) -> str:
    """SQLite's macros as revisions 0005 to 0007 expanded them: local_day and
    minutes_between on the whole stored text, fraction included (see the module doc)."""
    if name == "local_day":
        return f"date({args[0]}, '+{_LOCAL_OFFSET_HOURS} hours')"
    if name == "minutes_between":
        a, b = args
        micros = "CAST(substr({} || '000000', 21, 6) AS INTEGER)"
        return (
            f"(((strftime('%s', {a}) - strftime('%s', {b})) * 1000000"
            f" + {micros.format(a)} - {micros.format(b)}) / 60000000.0)"
        )
    return _sqlite(name, args)


def _postgresql(name: str, args: list[str]) -> str:
    if name == "local_day":
        return f"to_char(({args[0]} AT TIME ZONE '{LOCAL_TIMEZONE}'), 'YYYY-MM-DD')"
    if name == "json_items":
        return f"json_array_elements_text(CAST({args[0]} AS json)) AS {args[1]}(value)"
    if name == "minutes_between":
        micros = f"ROUND(EXTRACT(EPOCH FROM ({args[0]} - {args[1]})) * 1000000)"
        return f"(CAST({micros} AS DOUBLE PRECISION) / 60000000.0)"
    if name == "json_first":
        return f"(CAST({args[0]} AS json) ->> 0)"
    if name == "week_start":
        return f"to_char(date_trunc('week', CAST({args[0]} AS date)), 'YYYY-MM-DD')"
    raise ValueError(f"unknown SQL macro {name!r}")


OFFICIAL_ACCOUNTS = "official_accounts"


def _official_author(args: list[str], official_accounts: bool) -> str:
    brand, platform, author_id = args
    if not official_accounts:
        return "(1 = 0)"
    # the arguments are column names from a view file, never data
    return (
        f"EXISTS (SELECT 1 FROM {OFFICIAL_ACCOUNTS} oa WHERE oa.brand = {brand}"  # noqa: S608
        f" AND oa.platform = {platform} AND oa.uid = {author_id})"
    )


def _column_or_null(args: list[str], columns: dict[str, set[str]] | None) -> str:
    table, alias, column = args
    if columns is not None and column not in columns.get(table, set()):
        return "NULL"
    return f"{alias}.{column}"


def render(
    sql: str,
    dialect: str,
    *,
    official_accounts: bool = True,
    columns: dict[str, set[str]] | None = None,
) -> str:
    """Expand the dialect macros in one view definition (`official_accounts=False`: the
    table does not exist yet, `official_author` is false; `columns`: {table: its columns}
    for `column_or_null`, None when every column it names exists)."""
    expanders = {"sqlite": _sqlite, "postgresql": _postgresql}
    return _render(sql, dialect, expanders, official_accounts, columns)


def render_0007(sql: str, dialect: str) -> str:
    """One view definition as revisions 0005 to 0007 rendered it (their downgrades restore
    that): today's macros, except SQLite's local_day and minutes_between before 0008."""
    return _render(sql, dialect, {"sqlite": _sqlite_0007, "postgresql": _postgresql}, True)


def _render(
    sql: str,
    dialect: str,
    expanders: dict,
    official_accounts: bool,
    columns: dict[str, set[str]] | None = None,
) -> str:
    expand = expanders.get(dialect)
    if expand is None:
        raise NotImplementedError(f"views are defined for sqlite and postgresql, not {dialect}")

    def macro(m: re.Match) -> str:
        name, args = m.group(1), [a.strip() for a in m.group(2).split(",")]
        if name == "official_author":
            return _official_author(args, official_accounts)
        if name == "column_or_null":
            return _column_or_null(args, columns)
        return expand(name, args)

    return _MACRO.sub(macro, sql)


def _macro_columns(conn: Connection, sources: list[str]) -> dict[str, set[str]]:
    """{table: its columns} of every table a `column_or_null` in `sources` names."""
    names = {
        m.group(2).split(",")[0].strip()
        for sql in sources
        for m in _MACRO.finditer(sql)
        if m.group(1) == "column_or_null"
    }
    found = inspect(conn)
    return {
        t: {c["name"] for c in found.get_columns(t)} if found.has_table(t) else set() for t in names
    }


def view_files(directory: Path = VIEWS_DIR, below: str | None = None) -> list[Path]:
    """The view definitions in creation order (a view may use the ones before it);
    `below="080"` keeps the files numbered before 080 (what an older migration created)."""
    files = sorted(directory.glob("*.sql"))
    return [f for f in files if below is None or f.name < below]


COLUMN_KINDS = ("integer", "float", "timestamp", "boolean", "text")
_COLUMN_TYPES = re.compile(r"^--\s*column types:(.*)$", re.M)


def column_kinds(path: Path) -> dict[str, str]:
    """{column: kind} from the view file's `-- column types:` lines (see the module doc)."""
    kinds = {}
    for line in _COLUMN_TYPES.findall(path.read_text(encoding="utf-8")):
        for item in filter(None, (i.strip() for i in line.split(","))):
            column, kind = item.split()
            if kind not in COLUMN_KINDS:
                raise ValueError(f"{path.name}: unknown column kind {kind!r} for {column}")
            kinds[column] = kind
    return kinds


def view_name(path: Path) -> str:
    try:
        return sql_view_name(path.read_text(encoding="utf-8"))
    except ValueError:
        raise ValueError(f"{path} does not contain CREATE VIEW") from None


def drop_views(conn: Connection, directory: Path = VIEWS_DIR, below: str | None = None) -> None:
    for path in reversed(view_files(directory, below)):
        conn.execute(text(f"DROP VIEW IF EXISTS {view_name(path)}"))


# The view files a revision replaced, as they were before it: views_before/<revision>/ holds
# only the files whose view that revision changed (not those whose comments alone changed:
# a database keeps no comment), so a downgrade can rebuild the whole earlier set.
VIEWS_BEFORE_DIR = Path(__file__).resolve().parent / "migrations" / "views_before"


def view_sources_before(revision: str) -> list[tuple[str, str]]:
    """(file name, SQL) of every view file as it was before `revision`, in creation order:
    today's sql/views with the files of each revision from the newest down to `revision`
    put back as that revision found them."""
    sources = {p.name: p.read_text(encoding="utf-8") for p in view_files()}
    later = sorted((d for d in VIEWS_BEFORE_DIR.iterdir() if d.name >= revision), reverse=True)
    for folder in later:
        for path in folder.glob("*.sql"):
            sources[path.name] = path.read_text(encoding="utf-8")
    return sorted(sources.items())


def sql_view_name(sql: str) -> str:
    """The name a view definition creates."""
    match = re.search(r"CREATE VIEW (\w+)", sql)
    if not match:
        raise ValueError("no CREATE VIEW in the definition")
    return match.group(1)


def restore_views(conn: Connection, sources: list[tuple[str, str]], render_sql=render) -> None:
    """Replace today's views with `sources` (a downgrade's `view_sources_before`), each
    rendered by `render_sql(sql, dialect)`: the macros as that revision expanded them."""
    drop_views(conn)
    for _, sql in reversed(sources):  # the same names today, unless a later file goes
        conn.execute(text(f"DROP VIEW IF EXISTS {sql_view_name(sql)}"))
    for _, sql in sources:
        conn.execute(text(render_sql(sql, conn.dialect.name)))


def create_views(
    conn: Connection, directory: Path = VIEWS_DIR, below: str | None = None
) -> list[str]:
    """(Re)create every view (or those numbered before `below`); returns their names."""
    drop_views(conn, directory, below)
    accounts = inspect(conn).has_table(OFFICIAL_ACCOUNTS)  # from revision 0006 on
    paths = view_files(directory, below)
    sources = [path.read_text(encoding="utf-8") for path in paths]
    columns = _macro_columns(conn, sources)  # a column a later revision adds may be missing
    names = []
    for path, source in zip(paths, sources, strict=True):
        sql = render(source, conn.dialect.name, official_accounts=accounts, columns=columns)
        conn.execute(text(sql))
        names.append(view_name(path))
    return names
