"""Official accounts: a brand's own post is no complaint against it (docs/warehouse.md,
"official_accounts" and "Views").

A post by one of the brand's official accounts (its apology, its recall notice) counted as
a negative post and a complaint against the brand in the analyst views, while the alerting
code already took it for the brand's statement (alerts/responses.py `own_statement`). The
new table `official_accounts` (brand, platform, uid) holds the config's accounts, kept in
sync by warehouse/official_accounts.py, and the views read it: such a post still counts as
a mention (and as scored) of the brand, but not as negative nor as a complaint of that
brand in v_mentions_daily and v_complaint_categories_daily (and so in the benchmarks built
on them), and v_top_complaints no longer lists it under that brand. Another brand it names
counts it as before. No column changes.

The upgrade creates the table (unless revision 0001 already made it: on a new warehouse
0001 creates today's tables, this one among them) and recreates every view from
sql/views. The downgrade drops the table and restores the views exactly as revision 0005
left them: their SQL is kept here (VIEWS_0005, the files as they were), rendered with
today's macros (unchanged since 0005; the new `official_author` macro is not in them).

The views of the older revisions (0002, 0003 create them from today's sql/views) render
`official_author` as false while the table does not exist (warehouse/views.py), so
upgrading an older warehouse and downgrading below 0006 keep working.

Revision ID: 0006
Revises: 0005
"""

import re

import sqlalchemy as sa
from alembic import op
from sqlalchemy import inspect, text

from warehouse.schema import UTCDateTime
from warehouse.views import create_views, drop_views, render

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLE = "official_accounts"


def upgrade() -> None:
    conn = op.get_bind()
    if not inspect(conn).has_table(TABLE):
        op.create_table(
            TABLE,
            sa.Column("brand", sa.String(32), nullable=False),
            sa.Column("platform", sa.String(16), nullable=False),
            sa.Column("uid", sa.String(64), nullable=False),
            sa.Column("updated_at", UTCDateTime(), nullable=False),
            sa.PrimaryKeyConstraint("brand", "platform", "uid", name="pk_official_accounts"),
        )
    drop_views(conn)
    create_views(conn)


def _name(sql: str) -> str:
    return re.search(r"CREATE VIEW (\w+)", sql).group(1)


def downgrade() -> None:
    conn = op.get_bind()
    drop_views(conn)
    for _, sql in reversed(VIEWS_0005):  # the same names today, unless a later file goes
        conn.execute(text(f"DROP VIEW IF EXISTS {_name(sql)}"))
    op.drop_table(TABLE)
    for _, sql in VIEWS_0005:
        conn.execute(text(render(sql, conn.dialect.name)))


