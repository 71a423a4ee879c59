SELECT
  "t13"."user_id"
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
    "t7"."user_tags_user_id",
    "t7"."city_at_20240801",
    "t8"."user_tags_user_id_2",
    "t8"."trade_cnt_7d_at_20250325",
    "t9"."user_tags_user_id_3",
    "t9"."trade_cnt_7d_at_20250331",
    "t12"."user_tags_user_id_4",
    "t12"."register_time"
  FROM "users" AS "t2"
  INNER JOIN (
    SELECT
      "t1"."user_id" AS "user_tags_user_id",
      "t1"."city" AS "city_at_20240801"
    FROM "user_tags" AS "t1"
    WHERE
      "t1"."dt" = MAKE_DATE(2024, 8, 1)
  ) AS "t7"
    ON "t2"."user_id" = "t7"."user_tags_user_id"
  INNER JOIN (
    SELECT
      "t1"."user_id" AS "user_tags_user_id_2",
      "t1"."trade_cnt_7d" AS "trade_cnt_7d_at_20250325"
    FROM "user_tags" AS "t1"
    WHERE
      "t1"."dt" = MAKE_DATE(2025, 3, 25)
  ) AS "t8"
    ON "t2"."user_id" = "t8"."user_tags_user_id_2"
  INNER JOIN (
    SELECT
      "t1"."user_id" AS "user_tags_user_id_3",
      "t1"."trade_cnt_7d" AS "trade_cnt_7d_at_20250331"
    FROM "user_tags" AS "t1"
    WHERE
      "t1"."dt" = MAKE_DATE(2025, 3, 31)
  ) AS "t9"
    ON "t2"."user_id" = "t9"."user_tags_user_id_3"
  INNER JOIN (
    SELECT
      "t1"."user_id" AS "user_tags_user_id_4",
      "t1"."register_time"
    FROM "user_tags" AS "t1"
    WHERE
      "t1"."dt" = (
        SELECT
          MAX("t6"."dt") AS "Max(dt)"
        FROM (
          SELECT
            *
          FROM "user_tags" AS "t1"
          WHERE
            "t1"."dt" <= MAKE_DATE(2025, 4, 1)
        ) AS "t6"
      )
  ) AS "t12"
    ON "t2"."user_id" = "t12"."user_tags_user_id_4"
) AS "t13"
WHERE
  "t13"."city_at_20240801" = 'Shenzhen'
  AND (
    "t13"."trade_cnt_7d_at_20250331" - "t13"."trade_cnt_7d_at_20250325"
  ) < 0
  AND "t13"."register_time" >= CAST('2024-08-06T00:00:00' AS TIMESTAMP(6))
