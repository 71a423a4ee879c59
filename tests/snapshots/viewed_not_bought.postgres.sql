SELECT
  "t3"."user_id"
FROM (
  SELECT
    "t0"."user_id"
  FROM "users" AS "t0"
) AS "t3"
INNER JOIN (
  SELECT DISTINCT
    "t1"."user_id" AS "events_user_id"
  FROM "events" AS "t1"
  WHERE
    "t1"."event" = 'view_product'
    AND "t1"."ts" >= CAST('2025-03-26T00:00:00' AS TIMESTAMP(6))
    AND "t1"."ts" < CAST('2025-04-02T00:00:00' AS TIMESTAMP(6))
) AS "t6"
  ON "t3"."user_id" = "t6"."events_user_id"
WHERE
  NOT EXISTS(
    SELECT
      1
    FROM (
      SELECT
        "t1"."user_id" AS "events_user_id_2"
      FROM "events" AS "t1"
      WHERE
        "t1"."event" = 'purchase'
        AND "t1"."ts" >= CAST('2025-03-26T00:00:00' AS TIMESTAMP(6))
        AND "t1"."ts" < CAST('2025-04-02T00:00:00' AS TIMESTAMP(6))
    ) AS "t7"
    WHERE
      "t3"."user_id" = "t7"."events_user_id_2"
  )
