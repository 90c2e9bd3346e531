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
