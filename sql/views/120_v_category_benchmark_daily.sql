-- v_category_benchmark_daily: per local day, brand and complaint category, the complaints
-- and their share of the brand's scored mentions, so a brand can be compared with its
-- competitors category by category (the digest flags categories where we are clearly worse).
-- column types: day text, is_competitor integer, category text, complaints integer,
-- column types: complaint_share float
CREATE VIEW v_category_benchmark_daily AS
SELECT c.day, c.brand, m.is_competitor, c.category, c.complaints,
       CAST(c.complaints AS FLOAT) / NULLIF(m.scored, 0) AS complaint_share
FROM (
    SELECT day, brand, category, SUM(complaints) AS complaints
    FROM v_complaint_categories_daily GROUP BY day, brand, category
) c
JOIN (
    SELECT day, brand, MAX(is_competitor) AS is_competitor, SUM(scored) AS scored
    FROM v_mentions_daily GROUP BY day, brand
) m ON m.day = c.day AND m.brand = c.brand
