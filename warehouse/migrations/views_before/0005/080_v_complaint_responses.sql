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
