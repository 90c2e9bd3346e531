-- v_brand_benchmark_daily: our brands beside the competitors, per local day and brand:
-- mentions, share of voice (the brand's share of all watched brands' mentions that day),
-- negative and complaint shares, and public responses to its tracked complaints (answered,
-- average minutes to the first official reply). is_competitor = 1 for competitor brands.
-- column types: day text, is_competitor integer, mentions integer, share_of_voice float,
-- column types: negative_share float, complaint_share float, complaints integer,
-- column types: complaints_tracked integer, complaints_answered integer,
-- column types: avg_minutes_to_response float
CREATE VIEW v_brand_benchmark_daily AS
SELECT d.day, d.brand, d.is_competitor, d.mentions,
       1.0 * d.mentions / SUM(d.mentions) OVER (PARTITION BY d.day) AS share_of_voice,
       CAST(d.negative AS FLOAT) / NULLIF(d.scored, 0) AS negative_share,
       CAST(d.complaints AS FLOAT) / NULLIF(d.scored, 0) AS complaint_share,
       d.complaints,
       COALESCE(r.tracked, 0) AS complaints_tracked,
       COALESCE(r.answered, 0) AS complaints_answered,
       r.avg_minutes_to_response
FROM (
    SELECT day, brand, MAX(is_competitor) AS is_competitor, SUM(mentions) AS mentions,
           SUM(scored) AS scored, SUM(negative) AS negative, SUM(complaints) AS complaints
    FROM v_mentions_daily
    GROUP BY day, brand
) d
LEFT JOIN (
    SELECT day, brand, COUNT(*) AS tracked, SUM(answered) AS answered,
           AVG(minutes_to_response) AS avg_minutes_to_response
    FROM v_complaint_responses
    GROUP BY day, brand
) r ON r.day = d.day AND r.brand = d.brand
