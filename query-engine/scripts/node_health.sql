-- Each collector's health over the window, from its collector_stats samples: events and bytes captured, drops,
-- parse errors, and the store's size at the last sample.
SELECT node,
       count(*) AS samples,
       sum(events)::BIGINT AS events,
       sum(bytes)::BIGINT AS bytes,
       sum(drops)::BIGINT AS drops,
       sum(parse_errors)::BIGINT AS parse_errors,
       max(store_rows) AS store_rows,
       max(store_bytes) AS store_bytes,
       max(time) AS last_sample
  FROM collector_stats
 WHERE time >= (now() AT TIME ZONE 'UTC') - $window
 GROUP BY node
 ORDER BY node
