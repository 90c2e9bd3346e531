-- v_alert_outcomes: how the alerts did in production. One row per incident: the first
-- alert that paged someone, its lead time before the post crossed the viral line, and
-- whether it went viral at all. Precision per brand = AVG(went_viral) WHERE alerted = 1.
-- An alert is an open or escalate notification sent to a receiver that reaches a person
-- (channel slack, email or webhook: the levels the routing pages, warning and critical by
-- default). The watch level's outbox records page nobody: the first of those (or of the
-- alerts, whichever came first) is first_recorded_at, kept for comparison. An alert over
-- its receiver's hourly limit is folded into the hour's summary and reached the receiver
-- when that summary was sent: it counts from then (status 'folded' with sent_at set).
-- crossed_viral_at is when the post's count reached the line, interpolated between its
-- snapshots (not when a run noticed it). crossed_before_seen is 1 when the post was already
-- over the line at its first snapshot: crossed_viral_at is then that first sighting (it
-- crossed at or before it) and lead_minutes is NULL (unknown, and no alert beat it); 0 when
-- the crossing was seen between two snapshots; NULL when it never crossed, or for incidents
-- recorded before revision 0011 (whose crossed_viral_at is when a run first saw it over the
-- line, up to a run late).
-- column types: first_alert_at timestamp, went_viral integer, lead_minutes float,
-- column types: first_recorded_at timestamp, alerted integer, crossed_before_seen integer
CREATE VIEW v_alert_outcomes AS
SELECT i.incident_id, i.brand, i.platform, i.root_post_id, i.category, i.level,
       i.status, i.opened_at, i.peak_p_viral,
       first_sent.first_alert_at,
       i.crossed_viral_at,
       CASE WHEN i.crossed_viral_at IS NULL THEN 0 ELSE 1 END AS went_viral,
       CASE WHEN i.crossed_viral_at IS NULL OR first_sent.first_alert_at IS NULL THEN NULL
            WHEN {{ column_or_null(incidents, i, crossed_before_seen) }} THEN NULL
            ELSE {{ minutes_between(i.crossed_viral_at, first_sent.first_alert_at) }}
       END AS lead_minutes,
       first_sent.first_recorded_at,
       CASE WHEN first_sent.first_alert_at IS NULL THEN 0 ELSE 1 END AS alerted,
       CASE WHEN {{ column_or_null(incidents, i, crossed_before_seen) }} THEN 1
            WHEN NOT {{ column_or_null(incidents, i, crossed_before_seen) }} THEN 0
       END AS crossed_before_seen
FROM incidents i
LEFT JOIN (
    SELECT incident_id,
           MIN(CASE WHEN channel <> 'outbox' THEN sent_at END) AS first_alert_at,
           MIN(sent_at) AS first_recorded_at
    FROM notifications
    WHERE (status = 'sent' OR (status = 'folded' AND sent_at IS NOT NULL))
      AND incident_id IS NOT NULL AND event IN ('open', 'escalate')
    GROUP BY incident_id
) first_sent ON first_sent.incident_id = i.incident_id
