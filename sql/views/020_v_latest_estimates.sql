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
