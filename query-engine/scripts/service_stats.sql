-- Requests, errors and latency of each server endpoint over time: one row per endpoint and time step, from the
-- server side of each request. Percentiles from the same 2% log buckets as service_map (within 1%).
WITH per_bucket AS (
  SELECT time_bucket($step, time::TIMESTAMP) AS step_start, process || ':' || local_port AS service,
         ceil(ln(greatest(latency_ns, 1)) / ln(1.02))::INTEGER AS bucket,
         count(*) AS requests, count(*) FILTER (WHERE resp_status >= 500) AS errors
    FROM http_events
   WHERE time >= (now() AT TIME ZONE 'UTC') - $window AND role = 'server' AND latency_ns IS NOT NULL
   GROUP BY ALL
),
cumulative AS (
  SELECT *,
         sum(requests) OVER (PARTITION BY step_start, service ORDER BY bucket) AS up_to,
         sum(requests) OVER (PARTITION BY step_start, service) AS total
    FROM per_bucket
)
SELECT step_start, service,
       sum(requests)::BIGINT AS requests,
       round(sum(requests) / epoch($step), 3) AS requests_per_s,
       sum(errors)::BIGINT AS errors,
       round(2 * pow(1.02, min(bucket) FILTER (WHERE up_to >= 0.50 * total)) / 2.02 / 1e6, 3) AS p50_ms,
       round(2 * pow(1.02, min(bucket) FILTER (WHERE up_to >= 0.99 * total)) / 2.02 / 1e6, 3) AS p99_ms
  FROM cumulative
 GROUP BY step_start, service
 ORDER BY step_start, service
