-- v_complaint_categories_daily: complaints per local day, brand, platform and category
-- code (see nlp/lexicon.py for the codes and their Chinese/English labels). A complaint
-- with two categories counts once in each.
-- column types: day text, category text, complaints integer
CREATE VIEW v_complaint_categories_daily AS
SELECT day, brand, platform, category, COUNT(*) AS complaints
FROM (
    SELECT {{ local_day(m.created_at) }} AS day, m.brand, m.platform, c.value AS category
    FROM mentions m
    JOIN v_latest_scores s ON s.platform = m.platform AND s.post_id = m.post_id,
         {{ json_items(s.categories, c) }}
    WHERE s.complaint
) exploded
GROUP BY day, brand, platform, category
