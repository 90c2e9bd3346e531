"""`yujing backfill`: real cascades (both formats of ../shared/data/cascades, as small
committed samples) into the warehouse on SQLite and PostgreSQL, idempotently, with bad
lines quarantined."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ingest.backfill import CascadeError, backfill_main, parse_deephawkes
from warehouse.db import make_engine
from warehouse.schema import mentions, metric_snapshots, quarantine, reposts
from yujing.clock import ManualClock

FIXTURES = Path(__file__).with_name("fixtures")
ROOT = Path(__file__).resolve().parents[2]
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


def test_snapshot_options_that_never_end_are_refused(warehouse, capsys):
    """`--every 0` used to loop forever filling memory; negative or inf values are refused
    before anything is read."""
    jsonl = str(FIXTURES / "rumdect_sample.jsonl.gz")
    for option in (
        ["--every", "0"],
        ["--every", "-5"],
        ["--every", "nan"],
        ["--horizon", "-1"],
        ["--horizon", "inf"],
        ["--observe", "-60"],
    ):
        assert backfill_main([jsonl, "--brand", "mumu", *option], engine=warehouse) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"yujing backfill: {option[0]} must be") and err.count("\n") == 1
    assert _count(warehouse, mentions) == 0


def test_undecodable_lines_are_quarantined_and_broken_gzip_is_one_line(warehouse, tmp_path, capsys):
    good = (FIXTURES / "rumdect_sample.jsonl.gz").read_bytes()
    lines = gzip.decompress(good).splitlines(keepends=True)
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_bytes(lines[0] + b'{"event_id": "\xff"}\n' + lines[1])
    args = ["--brand", "mumu", "--no-progress"]
    assert backfill_main([str(mixed), *args], engine=warehouse, clock=ManualClock(NOW)) == 0
    assert "2 cascades (1 unreadable lines quarantined)" in capsys.readouterr().out
    with warehouse.connect() as conn:
        reasons = conn.execute(select(quarantine.c.reason)).scalars().all()
    assert len(reasons) == 1 and "not UTF-8 text" in reasons[0]

    for name, content in (("not_gzip.jsonl.gz", b"x\n"), ("cut.jsonl.gz", good[:200])):
        path = tmp_path / name
        path.write_bytes(content)
        assert backfill_main([str(path), *args], engine=warehouse, clock=ManualClock(NOW)) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"yujing backfill: cannot read {path}") and err.count("\n") == 1


def test_lines_with_unusable_values_are_quarantined_not_loaded(warehouse, tmp_path, capsys):
    """Values that parse but cannot be stored (NaN or huge numbers, a null mid) are bad
    lines like any other: quarantined with the reason, the rest of the file still loads."""
    root = {"mid": "4950000000000001", "uid": 1, "created_at": 1746057600, "text": "沐沐奶粉"}
    repost = [30, 10, "4950000000000001", "4950000000000002", "转发"]

    def event(n, root_edit=None, post=None):
        mid = f"49500000000001{n:02d}"
        return {
            "event_id": str(n),
            "root": {**root, "mid": mid, **(root_edit or {})},
            "posts": [post or [30, 10, mid, f"{mid}9", "转发"]],
        }

    bad = {
        "NaN delay": event(2, post=[float("nan"), 10, root["mid"], "4950000000000003", "x"]),
        "inf delay": event(3, post=[float("inf"), 10, root["mid"], "4950000000000004", "x"]),
        "null mid": event(4, {"mid": None}),
        "blank mid": event(5, {"mid": "  "}),
        "null repost mid": event(6, post=[30, 10, root["mid"], None, "x"]),
        "huge created_at": event(7, {"created_at": 1e20}),
        "inf created_at": event(8, {"created_at": float("inf")}),
        "millisecond created_at": event(9, {"created_at": 1746057600000}),
        "inf followers": event(10, post=[30, float("inf"), root["mid"], "4950000000000005", "x"]),
        "huge followers": event(11, {"followers": 10**30}),
        "delay past 2100": event(12, post=[1e12, 10, root["mid"], "4950000000000006", "x"]),
    }
    lines = [{"event_id": "1", "root": root, "posts": [repost]}, *bad.values()]
    jsonl = tmp_path / "cascades.jsonl"
    jsonl.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    args = [str(jsonl), "--brand", "mumu", "--no-progress"]
    assert backfill_main(args, engine=warehouse, clock=ManualClock(NOW)) == 0
    assert f"1 cascades ({len(bad)} unreadable lines quarantined)" in capsys.readouterr().out
    with warehouse.connect() as conn:
        assert conn.execute(select(mentions.c.post_id)).scalars().all() == [root["mid"]]
        reasons = conn.execute(select(quarantine.c.reason)).scalars().all()
    assert len(reasons) == len(bad)
    assert any("delay is not a finite number: nan" in r for r in reasons)
    assert any("root mid is missing or not an id: None" in r for r in reasons)
    assert any("created_at 1e+20 is not a time between 1970 and 2100" in r for r in reasons)


def test_deephawkes_repost_delays_must_be_finite_and_not_before_the_post():
    line = "1\t2\t1746057600\t1\t2:0 2/3:{}"
    assert parse_deephawkes(line.format("-5")).reposts[0][2] == 0.0  # crawl clock skew
    for delay in ("nan", "inf", "-99999999", "1e12"):
        with pytest.raises(CascadeError, match="unreadable repost '2/3:"):
            parse_deephawkes(line.format(delay))
    with pytest.raises(CascadeError, match="publish time"):
        parse_deephawkes("1\t2\t99999999999999999\t1\t2:0 2/3:5")


def test_values_a_database_cannot_store_are_quarantined_or_made_storable(
    warehouse, tmp_path, capsys
):
    """Values that parse but that a warehouse cannot store used to fail their whole batch
    (a traceback, the good cascades beside them lost): text with a lone UTF-16 surrogate
    or a NUL is made storable, as the live ingest does; a verified_type that is a boolean
    or past the INTEGER column, a DeepHawkes root user longer than its column and an id
    holding a NUL make the line a bad one, quarantined with the reason; an unreadable
    line holding a NUL is quarantined storable. A rerun stores nothing twice."""

    def event(mid, **root):
        return {
            "event_id": mid,
            "root": {"mid": mid, "uid": 1, "created_at": 1746057600, "text": "沐沐奶粉", **root},
            "posts": [[30, 10, mid, f"{mid}9", "转发"]],
        }

    lines = [
        json.dumps(event("4950000000000001")),
        json.dumps(event("4950000000000002", text="沐沐奶粉 结块\ud83d")),  # "\ud83d" in JSON
        json.dumps(event("4950000000000003", text="沐沐奶粉 a\x00b", screen_name="\ud83d\x00")),
        json.dumps(event("4950000000000004", verified_type=2**40)),
        json.dumps(event("4950000000000005", verified_type=True)),
        json.dumps(event("4950000000000006", uid="12\x0034")),
        "not a cascade \x00 at all",
    ]
    jsonl = tmp_path / "cascades.jsonl"
    jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    deephawkes = tmp_path / "deephawkes.txt"
    deephawkes.write_text(
        "1\t1\t1464739201\t1\t1:0 1/3:481\n" + "2\t" + "7" * 70 + "\t1464739203\t1\t1:0 1/2:93\n",
        encoding="utf-8",
    )
    args = [str(jsonl), str(deephawkes), "--brand", "mumu", "--no-progress"]
    assert backfill_main(args, engine=warehouse, clock=ManualClock(NOW)) == 0
    out = capsys.readouterr().out
    assert "3 cascades (4 unreadable lines quarantined)" in out
    assert "1 cascades (1 unreadable lines quarantined)" in out
    with warehouse.connect() as conn:
        texts = dict(conn.execute(select(mentions.c.post_id, mentions.c.text)).all())
        raws = dict(conn.execute(select(mentions.c.post_id, mentions.c.raw)).all())
        quarantined = conn.execute(select(quarantine.c.reason, quarantine.c.raw)).all()
    assert texts == {
        "4950000000000001": "沐沐奶粉",
        "4950000000000002": "沐沐奶粉 结块\ufffd",
        "4950000000000003": "沐沐奶粉 ab",
        "dh1": "",
    }
    assert json.loads(raws["4950000000000003"])["root"]["screen_name"] == "\ufffd\x00"
    assert _count(warehouse, reposts) == 4 and _count(warehouse, quarantine) == 5
    reasons = " | ".join(reason for reason, _ in quarantined)
    assert "verified_type 1099511627776 is out of" in reasons
    assert "verified_type is bool, not an integer" in reasons
    assert "root uid" in reasons and "root user id is longer than 64 characters" in reasons
    assert any(raw == "not a cascade  at all" for _, raw in quarantined)
    before = {t.name: _count(warehouse, t) for t in (mentions, reposts, metric_snapshots)}

    assert backfill_main(args, engine=warehouse, clock=ManualClock(NOW)) == 0
    assert {t.name: _count(warehouse, t) for t in (mentions, reposts, metric_snapshots)} == before
    assert _count(warehouse, quarantine) == 5


def test_a_warehouse_that_refuses_the_load_is_one_line_not_a_traceback(tmp_path, capsys):
    """Whatever the warehouse answers when a batch cannot be stored (here: not migrated)
    is reported in one line naming the file, exit status 1; loading again is safe."""
    unmigrated = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    jsonl = FIXTURES / "rumdect_sample.jsonl.gz"
    args = [str(jsonl), "--brand", "mumu", "--no-progress"]
    assert backfill_main(args, engine=unmigrated, clock=ManualClock(NOW)) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"yujing backfill: cannot store {jsonl}: ") and err.count("\n") == 1
    assert "no such table" in err


def _backfill_cli(tmp_path, *argv) -> subprocess.CompletedProcess:
    """`yujing backfill` as ops run it: the console script, its own SQLite warehouse."""
    yujing = str(Path(sys.executable).with_name("yujing"))
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [yujing, "backfill", *argv, "--brand", "mumu", "--no-progress", "--url", url],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": path},  # this checkout's code
    )


def test_a_file_with_no_readable_line_fails_naming_the_first_bad_lines(tmp_path):
    """Every line unreadable (bad JSON, the wrong shape) said "0 cascades" and exit 0: ops
    took the backfill for done. It is an error now, naming lines and reasons."""
    bad = tmp_path / "broken.jsonl"
    lines = ['{"event_id": 1', '{"event_id": "2", "posts": []}', "", "[1, 2]", '{"root": 5}']
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = _backfill_cli(tmp_path, str(bad))
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr and run.stderr.count("\n") == 1, run.stderr
    assert run.stderr.startswith(f"yujing backfill: nothing loaded from {bad}: all 4 lines")
    assert (
        "line 1: not a JSONL cascade: JSONDecodeError: Expecting ',' delimiter at character 16;"
        in run.stderr
    )
    assert "line 2: not a JSONL cascade: KeyError: 'root'" in run.stderr
    assert "line 4: " in run.stderr  # blank line 3 is skipped, not counted
    assert "0 cascades (4 unreadable lines quarantined)" in run.stdout  # the summary as it was
    engine = make_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    assert _count(engine, quarantine, quarantine.c.source == "backfill") == 4

    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    run = _backfill_cli(tmp_path, str(empty))
    assert run.returncode == 1 and run.stderr.count("\n") == 1, run.stderr
    assert run.stderr.startswith(f"yujing backfill: nothing loaded from {empty}: it holds no")


def test_a_file_with_some_bad_lines_loads_the_rest_and_warns_on_stderr(tmp_path):
    good = gzip.decompress((FIXTURES / "rumdect_sample.jsonl.gz").read_bytes()).splitlines()
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_bytes(b"\n".join([good[0], b"oops", good[1], b'{"root": {}}']) + b"\n")
    run = _backfill_cli(tmp_path, str(mixed))
    assert run.returncode == 0, run.stderr
    assert "2 cascades (2 unreadable lines quarantined)" in run.stdout
    assert run.stderr.count("\n") == 1, run.stderr
    assert run.stderr.startswith(f"warning: {mixed}: 2 unreadable lines quarantined (line 2: ")
    assert "line 4: not a JSONL cascade: KeyError: 'mid'" in run.stderr

    clean = tmp_path / "clean.jsonl"
    clean.write_bytes(b"\n".join(good) + b"\n")
    run = _backfill_cli(tmp_path, str(clean))
    assert run.returncode == 0 and run.stderr == ""
