-- Recent HTTP requests, newest first, filtered by method, path pattern (LIKE), status range and process.
SELECT time, node, process, role, local_addr || ':' || local_port AS local, remote_addr || ':' || remote_port AS remote,
       req_method, req_path, resp_status, round(latency_ns / 1e6, 3) AS latency_ms, req_body_size, resp_body_size
  FROM http_events
 WHERE time >= (now() AT TIME ZONE 'UTC') - $window
   AND req_method LIKE $method
   AND req_path LIKE $path
   AND resp_status BETWEEN $min_status AND $max_status
   AND process LIKE $process
 ORDER BY time DESC, node, local, remote
 LIMIT $limit
