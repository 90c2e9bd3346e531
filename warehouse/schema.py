"""Warehouse tables (SQLAlchemy Core), the same on SQLite and PostgreSQL.

This module is what the code queries against; the migrations in `warehouse/migrations`
create exactly these tables (a test compares the two). Every timestamp is stored as UTC
and read back timezone-aware. The data dictionary is docs/warehouse.md.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC in, timezone-aware UTC out, on every backend.

    SQLite has no timezone type, so values are normalised to UTC before storage and
    tagged as UTC when read. A naive datetime is a bug upstream and is refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(
                f"naive datetime {value!r}: the warehouse stores timezone-aware UTC only"
            )
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


BigId = BigInteger().with_variant(Integer, "sqlite")

mentions = Table(
    "mentions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("platform", String(16), nullable=False),
    Column("post_id", String(64), nullable=False),
    Column("brand", String(32), nullable=False),
    Column("author_id", String(64)),
    Column("author_name", String(200)),
    Column("author_followers", BigInteger),
    Column("author_verified", Boolean, nullable=False, default=False),
    Column("verified_type", Integer),
    Column("title", Text),
    Column("text", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("url", Text),
    Column("root_id", String(64)),
    Column("parent_id", String(64)),
    Column("is_competitor", Boolean, nullable=False, default=False),
    Column("raw", Text, nullable=False),
    Column("ingested_at", UTCDateTime, nullable=False),
    UniqueConstraint("platform", "post_id", "brand"),
    Index(None, "brand", "created_at"),
    Index(None, "ingested_at"),
)

scores = Table(
    "scores",
    metadata,
    Column("platform", String(16), nullable=False),
    Column("post_id", String(64), nullable=False),
    Column("model_version", String(64), nullable=False),
    Column("sentiment", Float),
    Column("negative", Boolean, nullable=False),
    Column("complaint", Boolean, nullable=False),
    Column("categories", Text, nullable=False),
    Column("signals", Text, nullable=False),
    Column("error", Text),
    Column("scored_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("platform", "post_id", "model_version"),
)

# posts a model version failed to score (it raised, or gave no score): retried by later
# runs up to nlp.stage.MAX_ATTEMPTS times, then given up with an error row in `scores`
score_failures = Table(
    "score_failures",
    metadata,
    Column("platform", String(16), nullable=False),
    Column("post_id", String(64), nullable=False),
    Column("model_version", String(64), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("error", Text, nullable=False),
    Column("first_failed_at", UTCDateTime, nullable=False),
    Column("last_failed_at", UTCDateTime, nullable=False),
    Column("gave_up_at", UTCDateTime),
    PrimaryKeyConstraint("platform", "post_id", "model_version"),
)

metric_snapshots = Table(
    "metric_snapshots",
    metadata,
    Column("platform", String(16), nullable=False),
    Column("post_id", String(64), nullable=False),
    Column("observed_at", UTCDateTime, nullable=False),
    Column("reposts", BigInteger),
    Column("comments", BigInteger),
    Column("likes", BigInteger),
    Column("reads", BigInteger),
    Column("looks", BigInteger),
    PrimaryKeyConstraint("platform", "post_id", "observed_at"),
)

reposts = Table(
    "reposts",
    metadata,
    Column("platform", String(16), nullable=False),
    Column("root_post_id", String(64), nullable=False),
    Column("repost_id", String(64), nullable=False),
    Column("parent_id", String(64)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("user_id", String(64)),
    Column("followers", BigInteger),
    Column("verified", Boolean),
    PrimaryKeyConstraint("platform", "root_post_id", "repost_id"),
    Index(None, "platform", "root_post_id", "created_at"),
)

tracked_posts = Table(
    "tracked_posts",
    metadata,
    Column("platform", String(16), nullable=False),
    Column("post_id", String(64), nullable=False),
    Column("brand", String(32), nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("tracked_since", UTCDateTime, nullable=False),
    Column("last_checked_at", UTCDateTime),
    Column("next_check_at", UTCDateTime, nullable=False),
    Column("last_growth_at", UTCDateTime),
    PrimaryKeyConstraint("platform", "post_id"),
    Index(None, "state", "next_check_at"),
)

spread_estimates = Table(
    "spread_estimates",
    metadata,
    Column("platform", String(16), nullable=False),
    Column("post_id", String(64), nullable=False),
    Column("estimated_at", UTCDateTime, nullable=False),
    Column("model_version", String(64), nullable=False),
    Column("observed", BigInteger, nullable=False),
    Column("predicted", Float, nullable=False),
    Column("low", Float, nullable=False),
    Column("high", Float, nullable=False),
    Column("p_viral", Float, nullable=False),
    Column("velocity_per_10min", Float, nullable=False),
    PrimaryKeyConstraint("platform", "post_id", "estimated_at", "model_version"),
    Index(None, "estimated_at"),
)

incidents = Table(
    "incidents",
    metadata,
    Column("incident_id", String(64), primary_key=True),
    Column("brand", String(32), nullable=False),
    Column("platform", String(16), nullable=False),
    Column("root_post_id", String(64), nullable=False),
    Column("category", String(32), nullable=False),
    Column("level", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("level_changed_at", UTCDateTime, nullable=False),
    Column("last_growth_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime),
    Column("acked_at", UTCDateTime),
    Column("acked_by", String(100)),
    Column("last_reminded_at", UTCDateTime),
    Column("crossed_viral_at", UTCDateTime),
    # its post was over the viral line when first seen: crossed_viral_at is that first
    # sighting (an upper bound); NULL when not crossed or recorded before revision 0011
    Column("crossed_before_seen", Boolean),
    Column("peak_p_viral", Float, nullable=False, default=0.0),
    Column("evidence", Text, nullable=False),
    Index(None, "status", "brand"),
    Index(None, "resolved_at"),
)

brand_responses = Table(
    "brand_responses",
    metadata,
    Column("platform", String(16), nullable=False),
    Column("post_id", String(64), nullable=False),
    Column("brand", String(32), nullable=False),
    Column("checked_at", UTCDateTime, nullable=False),
    Column("comments_seen", Integer, nullable=False, default=0),
    Column("responded_at", UTCDateTime),
    Column("response_id", String(64)),
    Column("responder_uid", String(32)),
    Column("responder_name", String(100)),
    Column("response_text", Text),
    # since when checks find the post deleted or hidden (NULL: the last check read it)
    Column("gone_at", UTCDateTime),
    PrimaryKeyConstraint("platform", "post_id", "brand"),
    Index(None, "brand", "responded_at"),
)

official_accounts = Table(
    "official_accounts",
    metadata,
    # each brand's official accounts, copied from the config (`brands[].official_accounts`)
    # by warehouse/official_accounts.py, so the analyst views can tell the brand's own
    # statement from a complaint against it
    Column("brand", String(32), nullable=False),
    Column("platform", String(16), nullable=False),
    Column("uid", String(64), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("brand", "platform", "uid"),
)

notifications = Table(
    "notifications",
    metadata,
    Column("dedupe_key", String(200), primary_key=True),
    Column("incident_id", String(64)),
    Column("event", String(16), nullable=False),
    Column("level", String(16)),
    Column("receiver", String(100), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("claimed_at", UTCDateTime),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("external_id", String(200)),
    Column("payload", Text, nullable=False),
    Index(None, "status", "created_at"),
    Index(None, "incident_id"),
    Index(None, "receiver", "created_at"),
)

ingest_cursors = Table(
    "ingest_cursors",
    metadata,
    Column("source", String(32), nullable=False),
    Column("query", String(200), nullable=False),
    Column("cursor_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("source", "query"),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("source", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("payload_hash", String(64), nullable=False),
    Column("raw", Text, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    UniqueConstraint("source", "payload_hash"),
)

silences = Table(
    "silences",
    metadata,
    Column("silence_id", String(64), primary_key=True),
    Column("matchers", Text, nullable=False),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("comment", Text, nullable=False),
)
