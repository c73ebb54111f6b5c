-- The slowest HTTP requests of the window, from the server side where it was captured (role = 'server'),
-- else from the client side.
SELECT time, node, process, role, req_method, req_path, resp_status, round(latency_ns / 1e6, 3) AS latency_ms,
       remote_addr || ':' || remote_port AS peer
  FROM http_events
 WHERE time >= (now() AT TIME ZONE 'UTC') - $window AND role = $role AND latency_ns IS NOT NULL
 ORDER BY latency_ns DESC, time DESC, node, peer
 LIMIT $limit
