"""Fixtures for the ingest tests: a simulator on loopback driven by a ManualClock, and
clients talking to it over real sockets (no mocks)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from ingest.wechat import WeChatClient
from ingest.weibo import WeiboClient
from simulator.server import Simulator
from warehouse.schema import mentions
from yujing.clock import ManualClock
from yujing.config import load_config

START = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def config():
    return load_config()


@pytest.fixture
def clock():
    return ManualClock(START)


@pytest.fixture
def sim(config, clock):
    with Simulator(config, seed=1, clock=clock) as simulator:
        yield simulator


def make_clients(sim, **http):
    http.setdefault("sleep", lambda seconds: None)
    return (
        WeiboClient(sim.weibo_url, sim.token, **http),
        WeChatClient(sim.wechat_url, sim.token, **http),
    )


@pytest.fixture
def clients(sim):
    return make_clients(sim)


def stored(engine, platform: str | None = None) -> set[tuple[str, str, str]]:
    query = select(mentions.c.platform, mentions.c.post_id, mentions.c.brand)
    if platform:
        query = query.where(mentions.c.platform == platform)
    with engine.connect() as conn:
        return {tuple(row) for row in conn.execute(query)}


def row_count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()
