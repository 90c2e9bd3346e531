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
