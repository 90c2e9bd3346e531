-- v_response_summary: per brand and category, how many tracked complaints the brand
-- answered in public, the average minutes to the first reply, and the average reposts of
-- answered vs unanswered complaints (do answered complaints spread less?). Medians per
-- brand come from v_complaint_responses (the digest computes them).
CREATE VIEW v_response_summary AS
SELECT brand, category,
       COUNT(*) AS complaints,
       SUM(answered) AS answered,
       1.0 * SUM(answered) / COUNT(*) AS share_answered,
       AVG(minutes_to_response) AS avg_minutes_to_response,
       AVG(CASE WHEN answered = 1 THEN last_reposts END) AS avg_reposts_answered,
       AVG(CASE WHEN answered = 0 THEN last_reposts END) AS avg_reposts_unanswered
FROM v_complaint_responses
GROUP BY brand, category
