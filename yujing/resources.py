"""The resources a pipeline run uses, built once per environment and injected everywhere.

As in Dagster's resources: production builds them from the config, the warehouse URL and
Airflow Connections (`Resources.from_airflow`); tests and the demo build them with their
own engine, clock and connection lookup (`Resources(...)`). Library code never reaches for
a global client or `datetime.now()`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cache

from sqlalchemy import Engine

from yujing.clock import Clock, SystemClock
from yujing.config import Config, load_config
from yujing.connections import ConnectionLookup, MissingConnection, airflow_lookup, endpoint

log = logging.getLogger(__name__)


@cache
def _scorer(extra_words: tuple[str, ...], negative_below: float):
    from nlp.scorer import Scorer

    return Scorer.load(extra_words=list(extra_words), negative_below=negative_below)


@cache
def _predictor(horizon_s: float, viral: int):
    from spread.model import Predictor

    return Predictor.load(horizon_s=horizon_s, viral=viral)


@dataclass
class Resources:
    config: Config
    engine: Engine
    clock: Clock = field(default_factory=SystemClock)
    lookup: ConnectionLookup = airflow_lookup

    @classmethod
    def from_airflow(cls) -> Resources:
        """Production: the active config, the shared warehouse engine, the system clock."""
        from warehouse.db import shared_engine

        return cls(config=load_config(), engine=shared_engine(), clock=SystemClock())

    def source_client(self, platform: str):
        """The API client for a platform, or None when the config disables it."""
        source = getattr(self.config.sources, platform)
        if not source.enabled:
            return None
        ep = endpoint(source.conn_id, self.lookup)
        if not ep.token:
            raise MissingConnection(
                f"Airflow Connection {source.conn_id!r} has no access token "
                "(set it as the connection's password)"
            )
        if platform == "weibo":
            from ingest.weibo import WeiboClient

            return WeiboClient(ep.base_url, ep.token, conn_id=source.conn_id, clock=self.clock)
        from ingest.wechat import WeChatClient

        return WeChatClient(ep.base_url, ep.token, conn_id=source.conn_id, clock=self.clock)

    def scorer(self):
        """The production sentiment/complaint scorer, with the brands in its dictionary."""
        words = []
        for brand in self.config.brands:
            words += [brand.name, *brand.aliases, *brand.keywords, *brand.products]
        return _scorer(tuple(dict.fromkeys(words)), self.config.thresholds.negative_below)

    def predictor(self):
        """The spread predictor for the configured horizon and viral line."""
        t = self.config.thresholds
        return _predictor(t.horizon_hours * 3600.0, t.viral_reposts)

    def channels(self) -> dict:
        """One delivery channel per receiver; receivers whose Connection is missing fall
        back to the local outbox (logged), so a fresh install still shows its alerts."""
        from alerts.channels import channels_for_config

        return channels_for_config(self.config, self.lookup)
