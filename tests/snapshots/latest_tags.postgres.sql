SELECT
  "t7"."user_id"
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
    "t6"."user_tags_user_id",
    "t6"."city",
    "t6"."is_black_list"
  FROM "users" AS "t2"
  INNER JOIN (
    SELECT
      "t1"."user_id" AS "user_tags_user_id",
      "t1"."city",
      "t1"."is_black_list"
    FROM "user_tags" AS "t1"
    WHERE
      "t1"."dt" = (
        SELECT
          MAX("t3"."dt") AS "Max(dt)"
        FROM (
          SELECT
            *
          FROM "user_tags" AS "t1"
          WHERE
            "t1"."dt" <= MAKE_DATE(2025, 4, 1)
        ) AS "t3"
      )
  ) AS "t6"
    ON "t2"."user_id" = "t6"."user_tags_user_id"
) AS "t7"
WHERE
  "t7"."city" IN ('Shenzhen', 'Guangzhou') AND NOT (
    "t7"."is_black_list"
  )
