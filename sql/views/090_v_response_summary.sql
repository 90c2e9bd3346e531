-- v_response_summary: per brand and category, how many tracked complaints the brand
-- answered in public, the median and average minutes to the first reply, and the average
-- reposts of answered vs unanswered complaints (do answered complaints spread less?).
-- column types: category text, complaints integer, answered integer, share_answered float,
-- column types: median_minutes_to_response float, avg_minutes_to_response float,
-- column types: avg_reposts_answered float, avg_reposts_unanswered float
CREATE VIEW v_response_summary AS
SELECT s.brand, s.category, s.complaints, s.answered, s.share_answered,
       med.median_minutes_to_response, s.avg_minutes_to_response,
       s.avg_reposts_answered, s.avg_reposts_unanswered
FROM (
    SELECT brand, category,
           COUNT(*) AS complaints,
           SUM(answered) AS answered,
           1.0 * SUM(answered) / COUNT(*) AS share_answered,
           AVG(minutes_to_response) AS avg_minutes_to_response,
           AVG(CASE WHEN answered = 1 THEN last_reposts END) AS avg_reposts_answered,
           AVG(CASE WHEN answered = 0 THEN last_reposts END) AS avg_reposts_unanswered
    FROM v_complaint_responses
    GROUP BY brand, category
) s
LEFT JOIN (
    -- the median without percentile functions (SQLite has none): the middle row, or the
    -- mean of the middle two
    SELECT brand, category, AVG(minutes_to_response) AS median_minutes_to_response
    FROM (
        SELECT brand, category, minutes_to_response,
               ROW_NUMBER() OVER (PARTITION BY brand, category
                                  ORDER BY minutes_to_response) AS rn,
               COUNT(*) OVER (PARTITION BY brand, category) AS n
        FROM v_complaint_responses
        WHERE answered = 1
    ) ranked
    WHERE rn IN ((n + 1) / 2, (n + 2) / 2)
    GROUP BY brand, category
) med ON med.brand = s.brand AND med.category = s.category
