SELECT
  "t7"."user_id"
FROM (
  SELECT
    "t3"."user_id",
    "t6"."events_user_id",
    "t6"."count_purchase",
    "t6"."sum_purchase_amount",
    "t6"."count_view_product",
    "t6"."count_purchase_2"
  FROM (
    SELECT
      "t0"."user_id"
    FROM "users" AS "t0"
  ) AS "t3"
  INNER JOIN (
    SELECT
      "t4"."user_id" AS "events_user_id",
      COUNT(*) FILTER(WHERE
        (
          "t4"."event" = 'purchase'
        )
        AND (
          (
            "t4"."ts" >= MAKE_TIMESTAMP(2025, 3, 26, 0, 0, 0.0)
          )
          AND (
            "t4"."ts" < MAKE_TIMESTAMP(2025, 4, 2, 0, 0, 0.0)
          )
        )
        AND (
          "t4"."industry" = 'Food & Beverages'
        )) AS "count_purchase",
      SUM("t4"."amount") FILTER(WHERE
        (
          "t4"."event" = 'purchase'
        )
        AND (
          (
            "t4"."ts" >= MAKE_TIMESTAMP(2025, 3, 3, 0, 0, 0.0)
          )
          AND (
            "t4"."ts" < MAKE_TIMESTAMP(2025, 4, 2, 0, 0, 0.0)
          )
        )) AS "sum_purchase_amount",
      COUNT(*) FILTER(WHERE
        (
          "t4"."event" = 'view_product'
        )
        AND (
          (
            "t4"."ts" >= MAKE_TIMESTAMP(2025, 3, 26, 0, 0, 0.0)
          )
          AND (
            "t4"."ts" < MAKE_TIMESTAMP(2025, 4, 2, 0, 0, 0.0)
          )
        )) AS "count_view_product",
      COUNT(*) FILTER(WHERE
        (
          "t4"."event" = 'purchase'
        )
        AND (
          (
            "t4"."ts" >= MAKE_TIMESTAMP(2025, 3, 1, 0, 0, 0.0)
          )
          AND (
            "t4"."ts" < MAKE_TIMESTAMP(2025, 3, 4, 0, 0, 0.0)
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
    ) AS "t4"
    GROUP BY
      1
  ) AS "t6"
    ON "t3"."user_id" = "t6"."events_user_id"
) AS "t7"
WHERE
  "t7"."count_purchase" >= 1
  AND COALESCE("t7"."sum_purchase_amount", 0) > 500
  AND "t7"."count_view_product" >= 1
  AND NOT (
    "t7"."count_purchase_2" >= 1
  )
