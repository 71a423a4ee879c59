SELECT
  "t0"."user_id"
FROM "users" AS "t0"
WHERE
  "t0"."channel" IN ('ads', 'organic') AND "t0"."age" IS NULL
