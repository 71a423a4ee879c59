SELECT
  "t3"."user_id"
FROM (
  SELECT
    "t0"."user_id"
  FROM "users" AS "t0"
) AS "t3"
INNER JOIN (
  SELECT DISTINCT
    "t1"."user_id" AS "events_user_id"
  FROM "events" AS "t1"
  WHERE
    "t1"."event" = 'view_product'
    AND "t1"."ts" >= MAKE_TIMESTAMP(2025, 3, 26, 0, 0, 0.0)
    AND "t1"."ts" < MAKE_TIMESTAMP(2025, 4, 2, 0, 0, 0.0)
) AS "t6"
  ON "t3"."user_id" = "t6"."events_user_id"
ANTI JOIN (
  SELECT
    "t1"."user_id" AS "events_user_id_2"
  FROM "events" AS "t1"
  WHERE
    "t1"."event" = 'purchase'
    AND "t1"."ts" >= MAKE_TIMESTAMP(2025, 3, 26, 0, 0, 0.0)
    AND "t1"."ts" < MAKE_TIMESTAMP(2025, 4, 2, 0, 0, 0.0)
) AS "t7"
  ON "t3"."user_id" = "t7"."events_user_id_2"
