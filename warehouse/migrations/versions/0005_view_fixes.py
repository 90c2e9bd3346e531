"""Analyst views, corrected (docs/warehouse.md, "Views"):

- v_complaint_responses / v_response_summary: a complaint without an incident of its brand
  takes its own category from its latest score (safety first, else the first) instead of
  'uncategorised', and only the same brand's incident counts;
- v_alert_outcomes / v_incident_timeline: the first alert is the first open/escalate
  notification that paged someone (not the watch level's outbox records, nor the
  answered/noresponse notes); new columns first_recorded_at, alerted, paged, is_alert;
- minutes_between is exact on SQLite (whole microseconds, not julianday) and a double
  precision float on both backends;
- v_top_complaints lists a tracked post under every brand it mentions (new is_competitor);
- `-- column types:` declarations for `yujing export`.

The upgrade recreates every view from sql/views. The downgrade restores the views exactly
as revision 0004 left them: their SQL is kept here (VIEWS_0004, the files as they were),
rendered with the macros of that time (minutes_between by julianday), since sql/views and
warehouse/views.py now hold the new definitions.

Revision ID: 0005
Revises: 0004
"""

import re

from alembic import op
from sqlalchemy import text

from warehouse.views import create_views, drop_views, render

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    drop_views(op.get_bind())
    create_views(op.get_bind())


_MINUTES_BETWEEN = re.compile(r"\{\{\s*minutes_between\(([^,()]+),([^()]+)\)\s*\}\}")
_MINUTES_0004 = {
    "sqlite": "((julianday({0}) - julianday({1})) * 1440.0)",
    "postgresql": "(EXTRACT(EPOCH FROM ({0} - {1})) / 60.0)",
}


def render_0004(sql: str, dialect: str) -> str:
    """A 0004-era view for this dialect: minutes_between as it was then, the other macros
    (unchanged since) as today."""
    old = _MINUTES_0004[dialect]
    sql = _MINUTES_BETWEEN.sub(lambda m: old.format(m.group(1).strip(), m.group(2).strip()), sql)
    return render(sql, dialect)


def _name(sql: str) -> str:
    return re.search(r"CREATE VIEW (\w+)", sql).group(1)


def downgrade() -> None:
    conn = op.get_bind()
    drop_views(conn)
    for _, sql in reversed(VIEWS_0004):  # the same names today, unless a later file goes
        conn.execute(text(f"DROP VIEW IF EXISTS {_name(sql)}"))
    for _, sql in VIEWS_0004:
        conn.execute(text(render_0004(sql, conn.dialect.name)))


# sql/views/*.sql as revision 0004 created them (in creation order)
VIEWS_0004 = [
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
-- "top complaints by spread" (ORDER BY observed DESC or p_viral DESC).
CREATE VIEW v_top_complaints AS
SELECT t.platform, t.post_id, t.brand, t.state AS tracking_state,
       m.author_name, m.author_followers, m.author_verified, m.url,
       substr(m.text, 1, 120) AS excerpt, m.created_at,
       s.complaint, s.categories, s.signals, s.sentiment,
       e.estimated_at, e.observed, e.predicted, e.low, e.high, e.p_viral,
       e.velocity_per_10min
FROM tracked_posts t
JOIN mentions m ON m.platform = t.platform AND m.post_id = t.post_id AND m.brand = t.brand
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
CREATE VIEW v_incident_timeline AS
SELECT i.incident_id, i.brand, i.platform, i.root_post_id, i.category,
       ev.event, ev.level, ev.receiver, ev.at,
       i.crossed_viral_at,
       CASE WHEN i.crossed_viral_at IS NULL THEN NULL
            ELSE {{ minutes_between(i.crossed_viral_at, ev.at) }} END AS lead_minutes
FROM incidents i
JOIN (
    SELECT incident_id, 'opened' AS event, NULL AS level, NULL AS receiver, opened_at AS at
    FROM incidents
    UNION ALL
    SELECT incident_id, 'notified:' || event, level, receiver, sent_at
    FROM notifications
    WHERE status = 'sent' AND incident_id IS NOT NULL
    UNION ALL
    SELECT incident_id, 'crossed_viral', NULL, NULL, crossed_viral_at
    FROM incidents WHERE crossed_viral_at IS NOT NULL
    UNION ALL
    SELECT incident_id, 'resolved', NULL, NULL, resolved_at
    FROM incidents WHERE resolved_at IS NOT NULL
) ev ON ev.incident_id = i.incident_id
""",
    ),
    (
        "070_v_alert_outcomes.sql",
        """\
-- v_alert_outcomes: how the alerts did in production. One row per incident: the first
-- notification sent, its lead time before the post crossed the viral line, and whether it
-- went viral at all. Precision per brand = AVG(went_viral) over alerted incidents.
CREATE VIEW v_alert_outcomes AS
SELECT i.incident_id, i.brand, i.platform, i.root_post_id, i.category, i.level,
       i.status, i.opened_at, i.peak_p_viral,
       first_sent.first_alert_at,
       i.crossed_viral_at,
       CASE WHEN i.crossed_viral_at IS NULL THEN 0 ELSE 1 END AS went_viral,
       CASE WHEN i.crossed_viral_at IS NULL OR first_sent.first_alert_at IS NULL THEN NULL
            ELSE {{ minutes_between(i.crossed_viral_at, first_sent.first_alert_at) }}
       END AS lead_minutes
FROM incidents i
LEFT JOIN (
    SELECT incident_id, MIN(sent_at) AS first_alert_at
    FROM notifications
    WHERE status = 'sent' AND incident_id IS NOT NULL
    GROUP BY incident_id
) first_sent ON first_sent.incident_id = i.incident_id
""",
    ),
    (
        "080_v_complaint_responses.sql",
        """\
-- v_complaint_responses: did the brand answer in public, and how fast? One row per tracked
-- complaint post of a brand with official accounts (checked by the escalate DAG): when it
-- was posted, its main category, the first reply from one of the brand's official
-- accounts (NULL when none yet), the minutes to that reply, and the reposts last seen.
-- Compare answered and unanswered complaints: AVG(last_reposts) GROUP BY answered.
CREATE VIEW v_complaint_responses AS
SELECT r.brand, r.platform, r.post_id,
       m.created_at AS posted_at,
       {{ local_day(m.created_at) }} AS day,
       COALESCE(cat.category, 'uncategorised') AS category,
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
    SELECT platform, root_post_id, MIN(category) AS category
    FROM incidents GROUP BY platform, root_post_id
) cat ON cat.platform = r.platform AND cat.root_post_id = r.post_id
LEFT JOIN v_latest_estimates e ON e.platform = r.platform AND e.post_id = r.post_id
""",
    ),
    (
        "090_v_response_summary.sql",
        """\
-- v_response_summary: per brand and category, how many tracked complaints the brand
-- answered in public, the median and average minutes to the first reply, and the average
-- reposts of answered vs unanswered complaints (do answered complaints spread less?).
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
