"""`yujing ack PREFIX` finds the same incidents on SQLite and PostgreSQL: incident ids are
lower case, so a prefix typed in capitals matches on both (SQLite's LIKE ignores case,
PostgreSQL's does not), and LIKE's wildcards in a prefix are plain characters."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from alerts.cli import ack_main
from warehouse.schema import incidents
from yujing.clock import ManualClock

T0 = dt.datetime(2026, 5, 1, 2, 0, tzinfo=dt.UTC)


def _incident(incident_id: str) -> dict:
    return {
        "incident_id": incident_id, "brand": incident_id.split("-")[0], "platform": "weibo",
        "root_post_id": incident_id, "category": "refund", "level": "warning",
        "status": "open", "opened_at": T0, "updated_at": T0, "level_changed_at": T0,
        "last_growth_at": T0, "peak_p_viral": 0.5, "evidence": "{}",
    }  # fmt: skip


@pytest.fixture
def incidents_(warehouse):
    with warehouse.begin() as conn:
        conn.execute(
            incidents.insert(),
            [_incident(i) for i in ("mumu-3fa2c91b0d", "mu_mu-77aa00bb11", "xingche-0a1b2c3d4e")],
        )
    return warehouse


def _acked(engine) -> dict[str, str | None]:
    with engine.connect() as conn:
        return dict(conn.execute(select(incidents.c.incident_id, incidents.c.acked_by)).all())


@pytest.mark.parametrize("typed", ["MUMU-3FA", "Mumu-3fA2", "MUMU-3FA2C91B0D"])
def test_a_prefix_in_capitals_acks_on_both_backends(incidents_, typed, capsys):
    clock = ManualClock(T0)
    assert ack_main([typed, "--by", "lin"], clock=clock, engine=incidents_) == 0
    assert "mumu-3fa2c91b0d (warning, open) acknowledged" in capsys.readouterr().out
    assert _acked(incidents_)["mumu-3fa2c91b0d"] == "lin"


@pytest.mark.parametrize("typed", ["m%", "mu%mu-3", "%", "m_mu", "mumu\\", "MUMU%"])
def test_like_wildcards_in_a_prefix_are_plain_characters(incidents_, typed, capsys):
    clock = ManualClock(T0)
    assert ack_main([typed], clock=clock, engine=incidents_) == 1
    assert "yujing ack: no incident" in capsys.readouterr().err
    assert set(_acked(incidents_).values()) == {None}


def test_an_underscore_in_an_id_is_matched_as_itself(incidents_, capsys):
    clock = ManualClock(T0)
    assert ack_main(["MU_MU-77", "--by", "wang"], clock=clock, engine=incidents_) == 0
    assert _acked(incidents_) == {
        "mumu-3fa2c91b0d": None, "mu_mu-77aa00bb11": "wang", "xingche-0a1b2c3d4e": None,
    }  # fmt: skip


def test_two_people_acking_at_once_one_acknowledges_the_other_is_told(incidents_, capsys):
    # the UPDATE only acknowledges a level not yet acknowledged: of two at once, the first
    # stands and the second is told who (each ack in its own thread and connection)
    import threading

    barrier = threading.Barrier(2)
    codes: dict[str, int] = {}

    class Gate:  # both read the incident before either writes
        def __init__(self, engine):
            self.engine = engine

        def begin(self):
            barrier.wait(timeout=10)
            return self.engine.begin()

        def __getattr__(self, name):
            return getattr(self.engine, name)

    def ack(who):
        codes[who] = ack_main(
            ["mumu-3fa2c91b0d", "--by", who], clock=ManualClock(T0), engine=Gate(incidents_)
        )

    threads = [threading.Thread(target=ack, args=(w,)) for w in ("lin", "wang")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert codes == {"lin": 0, "wang": 0}
    winner = _acked(incidents_)["mumu-3fa2c91b0d"]
    out = capsys.readouterr().out
    loser = "wang" if winner == "lin" else "lin"
    assert out.count("acknowledged: no more reminders") == 1
    assert f"was already acknowledged by {winner}" in out and loser in {"lin", "wang"}
