"""Analyst views (`sql/views/*.sql`), one definition for SQLite and PostgreSQL.

The few things the two dialects spell differently are written as macros in the SQL files
and expanded here: `{{ local_day(col) }}` (the Asia/Shanghai calendar day as
'YYYY-MM-DD'), `{{ json_items(col, alias) }}` (the elements of a JSON text array as rows
with a `value` column), `{{ minutes_between(later, earlier) }}` and
`{{ week_start(day) }}` (the Monday of a 'YYYY-MM-DD' day, as 'YYYY-MM-DD'). Views are created by
a migration, so `yujing db upgrade` brings them up to date.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import Connection, text

from yujing.config import PROJECT_ROOT

VIEWS_DIR = PROJECT_ROOT / "sql" / "views"
_MACRO = re.compile(r"\{\{\s*(\w+)\(([^)]*)\)\s*\}\}")
LOCAL_TIMEZONE = "Asia/Shanghai"  # China has had no DST since 1991: a fixed +8 h offset
_LOCAL_OFFSET_HOURS = 8


def _sqlite(name: str, args: list[str]) -> str:
    if name == "local_day":
        return f"date({args[0]}, '+{_LOCAL_OFFSET_HOURS} hours')"
    if name == "json_items":
        return f"json_each({args[0]}) AS {args[1]}"
    if name == "minutes_between":
        return f"((julianday({args[0]}) - julianday({args[1]})) * 1440.0)"
    if name == "week_start":
        return f"date({args[0]}, 'weekday 0', '-6 days')"
    raise ValueError(f"unknown SQL macro {name!r}")


def _postgresql(name: str, args: list[str]) -> str:
    if name == "local_day":
        return f"to_char(({args[0]} AT TIME ZONE '{LOCAL_TIMEZONE}'), 'YYYY-MM-DD')"
    if name == "json_items":
        return f"json_array_elements_text(CAST({args[0]} AS json)) AS {args[1]}(value)"
    if name == "minutes_between":
        return f"(EXTRACT(EPOCH FROM ({args[0]} - {args[1]})) / 60.0)"
    if name == "week_start":
        return f"to_char(date_trunc('week', CAST({args[0]} AS date)), 'YYYY-MM-DD')"
    raise ValueError(f"unknown SQL macro {name!r}")


def render(sql: str, dialect: str) -> str:
    """Expand the dialect macros in one view definition."""
    expand = {"sqlite": _sqlite, "postgresql": _postgresql}.get(dialect)
    if expand is None:
        raise NotImplementedError(f"views are defined for sqlite and postgresql, not {dialect}")
    return _MACRO.sub(lambda m: expand(m.group(1), [a.strip() for a in m.group(2).split(",")]), sql)


def view_files(directory: Path = VIEWS_DIR, below: str | None = None) -> list[Path]:
    """The view definitions in creation order (a view may use the ones before it);
    `below="080"` keeps the files numbered before 080 (what an older migration created)."""
    files = sorted(directory.glob("*.sql"))
    return [f for f in files if below is None or f.name < below]


def view_name(path: Path) -> str:
    match = re.search(r"CREATE VIEW (\w+)", path.read_text(encoding="utf-8"))
    if not match:
        raise ValueError(f"{path} does not contain CREATE VIEW")
    return match.group(1)


def drop_views(conn: Connection, directory: Path = VIEWS_DIR, below: str | None = None) -> None:
    for path in reversed(view_files(directory, below)):
        conn.execute(text(f"DROP VIEW IF EXISTS {view_name(path)}"))


def create_views(
    conn: Connection, directory: Path = VIEWS_DIR, below: str | None = None
) -> list[str]:
    """(Re)create every view (or those numbered before `below`); returns their names."""
    drop_views(conn, directory, below)
    names = []
    for path in view_files(directory, below):
        conn.execute(text(render(path.read_text(encoding="utf-8"), conn.dialect.name)))
        names.append(view_name(path))
    return names
