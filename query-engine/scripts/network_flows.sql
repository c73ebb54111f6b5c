-- TCP flows from connection samples (conn_stats): bytes each process sent and received per peer, whatever the
-- protocol. Each side samples its own connections, so a flow between two monitored processes shows on both
-- nodes, once as sent and once as received; the `role` column tells them apart.
SELECT node, process, role, protocol, local_addr, remote_addr, remote_port,
       count(DISTINCT local_port) AS connections,
       sum(bytes_sent)::BIGINT AS bytes_sent, sum(bytes_recv)::BIGINT AS bytes_recv, max(time) AS last_seen
  FROM conn_stats
 WHERE time >= (now() AT TIME ZONE 'UTC') - $window
 GROUP BY ALL
 ORDER BY sum(bytes_sent) + sum(bytes_recv) DESC, node, process, role, protocol, local_addr, remote_addr, remote_port
 LIMIT $limit
