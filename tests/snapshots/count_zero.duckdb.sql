SELECT
  "t7"."user_id"
FROM (
  SELECT
    "t3"."user_id",
    "t6"."events_user_id",
    "t6"."count_purchase"
  FROM (
    SELECT
      "t0"."user_id"
    FROM "users" AS "t0"
  ) AS "t3"
  LEFT OUTER JOIN (
    SELECT
      "t4"."user_id" AS "events_user_id",
      COUNT(*) AS "count_purchase"
    FROM (
      SELECT
        *
      FROM "events" AS "t1"
      WHERE
        "t1"."event" = 'purchase'
        AND "t1"."ts" >= MAKE_TIMESTAMP(2025, 3, 3, 0, 0, 0.0)
        AND "t1"."ts" < MAKE_TIMESTAMP(2025, 4, 2, 0, 0, 0.0)
    ) AS "t4"
    GROUP BY
      1
  ) AS "t6"
    ON "t3"."user_id" = "t6"."events_user_id"
) AS "t7"
WHERE
  COALESCE("t7"."count_purchase", 0) = 0
