/** Queries whose distributed answers are checked against one database holding every node's rows. */

/** Ad-hoc SQL the distributed answer must reproduce exactly; true = the query orders its rows completely. */
export const AD_HOC_QUERIES: [string, boolean][] = [
  [
    'SELECT count(*) AS n, count(resp_status) AS with_status, sum(latency_ns) AS total FROM http_events',
    true,
  ],
  [
    `SELECT process, role, count(*) AS n, avg(latency_ns) AS mean, min(time) AS first, max(time) AS last,
           count(DISTINCT remote_addr) AS peers, sum(DISTINCT local_port) AS ports, bool_or(encrypted) AS tls
      FROM http_events GROUP BY ALL ORDER BY process, role`,
    true,
  ],
  [
    `SELECT req_method, count(*) FILTER (WHERE resp_status >= 500) AS errors FROM http_events
     WHERE time > (now() AT TIME ZONE 'UTC') - INTERVAL 30 MINUTE GROUP BY 1 HAVING count(*) > 10 ORDER BY 1`,
    true,
  ],
  [
    `SELECT h.node, h.req_path, c.bytes_recv FROM http_events h
      JOIN conn_stats c ON h.local_port = c.local_port AND h.node = c.node
     WHERE h.resp_status = 500 AND c.bytes_recv > 1000 ORDER BY 1, 2, 3 LIMIT 50`,
    true,
  ],
  [
    `SELECT h.process, count(c.pid) AS samples FROM http_events h LEFT JOIN conn_stats c
        ON h.local_port = c.local_port AND h.node = c.node AND c.bytes_sent > 5000
     WHERE c.pid IS NULL OR h.role = 'server' GROUP BY ALL ORDER BY 1`,
    true,
  ],
  [
    `WITH slow AS (SELECT node, process, req_path, latency_ns FROM http_events WHERE latency_ns > 90000000),
        worst AS (SELECT process, max(latency_ns) AS worst FROM slow GROUP BY ALL)
    SELECT s.node, s.process, s.req_path, s.latency_ns FROM slow s JOIN worst w
        ON s.process = w.process AND s.latency_ns = w.worst ORDER BY 1, 2, 3`,
    true,
  ],
  [
    `SELECT node, req_path, latency_ns,
           rank() OVER (PARTITION BY node ORDER BY latency_ns DESC, time) AS r,
           sum(latency_ns) OVER (PARTITION BY req_path ORDER BY time, node ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS moving
      FROM http_events QUALIFY r <= 3 ORDER BY node, r`,
    true,
  ],
  ['SELECT DISTINCT process, role FROM http_events ORDER BY ALL', true],
  ["SELECT DISTINCT req_headers->>'host' AS host FROM http_events", false],
  [
    `SELECT * FROM http_events WHERE req_path = (SELECT max(req_path) FROM http_events WHERE resp_status = 500)
     ORDER BY time, node LIMIT 20`,
    true,
  ],
  [
    `SELECT process, median(latency_ns) AS p50, quantile_cont(latency_ns, 0.99) AS p99
      FROM http_events GROUP BY process ORDER BY process`,
    true,
  ],
  [
    'SELECT node, count(*) FROM conn_stats GROUP BY node UNION ALL SELECT node, count(*) FROM pgsql_events GROUP BY node ORDER BY ALL',
    true,
  ],
  ["SELECT count(*) FROM http_events WHERE node = 'b'", true],
  [
    `SELECT time, node, process, req_path, resp_status FROM http_events WHERE resp_status >= 200
     ORDER BY time DESC, node LIMIT 25`,
    true,
  ],
  [
    `SELECT h.node, h.latency_ns / 1e6 AS ms, h.req_path FROM http_events AS h WHERE h.role = 'server'
     ORDER BY ms DESC, h.time, 1 LIMIT 10 OFFSET 5`,
    true,
  ],
  ["SELECT * FROM http_events WHERE process = 'api' ORDER BY latency_ns DESC, time, node LIMIT 7", true],
  ['SELECT 1 + 1 AS two', true],
];
