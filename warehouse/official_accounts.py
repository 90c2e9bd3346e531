"""The brands' official accounts in the warehouse (`official_accounts`), copied from the
config so that the analyst views can tell a brand's own post (its apology, its recall
notice) from a complaint against it, as the alerting code does with the config itself
(`alerts.responses.own_statement`).

The config is the source of truth: `sync_official_accounts` makes the table hold exactly
the config's accounts, in one transaction, and leaves a row that is already right as it
is (its `updated_at` is when it was added), so a rerun changes nothing. The escalate DAG's
check step runs it every few minutes (yujing/tasks.py `check_responses`), and so does
`yujing db upgrade` when the config loads: an account removed from the config stops being
excluded from the complaint counts at the next run.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, select, tuple_

from warehouse.schema import official_accounts
from warehouse.writes import insert_ignore
from yujing.config import Config

_KEY = ("brand", "platform", "uid")


def configured_accounts(config: Config) -> set[tuple[str, str, str]]:
    """(brand, platform, uid) for every official account in the config."""
    return {
        (brand.code, platform, str(uid))
        for brand in config.brands
        for platform, uids in brand.official_accounts.items()
        for uid in uids
    }


def sync_official_accounts(engine: Engine, config: Config, now: dt.datetime) -> dict:
    """Make `official_accounts` hold exactly the config's accounts (one transaction).
    Returns how many rows were added and removed: both 0 when it already did."""
    wanted = configured_accounts(config)
    table = official_accounts
    with engine.begin() as conn:
        present = {
            tuple(row) for row in conn.execute(select(table.c.brand, table.c.platform, table.c.uid))
        }
        gone = sorted(present - wanted)
        removed = 0
        if gone:
            removed = conn.execute(
                table.delete().where(tuple_(table.c.brand, table.c.platform, table.c.uid).in_(gone))
            ).rowcount
        new = [
            dict(zip(_KEY, key, strict=True), updated_at=now) for key in sorted(wanted - present)
        ]
        # insert_ignore: a concurrent run that added the same row first is no error
        added = insert_ignore(conn, table, new, _KEY) if new else 0
    return {"added": added, "removed": removed}
