-- v_incident_timeline: each incident's events in order (opened, every notification sent,
-- crossed the viral line, resolved), with the lead time of each event before the incident
-- crossed the viral line (positive = before; NULL when it never crossed).
-- paged: for a notification, 1 when it went to a receiver that reaches a person (Slack,
-- email, webhook), 0 for an outbox record (the watch level: a record, nobody is paged);
-- NULL for the other events. is_alert: 1 for the notifications v_alert_outcomes counts as
-- alerts (an open or escalate that paged someone), else 0: not the outbox records, nor the
-- answered / noresponse / remind / resolve notes. An alert folded into an hourly summary
-- is listed when that summary was sent (notified:<event>, receiver as for the summary).
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
    WHERE (status = 'sent' OR (status = 'folded' AND sent_at IS NOT NULL))
      AND incident_id IS NOT NULL
    UNION ALL
    SELECT incident_id, 'crossed_viral', NULL, NULL, crossed_viral_at, NULL, 0
    FROM incidents WHERE crossed_viral_at IS NOT NULL
    UNION ALL
    SELECT incident_id, 'resolved', NULL, NULL, resolved_at, NULL, 0
    FROM incidents WHERE resolved_at IS NOT NULL
) ev ON ev.incident_id = i.incident_id
