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
