-- Service map: one row per client → server edge, for HTTP, PostgreSQL and MySQL requests in the window.
--
-- Endpoints: a server is named "process:port" (its listening port), a client by its process. Where an end was
-- not captured by any collector, its address stands in ("10.0.0.7:5432" for a server, "10.0.0.7" for a client).
--
-- Counted once: a request between two monitored processes is captured twice, as a role='server' row on the
-- server's node and a role='client' row on the client's node. Server rows always count: they are the server's
-- own view of the request and its latency. Client rows count only where the server side was not captured: for a
-- client address and server endpoint (address and port) with no server row in the window (an external API, a
-- database on an unmonitored host). The server side names its client by the process the client side saw
-- calling that endpoint from that address (the first by name if a host runs several such clients).
--
-- Rows are grouped per client address and server endpoint, not per connection, so what each node sends the
-- broker grows with the number of services, not of connections.
--
-- Percentiles come from a log-bucket histogram: a latency l falls in bucket ceil(ln l / ln 1.02) and a bucket
-- stands for 2·1.02^b / 2.02, so p50/p90/p99 are within 1% of the exact value. Buckets are summed per node
-- and merged at the broker, which is what lets this script run as partial aggregates on the nodes.
--
-- $node (a LIKE pattern, default every node) keeps the rows one collector captured: that node's view of the map.
WITH sides AS (
  SELECT 'http' AS protocol, role,
         CASE WHEN role = 'server' THEN process END AS server_process,
         CASE WHEN role = 'client' THEN process END AS client_process,
         CASE WHEN role = 'server' THEN local_addr ELSE remote_addr END AS server_addr,
         CASE WHEN role = 'server' THEN local_port ELSE remote_port END AS server_port,
         CASE WHEN role = 'server' THEN remote_addr ELSE local_addr END AS client_addr,
         ceil(ln(greatest(latency_ns, 1)) / ln(1.02))::INTEGER AS bucket,
         count(*) AS requests, count(*) FILTER (WHERE resp_status >= 500) AS errors
    FROM http_events
   WHERE time >= (now() AT TIME ZONE 'UTC') - $window AND role IN ('client', 'server') AND latency_ns IS NOT NULL
     AND node LIKE $node
   GROUP BY ALL
  UNION ALL
  SELECT 'pgsql', role,
         CASE WHEN role = 'server' THEN process END, CASE WHEN role = 'client' THEN process END,
         CASE WHEN role = 'server' THEN local_addr ELSE remote_addr END,
         CASE WHEN role = 'server' THEN local_port ELSE remote_port END,
         CASE WHEN role = 'server' THEN remote_addr ELSE local_addr END,
         ceil(ln(greatest(latency_ns, 1)) / ln(1.02))::INTEGER,
         count(*), count(*) FILTER (WHERE error IS NOT NULL)
    FROM pgsql_events
   WHERE time >= (now() AT TIME ZONE 'UTC') - $window AND role IN ('client', 'server') AND latency_ns IS NOT NULL
     AND node LIKE $node
   GROUP BY ALL
  UNION ALL
  SELECT 'mysql', role,
         CASE WHEN role = 'server' THEN process END, CASE WHEN role = 'client' THEN process END,
         CASE WHEN role = 'server' THEN local_addr ELSE remote_addr END,
         CASE WHEN role = 'server' THEN local_port ELSE remote_port END,
         CASE WHEN role = 'server' THEN remote_addr ELSE local_addr END,
         ceil(ln(greatest(latency_ns, 1)) / ln(1.02))::INTEGER,
         count(*), count(*) FILTER (WHERE error IS NOT NULL)
    FROM mysql_events
   WHERE time >= (now() AT TIME ZONE 'UTC') - $window AND role IN ('client', 'server') AND latency_ns IS NOT NULL
     AND node LIKE $node
   GROUP BY ALL
),
server_seen AS (
  SELECT DISTINCT protocol, server_addr, server_port, client_addr FROM sides WHERE role = 'server'
),
counted AS (
  SELECT * FROM sides WHERE role = 'server'
  UNION ALL
  SELECT * FROM sides AS s
   WHERE role = 'client'
     AND NOT EXISTS (
       SELECT 1 FROM server_seen AS v
        WHERE v.protocol = s.protocol AND v.server_addr = s.server_addr AND v.server_port = s.server_port
          AND v.client_addr = s.client_addr)
),
client_names AS (
  SELECT protocol, server_addr, server_port, client_addr, min(client_process) AS process
    FROM sides WHERE role = 'client' GROUP BY ALL
),
server_names AS (
  SELECT protocol, server_addr, server_port, min(server_process) AS process
    FROM sides WHERE role = 'server' GROUP BY ALL
),
edges AS (
  SELECT c.protocol,
         coalesce(c.client_process, cn.process, c.client_addr) AS client,
         coalesce(c.server_process, sn.process, c.server_addr) || ':' || c.server_port AS server,
         c.bucket, c.requests, c.errors
    FROM counted AS c
    LEFT JOIN client_names AS cn
      ON cn.protocol = c.protocol AND cn.server_addr = c.server_addr AND cn.server_port = c.server_port
     AND cn.client_addr = c.client_addr
    LEFT JOIN server_names AS sn
      ON sn.protocol = c.protocol AND sn.server_addr = c.server_addr AND sn.server_port = c.server_port
),
histogram AS (
  SELECT protocol, client, server, bucket, sum(requests) AS requests, sum(errors) AS errors
    FROM edges GROUP BY ALL
),
cumulative AS (
  SELECT *,
         sum(requests) OVER (PARTITION BY protocol, client, server ORDER BY bucket) AS up_to,
         sum(requests) OVER (PARTITION BY protocol, client, server) AS total
    FROM histogram
)
SELECT protocol, client, server,
       sum(requests)::BIGINT AS requests,
       round(sum(requests) / epoch($window), 3) AS requests_per_s,
       round(sum(errors) / sum(requests), 4) AS error_rate,
       round(2 * pow(1.02, min(bucket) FILTER (WHERE up_to >= 0.50 * total)) / 2.02 / 1e6, 3) AS p50_ms,
       round(2 * pow(1.02, min(bucket) FILTER (WHERE up_to >= 0.90 * total)) / 2.02 / 1e6, 3) AS p90_ms,
       round(2 * pow(1.02, min(bucket) FILTER (WHERE up_to >= 0.99 * total)) / 2.02 / 1e6, 3) AS p99_ms
  FROM cumulative
 GROUP BY protocol, client, server
 ORDER BY requests DESC, protocol, client, server
