SELECT
  "t12"."user_id"
FROM (
  SELECT
    "t4"."user_id",
    "t11"."user_tags_user_id",
    "t11"."city",
    "t11"."is_black_list",
    "t9"."events_user_id",
    "t9"."count_purchase"
  FROM (
    SELECT
      "t0"."user_id"
    FROM "users" AS "t0"
  ) AS "t4"
  INNER JOIN (
    SELECT
      "t1"."user_id" AS "user_tags_user_id",
      "t1"."city",
      "t1"."is_black_list"
    FROM "user_tags" AS "t1"
    WHERE
      "t1"."dt" = (
        SELECT
          MAX("t5"."dt") AS "Max(dt)"
        FROM (
          SELECT
            *
          FROM "user_tags" AS "t1"
          WHERE
            "t1"."dt" <= MAKE_DATE(2025, 4, 1)
        ) AS "t5"
      )
  ) AS "t11"
    ON "t4"."user_id" = "t11"."user_tags_user_id"
  INNER JOIN (
    SELECT
      "t6"."user_id" AS "events_user_id",
      COUNT(*) AS "count_purchase"
    FROM (
      SELECT
        *
      FROM "events" AS "t2"
      WHERE
        "t2"."event" = 'purchase'
        AND "t2"."ts" >= MAKE_TIMESTAMP(2025, 3, 26, 0, 0, 0.0)
        AND "t2"."ts" < MAKE_TIMESTAMP(2025, 4, 2, 0, 0, 0.0)
    ) AS "t6"
    GROUP BY
      1
  ) AS "t9"
    ON "t4"."user_id" = "t9"."events_user_id"
) AS "t12"
WHERE
  "t12"."count_purchase" >= 2
  AND "t12"."city" IN ('Shenzhen')
  AND NOT (
    "t12"."is_black_list"
  )
