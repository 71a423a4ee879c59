SELECT
  "t14"."user_id"
FROM (
  SELECT
    "t3"."user_id",
    "t8"."user_tags_user_id",
    "t8"."city_at_20240801",
    "t9"."user_tags_user_id_2",
    "t9"."trade_cnt_7d_at_20250325",
    "t10"."user_tags_user_id_3",
    "t10"."trade_cnt_7d_at_20250331",
    "t13"."user_tags_user_id_4",
    "t13"."register_time"
  FROM (
    SELECT
      "t0"."user_id"
    FROM "users" AS "t0"
  ) AS "t3"
  INNER JOIN (
    SELECT
      "t1"."user_id" AS "user_tags_user_id",
      "t1"."city" AS "city_at_20240801"
    FROM "user_tags" AS "t1"
    WHERE
      "t1"."dt" = MAKE_DATE(2024, 8, 1)
  ) AS "t8"
    ON "t3"."user_id" = "t8"."user_tags_user_id"
  INNER JOIN (
    SELECT
      "t1"."user_id" AS "user_tags_user_id_2",
      "t1"."trade_cnt_7d" AS "trade_cnt_7d_at_20250325"
    FROM "user_tags" AS "t1"
    WHERE
      "t1"."dt" = MAKE_DATE(2025, 3, 25)
  ) AS "t9"
    ON "t3"."user_id" = "t9"."user_tags_user_id_2"
  INNER JOIN (
    SELECT
      "t1"."user_id" AS "user_tags_user_id_3",
      "t1"."trade_cnt_7d" AS "trade_cnt_7d_at_20250331"
    FROM "user_tags" AS "t1"
    WHERE
      "t1"."dt" = MAKE_DATE(2025, 3, 31)
  ) AS "t10"
    ON "t3"."user_id" = "t10"."user_tags_user_id_3"
  INNER JOIN (
    SELECT
      "t1"."user_id" AS "user_tags_user_id_4",
      "t1"."register_time"
    FROM "user_tags" AS "t1"
    WHERE
      "t1"."dt" = (
        SELECT
          MAX("t7"."dt") AS "Max(dt)"
        FROM (
          SELECT
            *
          FROM "user_tags" AS "t1"
          WHERE
            "t1"."dt" <= MAKE_DATE(2025, 4, 1)
        ) AS "t7"
      )
  ) AS "t13"
    ON "t3"."user_id" = "t13"."user_tags_user_id_4"
) AS "t14"
WHERE
  "t14"."city_at_20240801" = 'Shenzhen'
  AND (
    "t14"."trade_cnt_7d_at_20250331" - "t14"."trade_cnt_7d_at_20250325"
  ) < 0
  AND "t14"."register_time" >= CAST('2024-08-06T00:00:00' AS TIMESTAMP(6))
