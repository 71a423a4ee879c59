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
    "t5"."count_purchase",
    "t5"."sum_purchase_amount",
    "t5"."count_view_product",
    "t5"."count_purchase_2"
  FROM "users" AS "t2"
  INNER JOIN (
    SELECT
      "t3"."user_id" AS "events_user_id",
      COUNT(*) FILTER(WHERE
        (
          "t3"."event" = 'purchase'
        )
        AND (
          (
            "t3"."ts" >= MAKE_TIMESTAMP(2025, 3, 26, 0, 0, 0.0)
          )
          AND (
            "t3"."ts" < MAKE_TIMESTAMP(2025, 4, 2, 0, 0, 0.0)
          )
        )
        AND (
          "t3"."industry" = 'Food & Beverages'
        )) AS "count_purchase",
      SUM("t3"."amount") FILTER(WHERE
        (
          "t3"."event" = 'purchase'
        )
        AND (
          (
            "t3"."ts" >= MAKE_TIMESTAMP(2025, 3, 3, 0, 0, 0.0)
          )
          AND (
            "t3"."ts" < MAKE_TIMESTAMP(2025, 4, 2, 0, 0, 0.0)
          )
        )) AS "sum_purchase_amount",
      COUNT(*) FILTER(WHERE
        (
          "t3"."event" = 'view_product'
        )
        AND (
          (
            "t3"."ts" >= MAKE_TIMESTAMP(2025, 3, 26, 0, 0, 0.0)
          )
          AND (
            "t3"."ts" < MAKE_TIMESTAMP(2025, 4, 2, 0, 0, 0.0)
          )
        )) AS "count_view_product",
      COUNT(*) FILTER(WHERE
        (
          "t3"."event" = 'purchase'
        )
        AND (
          (
            "t3"."ts" >= MAKE_TIMESTAMP(2025, 3, 1, 0, 0, 0.0)
          )
          AND (
            "t3"."ts" < MAKE_TIMESTAMP(2025, 3, 4, 0, 0, 0.0)
          )
        )) AS "count_purchase_2"
    FROM (
      SELECT
        *
      FROM "events" AS "t1"
      WHERE
        "t1"."event" IN ('purchase', 'view_product')
        AND "t1"."ts" >= MAKE_TIMESTAMP(2025, 3, 1, 0, 0, 0.0)
        AND "t1"."ts" < MAKE_TIMESTAMP(2025, 4, 2, 0, 0, 0.0)
    ) AS "t3"
    GROUP BY
      1
  ) AS "t5"
    ON "t2"."user_id" = "t5"."events_user_id"
) AS "t6"
WHERE
  "t6"."count_purchase" >= 1
  AND COALESCE("t6"."sum_purchase_amount", 0) > 500
  AND "t6"."count_view_product" >= 1
  AND NOT (
    "t6"."count_purchase_2" >= 1
  )
