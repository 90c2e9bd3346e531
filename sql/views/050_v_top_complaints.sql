-- v_top_complaints: every tracked negative post with its latest spread figures, for
-- "top complaints by spread" (ORDER BY observed DESC NULLS LAST, or p_viral DESC NULLS
-- LAST: a post not estimated yet has NULL figures, which PostgreSQL sorts first in a DESC
-- order and SQLite last). One row per tracked post and brand it mentions: a post naming
-- two brands (ours, or ours and a competitor's) is listed under each, whichever brand
-- tracked_posts files it under (it keeps one), except under a brand whose own official
-- account wrote it (`official_accounts`: the brand's statement, no complaint against it).
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
WHERE NOT {{ official_author(m.brand, m.platform, m.author_id) }}
