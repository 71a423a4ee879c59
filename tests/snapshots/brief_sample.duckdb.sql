SELECT
  "t11"."user_id"
FROM (
  SELECT
    "t3"."user_id",
    "t3"."device_id",
    "t3"."account_id",
    "t3"."channel",
    "t3"."is_member",
    "t3"."signup_date",
    "t3"."gender",
    "t3"."age",
    "t10"."user_tags_user_id",
    "t10"."city",
    "t10"."is_black_list",
    "t8"."events_user_id",
    "t8"."count_purchase"
  FROM "users" AS "t3"
  INNER JOIN (
    SELECT
      "t1"."user_id" AS "user_tags_user_id",
      "t1"."city",
      "t1"."is_black_list"
    FROM "user_tags" AS "t1"
    WHERE
      "t1"."dt" = (
        SELECT
          MAX("t4"."dt") AS "Max(dt)"
        FROM (
          SELECT
            *
          FROM "user_tags" AS "t1"
          WHERE
            "t1"."dt" <= MAKE_DATE(2025, 4, 1)
        ) AS "t4"
      )
  ) AS "t10"
    ON "t3"."user_id" = "t10"."user_tags_user_id"
  INNER JOIN (
    SELECT
      "t5"."user_id" AS "events_user_id",
      COUNT(*) AS "count_purchase"
    FROM (
      SELECT
        *
      FROM "events" AS "t2"
      WHERE
        "t2"."event" = 'purchase'
        AND "t2"."ts" >= MAKE_TIMESTAMP(2025, 3, 26, 0, 0, 0.0)
        AND "t2"."ts" < MAKE_TIMESTAMP(2025, 4, 2, 0, 0, 0.0)
    ) AS "t5"
    GROUP BY
      1
  ) AS "t8"
    ON "t3"."user_id" = "t8"."events_user_id"
) AS "t11"
WHERE
  "t11"."count_purchase" >= 2
  AND "t11"."city" IN ('Shenzhen')
  AND NOT (
    "t11"."is_black_list"
  )