# sql/views/*.sql as revision 0005 created them (in creation order)
VIEWS_0005 = [
    (
        "010_v_latest_scores.sql",
        """\
-- v_latest_scores: one score per post, from the newest scoring run (a new model version
-- rescoring a post replaces the older score here; every score stays in `scores`).
CREATE VIEW v_latest_scores AS
SELECT s.platform, s.post_id, s.model_version, s.sentiment, s.negative, s.complaint,
       s.categories, s.signals, s.error, s.scored_at
FROM scores s
WHERE NOT EXISTS (
    SELECT 1 FROM scores newer
    WHERE newer.platform = s.platform
      AND newer.post_id = s.post_id
      AND (newer.scored_at > s.scored_at
           OR (newer.scored_at = s.scored_at AND newer.model_version > s.model_version))
)
""",
    ),
    (
        "020_v_latest_estimates.sql",
        """\
-- v_latest_estimates: the newest spread estimate of each tracked post.
CREATE VIEW v_latest_estimates AS
SELECT e.platform, e.post_id, e.estimated_at, e.model_version, e.observed, e.predicted,
       e.low, e.high, e.p_viral, e.velocity_per_10min
FROM spread_estimates e
WHERE NOT EXISTS (
    SELECT 1 FROM spread_estimates newer
    WHERE newer.platform = e.platform
      AND newer.post_id = e.post_id
      AND (newer.estimated_at > e.estimated_at
           OR (newer.estimated_at = e.estimated_at AND newer.model_version > e.model_version))
)
""",
    ),
    (
        "030_v_mentions_daily.sql",
        """\
-- v_mentions_daily: per local day (Asia/Shanghai, 'YYYY-MM-DD'), brand and platform:
-- mention volume, how many were scored, negative and complaint counts and shares.
-- A post that names two brands counts once for each.
-- column types: day text, is_competitor integer, mentions integer, scored integer,
-- column types: negative integer, complaints integer, negative_share float, complaint_share float
CREATE VIEW v_mentions_daily AS
SELECT day, brand, platform, is_competitor,
       COUNT(*) AS mentions,
       SUM(scored) AS scored,
       SUM(negative) AS negative,
       SUM(complaint) AS complaints,
       CAST(SUM(negative) AS FLOAT) / NULLIF(SUM(scored), 0) AS negative_share,
       CAST(SUM(complaint) AS FLOAT) / NULLIF(SUM(scored), 0) AS complaint_share
FROM (
    SELECT {{ local_day(m.created_at) }} AS day, m.brand, m.platform,
           CASE WHEN m.is_competitor THEN 1 ELSE 0 END AS is_competitor,
           CASE WHEN s.post_id IS NULL THEN 0 ELSE 1 END AS scored,
           CASE WHEN s.negative THEN 1 ELSE 0 END AS negative,
           CASE WHEN s.complaint THEN 1 ELSE 0 END AS complaint
    FROM mentions m
    LEFT JOIN v_latest_scores s ON s.platform = m.platform AND s.post_id = m.post_id
) daily
GROUP BY day, brand, platform, is_competitor
""",
    ),
    (
        "040_v_complaint_categories_daily.sql",
        """\
-- v_complaint_categories_daily: complaints per local day, brand, platform and category
-- code (see nlp/lexicon.py for the codes and their Chinese/English labels). A complaint
-- with two categories counts once in each.
-- column types: day text, category text, complaints integer
CREATE VIEW v_complaint_categories_daily AS
SELECT day, brand, platform, category, COUNT(*) AS complaints
FROM (
    SELECT {{ local_day(m.created_at) }} AS day, m.brand, m.platform, c.value AS category
    FROM mentions m
    JOIN v_latest_scores s ON s.platform = m.platform AND s.post_id = m.post_id,
         {{ json_items(s.categories, c) }}
    WHERE s.complaint
) exploded
GROUP BY day, brand, platform, category
""",
    ),
    (
        "050_v_top_complaints.sql",
        """\
-- v_top_complaints: every tracked negative post with its latest spread figures, for
-- "top complaints by spread" (ORDER BY observed DESC or p_viral DESC). One row per tracked
-- post and brand it mentions: a post naming two brands (ours, or ours and a competitor's)
-- is listed under each, whichever brand tracked_posts files it under (it keeps one).
-- column types: excerpt text, is_competitor integer
CREATE VIEW v_top_complaints AS
SELECT t.platform, t.post_id, m.brand, t.state AS tracking_state,
       m.author_name, m.author_followers, m.author_verified, m.url,
       substr(m.text, 1, 120) AS excerpt, m.created_at,
       s.complaint, s.categories, s.signals, s.sentiment,
       e.estimated_at, e.observed, e.predicted, e.low, e.high, e.p_viral,
       e.velocity_per_10min,
       CASE WHEN m.is_competitor THEN 1 ELSE 0 END AS is_competitor
FROM tracked_posts t
JOIN mentions m ON m.platform = t.platform AND m.post_id = t.post_id
LEFT JOIN v_latest_scores s ON s.platform = t.platform AND s.post_id = t.post_id
LEFT JOIN v_latest_estimates e ON e.platform = t.platform AND e.post_id = t.post_id
""",
    ),
    (
        "060_v_incident_timeline.sql",
        """\
-- v_incident_timeline: each incident's events in order (opened, every notification sent,
-- crossed the viral line, resolved), with the lead time of each event before the incident
-- crossed the viral line (positive = before; NULL when it never crossed).
-- paged: for a notification, 1 when it went to a receiver that reaches a person (Slack,
-- email, webhook), 0 for an outbox record (the watch level: a record, nobody is paged);
-- NULL for the other events. is_alert: 1 for the notifications v_alert_outcomes counts as
-- alerts (an open or escalate that paged someone), else 0: not the outbox records, nor the
-- answered / noresponse / remind / resolve notes.
-- column types: event text, level text, receiver text, lead_minutes float,
-- column types: paged integer, is_alert integer
CREATE VIEW v_incident_timeline AS
SELECT i.incident_id, i.brand, i.platform, i.root_post_id, i.category,
       ev.event, ev.level, ev.receiver, ev.at,
       i.crossed_viral_at,
       CASE WHEN i.crossed_viral_at IS NULL THEN NULL
            ELSE {{ minutes_between(i.crossed_viral_at, ev.at) }} END AS lead_minutes,
       ev.paged, ev.is_alert
FROM incidents i
JOIN (
    SELECT incident_id, 'opened' AS event, NULL AS level, NULL AS receiver, opened_at AS at,
           NULL AS paged, 0 AS is_alert
    FROM incidents
    UNION ALL
    SELECT incident_id, 'notified:' || event, level, receiver, sent_at,
           CASE WHEN channel = 'outbox' THEN 0 ELSE 1 END,
           CASE WHEN channel <> 'outbox' AND event IN ('open', 'escalate') THEN 1 ELSE 0 END
    FROM notifications
    WHERE status = 'sent' AND incident_id IS NOT NULL
    UNION ALL
    SELECT incident_id, 'crossed_viral', NULL, NULL, crossed_viral_at, NULL, 0
    FROM incidents WHERE crossed_viral_at IS NOT NULL
    UNION ALL
    SELECT incident_id, 'resolved', NULL, NULL, resolved_at, NULL, 0
    FROM incidents WHERE resolved_at IS NOT NULL
) ev ON ev.incident_id = i.incident_id
""",
    ),
    (
        "070_v_alert_outcomes.sql",
        """\
-- v_alert_outcomes: how the alerts did in production. One row per incident: the first
-- alert that paged someone, its lead time before the post crossed the viral line, and
-- whether it went viral at all. Precision per brand = AVG(went_viral) WHERE alerted = 1.
-- An alert is an open or escalate notification sent to a receiver that reaches a person
-- (channel slack, email or webhook: the levels the routing pages, warning and critical by
-- default). The watch level's outbox records page nobody: the first of those (or of the
-- alerts, whichever came first) is first_recorded_at, kept for comparison.
-- column types: first_alert_at timestamp, went_viral integer, lead_minutes float,
-- column types: first_recorded_at timestamp, alerted integer
CREATE VIEW v_alert_outcomes AS
SELECT i.incident_id, i.brand, i.platform, i.root_post_id, i.category, i.level,
       i.status, i.opened_at, i.peak_p_viral,
       first_sent.first_alert_at,
       i.crossed_viral_at,
       CASE WHEN i.crossed_viral_at IS NULL THEN 0 ELSE 1 END AS went_viral,
       CASE WHEN i.crossed_viral_at IS NULL OR first_sent.first_alert_at IS NULL THEN NULL
            ELSE {{ minutes_between(i.crossed_viral_at, first_sent.first_alert_at) }}
       END AS lead_minutes,
       first_sent.first_recorded_at,
       CASE WHEN first_sent.first_alert_at IS NULL THEN 0 ELSE 1 END AS alerted
FROM incidents i
LEFT JOIN (
    SELECT incident_id,
           MIN(CASE WHEN channel <> 'outbox' THEN sent_at END) AS first_alert_at,
           MIN(sent_at) AS first_recorded_at
    FROM notifications
    WHERE status = 'sent' AND incident_id IS NOT NULL AND event IN ('open', 'escalate')
    GROUP BY incident_id
) first_sent ON first_sent.incident_id = i.incident_id
""",
    ),
    (
        "080_v_complaint_responses.sql",
        """\
-- v_complaint_responses: did the brand answer in public, and how fast? One row per tracked
-- complaint post and brand with official accounts (checked by the escalate DAG; a post
-- naming two of our brands has a row for each): when it was posted, its main category, the
-- first reply from one of the brand's official accounts (NULL when none yet), the minutes
-- to that reply, and the reposts last seen.
-- The category is that of the brand's incident about the post, else the complaint's own
-- from its latest score (safety first, else the first, as an incident is filed), else
-- 'uncategorised'. Compare answered and unanswered complaints: AVG(last_reposts) GROUP BY answered.
-- column types: day text, category text, answered integer, minutes_to_response float,
-- column types: last_reposts integer
CREATE VIEW v_complaint_responses AS
SELECT r.brand, r.platform, r.post_id,
       m.created_at AS posted_at,
       {{ local_day(m.created_at) }} AS day,
       COALESCE(
           inc.category,
           CASE WHEN EXISTS (SELECT 1 FROM {{ json_items(s.categories, c) }}
                             WHERE c.value = 'safety') THEN 'safety'
                ELSE {{ json_first(s.categories) }} END,
           'uncategorised'
       ) AS category,
       r.responded_at,
       r.responder_name,
       CASE WHEN r.responded_at IS NULL THEN 0 ELSE 1 END AS answered,
       CASE WHEN r.responded_at IS NULL THEN NULL
            ELSE {{ minutes_between(r.responded_at, m.created_at) }}
       END AS minutes_to_response,
       r.checked_at AS last_checked_at,
       COALESCE(e.observed, 0) AS last_reposts
FROM brand_responses r
JOIN mentions m ON m.platform = r.platform AND m.post_id = r.post_id AND m.brand = r.brand
LEFT JOIN (
    SELECT platform, root_post_id, brand, MIN(category) AS category
    FROM incidents GROUP BY platform, root_post_id, brand
) inc ON inc.platform = r.platform AND inc.root_post_id = r.post_id AND inc.brand = r.brand
LEFT JOIN v_latest_scores s ON s.platform = r.platform AND s.post_id = r.post_id
LEFT JOIN v_latest_estimates e ON e.platform = r.platform AND e.post_id = r.post_id
""",
    ),
    (
        "090_v_response_summary.sql",
        """\
-- v_response_summary: per brand and category, how many tracked complaints the brand
-- answered in public, the median and average minutes to the first reply, and the average
-- reposts of answered vs unanswered complaints (do answered complaints spread less?).
-- column types: category text, complaints integer, answered integer, share_answered float,
-- column types: median_minutes_to_response float, avg_minutes_to_response float,
-- column types: avg_reposts_answered float, avg_reposts_unanswered float
CREATE VIEW v_response_summary AS
SELECT s.brand, s.category, s.complaints, s.answered, s.share_answered,
       med.median_minutes_to_response, s.avg_minutes_to_response,
       s.avg_reposts_answered, s.avg_reposts_unanswered
FROM (
    SELECT brand, category,
           COUNT(*) AS complaints,
           SUM(answered) AS answered,
           1.0 * SUM(answered) / COUNT(*) AS share_answered,
           AVG(minutes_to_response) AS avg_minutes_to_response,
           AVG(CASE WHEN answered = 1 THEN last_reposts END) AS avg_reposts_answered,
           AVG(CASE WHEN answered = 0 THEN last_reposts END) AS avg_reposts_unanswered
    FROM v_complaint_responses
    GROUP BY brand, category
) s
LEFT JOIN (
    -- the median without percentile functions (SQLite has none): the middle row, or the
    -- mean of the middle two
    SELECT brand, category, AVG(minutes_to_response) AS median_minutes_to_response
    FROM (
        SELECT brand, category, minutes_to_response,
               ROW_NUMBER() OVER (PARTITION BY brand, category
                                  ORDER BY minutes_to_response) AS rn,
               COUNT(*) OVER (PARTITION BY brand, category) AS n
        FROM v_complaint_responses
        WHERE answered = 1
    ) ranked
    WHERE rn IN ((n + 1) / 2, (n + 2) / 2)
    GROUP BY brand, category
) med ON med.brand = s.brand AND med.category = s.category
""",
    ),
    (
        "100_v_brand_benchmark_daily.sql",
        """\
-- v_brand_benchmark_daily: our brands beside the competitors, per local day and brand:
-- mentions, share of voice (the brand's share of all watched brands' mentions that day),
-- negative and complaint shares, and public responses to its tracked complaints (answered,
-- average minutes to the first official reply). is_competitor = 1 for competitor brands.
-- column types: day text, is_competitor integer, mentions integer, share_of_voice float,
-- column types: negative_share float, complaint_share float, complaints integer,
-- column types: complaints_tracked integer, complaints_answered integer,
-- column types: avg_minutes_to_response float
CREATE VIEW v_brand_benchmark_daily AS
SELECT d.day, d.brand, d.is_competitor, d.mentions,
       1.0 * d.mentions / SUM(d.mentions) OVER (PARTITION BY d.day) AS share_of_voice,
       CAST(d.negative AS FLOAT) / NULLIF(d.scored, 0) AS negative_share,
       CAST(d.complaints AS FLOAT) / NULLIF(d.scored, 0) AS complaint_share,
       d.complaints,
       COALESCE(r.tracked, 0) AS complaints_tracked,
       COALESCE(r.answered, 0) AS complaints_answered,
       r.avg_minutes_to_response
FROM (
    SELECT day, brand, MAX(is_competitor) AS is_competitor, SUM(mentions) AS mentions,
           SUM(scored) AS scored, SUM(negative) AS negative, SUM(complaints) AS complaints
    FROM v_mentions_daily
    GROUP BY day, brand
) d
LEFT JOIN (
    SELECT day, brand, COUNT(*) AS tracked, SUM(answered) AS answered,
           AVG(minutes_to_response) AS avg_minutes_to_response
    FROM v_complaint_responses
    GROUP BY day, brand
) r ON r.day = d.day AND r.brand = d.brand
""",
    ),
    (
        "110_v_brand_benchmark_weekly.sql",
        """\
-- v_brand_benchmark_weekly: v_brand_benchmark_daily summed over weeks (week = the Monday
-- it starts on, local time): mentions, share of voice, negative and complaint shares,
-- complaints answered in public.
-- column types: week text, is_competitor integer, mentions integer, share_of_voice float,
-- column types: negative_share float, complaint_share float, complaints integer,
-- column types: complaints_tracked integer, complaints_answered integer
CREATE VIEW v_brand_benchmark_weekly AS
SELECT w.week, w.brand, w.is_competitor, w.mentions,
       1.0 * w.mentions / SUM(w.mentions) OVER (PARTITION BY w.week) AS share_of_voice,
       CAST(w.negative AS FLOAT) / NULLIF(w.scored, 0) AS negative_share,
       CAST(w.complaints AS FLOAT) / NULLIF(w.scored, 0) AS complaint_share,
       w.complaints, w.complaints_tracked, w.complaints_answered
FROM (
    SELECT {{ week_start(m.day) }} AS week, m.brand, MAX(m.is_competitor) AS is_competitor,
           SUM(m.mentions) AS mentions, SUM(m.scored) AS scored,
           SUM(m.negative) AS negative, SUM(m.complaints) AS complaints,
           SUM(COALESCE(r.tracked, 0)) AS complaints_tracked,
           SUM(COALESCE(r.answered, 0)) AS complaints_answered
    FROM v_mentions_daily m
    LEFT JOIN (
        SELECT day, brand, platform, COUNT(*) AS tracked, SUM(answered) AS answered
        FROM v_complaint_responses GROUP BY day, brand, platform
    ) r ON r.day = m.day AND r.brand = m.brand AND r.platform = m.platform
    GROUP BY {{ week_start(m.day) }}, m.brand
) w
""",
    ),
    (
        "120_v_category_benchmark_daily.sql",
        """\
-- v_category_benchmark_daily: per local day, brand and complaint category, the complaints
-- and their share of the brand's scored mentions, so a brand can be compared with its
-- competitors category by category (the digest flags categories where we are clearly worse).
-- column types: day text, is_competitor integer, category text, complaints integer,
-- column types: complaint_share float
CREATE VIEW v_category_benchmark_daily AS
SELECT c.day, c.brand, m.is_competitor, c.category, c.complaints,
       CAST(c.complaints AS FLOAT) / NULLIF(m.scored, 0) AS complaint_share
FROM (
    SELECT day, brand, category, SUM(complaints) AS complaints
    FROM v_complaint_categories_daily GROUP BY day, brand, category
) c
JOIN (
    SELECT day, brand, MAX(is_competitor) AS is_competitor, SUM(scored) AS scored
    FROM v_mentions_daily GROUP BY day, brand
) m ON m.day = c.day AND m.brand = c.brand
""",
    ),
]
