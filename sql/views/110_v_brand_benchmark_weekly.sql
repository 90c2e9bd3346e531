-- v_brand_benchmark_weekly: v_brand_benchmark_daily summed over weeks (week = the Monday
-- it starts on, local time): mentions, share of voice, negative and complaint shares,
-- complaints answered in public. v_mentions_daily has two rows for a brand on the day it
-- becomes (or stops being) a competitor, one per is_competitor: its days are summed per
-- (day, brand, platform) before the day's responses are joined, or they would count twice.
-- is_competitor is 1 for a brand that was a competitor on any day of the week.
-- column types: week text, is_competitor integer, mentions integer, share_of_voice float,
-- column types: negative_share float, complaint_share float, complaints integer,
-- column types: complaints_tracked integer, complaints_answered integer
CREATE VIEW v_brand_benchmark_weekly AS
SELECT w.week, w.brand, w.is_competitor, w.mentions,
       1.0 * w.mentions / SUM(w.mentions) OVER (PARTITION BY w.week) AS share_of_voice,
       CAST(w.negative AS FLOAT) / NULLIF(w.scored, 0) AS negative_share,
       CAST(w.complaints AS FLOAT) / NULLIF(w.scored, 0) AS complaint_share,
       w.complaints, w.complaints_tracked, w.complaints_answered
FROM (
    SELECT {{ week_start(m.day) }} AS week, m.brand, MAX(m.is_competitor) AS is_competitor,
           SUM(m.mentions) AS mentions, SUM(m.scored) AS scored,
           SUM(m.negative) AS negative, SUM(m.complaints) AS complaints,
           SUM(COALESCE(r.tracked, 0)) AS complaints_tracked,
           SUM(COALESCE(r.answered, 0)) AS complaints_answered
    FROM (
        SELECT day, brand, platform, MAX(is_competitor) AS is_competitor,
               SUM(mentions) AS mentions, SUM(scored) AS scored,
               SUM(negative) AS negative, SUM(complaints) AS complaints
        FROM v_mentions_daily GROUP BY day, brand, platform
    ) m
    LEFT JOIN (
        SELECT day, brand, platform, COUNT(*) AS tracked, SUM(answered) AS answered
        FROM v_complaint_responses GROUP BY day, brand, platform
    ) r ON r.day = m.day AND r.brand = m.brand AND r.platform = m.platform
    GROUP BY {{ week_start(m.day) }}, m.brand
) w
