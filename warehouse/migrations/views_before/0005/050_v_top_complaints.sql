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
