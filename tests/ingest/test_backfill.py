"""`yujing backfill`: real cascades (both formats of ../shared/data/cascades, as small
committed samples) into the warehouse on SQLite and PostgreSQL, idempotently, with bad
lines quarantined."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import shutil
from pathlib import Path

from sqlalchemy import func, select

from ingest.backfill import backfill_main
from warehouse.schema import mentions, metric_snapshots, quarantine, reposts
from yujing.clock import ManualClock

FIXTURES = Path(__file__).with_name("fixtures")
NOW = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)


def _count(engine, table, *where) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def test_both_formats_load_once_and_bad_lines_are_quarantined(warehouse, tmp_path, capsys):
    jsonl = FIXTURES / "rumdect_sample.jsonl.gz"
    deephawkes = tmp_path / "deephawkes.txt"
    shutil.copy(FIXTURES / "deephawkes_sample.txt", deephawkes)
    with deephawkes.open("a", encoding="utf-8") as fh:
        fh.write("not a cascade at all\n")
    args = [str(jsonl), str(deephawkes), "--brand", "mumu", "--no-progress", "--every", "30"]
    assert backfill_main(args, engine=warehouse, clock=ManualClock(NOW)) == 0
    out = capsys.readouterr().out
    assert "4 cascades" in out and "3 cascades (1 unreadable lines quarantined)" in out

    with gzip.open(jsonl, "rt", encoding="utf-8") as fh:
        expected_reposts = sum(len(json.loads(line)["posts"]) for line in fh)
    hawkes_reposts = sum(
        len(line.split("\t")[4].split()) - 1  # the root's own "uid:0" entry is not a repost
        for line in (FIXTURES / "deephawkes_sample.txt").read_text().splitlines()
    )
    assert _count(warehouse, mentions) == 7
    assert _count(warehouse, reposts) == expected_reposts + hawkes_reposts
    assert _count(warehouse, metric_snapshots) > 7
    assert _count(warehouse, quarantine, quarantine.c.source == "backfill") == 1
    before = {t.name: _count(warehouse, t) for t in (mentions, reposts, metric_snapshots)}

    # loading the same files again stores nothing new
    assert backfill_main(args, engine=warehouse, clock=ManualClock(NOW)) == 0
    assert {t.name: _count(warehouse, t) for t in (mentions, reposts, metric_snapshots)} == before
    assert _count(warehouse, quarantine, quarantine.c.source == "backfill") == 1


def test_unknown_brand_and_missing_file_are_refused(warehouse, capsys):
    jsonl = str(FIXTURES / "rumdect_sample.jsonl.gz")
    assert backfill_main([jsonl, "--brand", "nope"], engine=warehouse) == 2
    assert "unknown brand 'nope'" in capsys.readouterr().err
    assert backfill_main(["/no/such.jsonl", "--brand", "mumu"], engine=warehouse) == 2
    assert "no such file" in capsys.readouterr().err
