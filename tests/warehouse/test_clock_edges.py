"""Clock edges: Shanghai days are the same on SQLite (a fixed +8 h offset, as China has had
no DST since 1991) and PostgreSQL (the tz database), at every local midnight of a year,
and schedules in Asia/Shanghai fire at the same UTC time all year."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import text

from warehouse.views import render

SHANGHAI = ZoneInfo("Asia/Shanghai")
# one second either side of every Shanghai midnight in 2026 (16:00 UTC the day before)
EDGES = [
    dt.datetime(2026, 1, 1, tzinfo=SHANGHAI).astimezone(dt.UTC) + dt.timedelta(days=d, seconds=s)
    for d in range(365)
    for s in (-1, 0)
]


def _local_days(engine) -> list[str]:
    sql = render("SELECT {{ local_day(:t) }}", engine.dialect.name)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":  # stored as ISO text, as UTCDateTime writes it
            return [
                conn.execute(text(sql), {"t": t.replace(tzinfo=None).isoformat(" ")}).scalar_one()
                for t in EDGES
            ]
        return [str(conn.execute(text(sql), {"t": t}).scalar_one()) for t in EDGES]


def test_shanghai_days_agree_across_databases_and_the_tz_database(sqlite_engine, pg_engine):
    expected = [t.astimezone(SHANGHAI).date().isoformat() for t in EDGES]
    assert _local_days(sqlite_engine) == expected
    assert _local_days(pg_engine) == expected


def test_shanghai_schedules_fire_at_the_same_utc_time_all_year():
    """The digest's 09:00 Asia/Shanghai is 01:00 UTC on every day of the year (no DST), so
    the views' fixed +8 h offset and Airflow's timezone-aware cron agree."""
    from yujing.config import load_config

    config = load_config()
    minute, hour = (int(x) for x in config.schedules.digest.cron.split()[:2])
    zone = ZoneInfo(config.schedule_timezone("digest"))
    start = dt.date(2026, 1, 1)
    utc_hours = {
        dt.datetime.combine(start + dt.timedelta(days=d), dt.time(hour, minute), zone)
        .astimezone(dt.UTC)
        .hour
        for d in range(365)
    }
    assert utc_hours == {(hour - 8) % 24}
