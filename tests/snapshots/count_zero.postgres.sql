SELECT
  "t6"."user_id"
FROM (
  SELECT
    "t2"."user_id",
    "t2"."device_id",
    "t2"."account_id",
    "t2"."channel",
    "t2"."is_member",
    "t2"."signup_date",
    "t2"."gender",
    "t2"."age",
    "t5"."events_user_id",
    "t5"."count_purchase"
  FROM "users" AS "t2"
  LEFT OUTER JOIN (
    SELECT
      "t3"."user_id" AS "events_user_id",
      COUNT(*) AS "count_purchase"
    FROM (
      SELECT
        *
      FROM "events" AS "t1"
      WHERE
        "t1"."event" = 'purchase'
        AND "t1"."ts" >= CAST('2025-03-03T00:00:00' AS TIMESTAMP(6))
        AND "t1"."ts" < CAST('2025-04-02T00:00:00' AS TIMESTAMP(6))
    ) AS "t3"
    GROUP BY
      1
  ) AS "t5"
    ON "t2"."user_id" = "t5"."events_user_id"
) AS "t6"
WHERE
  COALESCE("t6"."count_purchase", 0) = 0
