-- SQL statements grouped by their normalized text (literals replaced by ?), PostgreSQL and MySQL together.
-- Each statement is counted once, by the rule of service_map: from the server side where it was captured,
-- else from the client side (per client address and server endpoint). Latency is the statement's round trip
-- as that side saw it.
WITH sides AS (
  SELECT 'pgsql' AS protocol, role,
         CASE WHEN role = 'server' THEN local_addr ELSE remote_addr END AS server_addr,
         CASE WHEN role = 'server' THEN local_port ELSE remote_port END AS server_port,
         CASE WHEN role = 'server' THEN remote_addr ELSE local_addr END AS client_addr,
         req_normalized,
         count(*) AS calls, count(*) FILTER (WHERE error IS NOT NULL) AS errors,
         sum(latency_ns) AS total_ns, max(latency_ns) AS max_ns
    FROM pgsql_events
   WHERE time >= (now() AT TIME ZONE 'UTC') - $window AND req_normalized IS NOT NULL
   GROUP BY ALL
  UNION ALL
  SELECT 'mysql', role,
         CASE WHEN role = 'server' THEN local_addr ELSE remote_addr END,
         CASE WHEN role = 'server' THEN local_port ELSE remote_port END,
         CASE WHEN role = 'server' THEN remote_addr ELSE local_addr END,
         req_normalized,
         count(*), count(*) FILTER (WHERE error IS NOT NULL), sum(latency_ns), max(latency_ns)
    FROM mysql_events
   WHERE time >= (now() AT TIME ZONE 'UTC') - $window AND req_normalized IS NOT NULL
   GROUP BY ALL
),
server_seen AS (
  SELECT DISTINCT protocol, server_addr, server_port, client_addr FROM sides WHERE role = 'server'
),
counted AS (
  SELECT * FROM sides WHERE role = 'server'
  UNION ALL
  SELECT * FROM sides AS s
   WHERE role <> 'server'
     AND NOT EXISTS (
       SELECT 1 FROM server_seen AS v
        WHERE v.protocol = s.protocol AND v.server_addr = s.server_addr AND v.server_port = s.server_port
          AND v.client_addr = s.client_addr)
)
SELECT protocol, req_normalized AS query, sum(calls)::BIGINT AS calls, sum(errors)::BIGINT AS errors,
       round(sum(total_ns) / sum(calls) / 1e6, 3) AS avg_ms, round(max(max_ns) / 1e6, 3) AS max_ms,
       round(sum(total_ns) / 1e6, 3) AS total_ms
  FROM counted
 GROUP BY protocol, req_normalized
 ORDER BY total_ms DESC, protocol, query
 LIMIT $limit
