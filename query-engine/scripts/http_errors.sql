-- HTTP errors (status ≥ $min_status) per service, method, path and status: how many, when last, how slow.
-- Server side only, so each failed request is counted once where the server was captured.
SELECT process || ':' || local_port AS service, req_method, req_path, resp_status,
       count(*) AS errors, max(time) AS last_seen, round(avg(latency_ns) / 1e6, 3) AS avg_latency_ms
  FROM http_events
 WHERE time >= (now() AT TIME ZONE 'UTC') - $window AND role = 'server' AND resp_status >= $min_status
 GROUP BY ALL
 ORDER BY errors DESC, service, req_method, req_path, resp_status
 LIMIT $limit
