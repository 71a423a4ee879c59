SELECT
  "t8"."user_id"
FROM (
  SELECT
    "t3"."user_id",
    (
      (
        "t7"."city" = 'Shenzhen'
      ) AND (
        "t7"."trade_cnt_7d" >= 1
      )
    )
    OR (
      (
        "t7"."city" = 'Beijing'
      ) AND (
        "t7"."trade_cnt_7d" >= 2
      )
    ) AS "matches"
  FROM (
    SELECT
      "t0"."user_id"
    FROM "users" AS "t0"
  ) AS "t3"
  INNER JOIN (
    SELECT
      "t1"."user_id" AS "user_tags_user_id",
      "t1"."city",
      "t1"."trade_cnt_7d"
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
  ) AS "t7"
    ON "t3"."user_id" = "t7"."user_tags_user_id"
) AS "t8"
WHERE
  "t8"."matches"
