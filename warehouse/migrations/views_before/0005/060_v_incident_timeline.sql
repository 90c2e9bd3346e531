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
