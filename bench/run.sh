#!/usr/bin/env bash
# `npm run bench`: every benchmark in bench/ in turn, each bounded in time, then each one's RESULT line.
#   bash bench/run.sh                      all of them (the four below first, then any other bench/*.mjs)
#   bash bench/run.sh collector-cpu ...    only those
# Needs root (eBPF), a build (`npm run build`), nginx, wrk and bpftool. The four below take about 3 minutes on
# 2 cores. Each benchmark also runs alone: node bench/<name>.mjs (flags: see the header of each file).
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "bench: needs root (eBPF capture)" >&2
  exit 2
fi
for tool in nginx wrk bpftool; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (bash scripts/setup.sh tests installs it)" >&2; exit 2; }
done
if [ ! -f node-collector/dist/src/collector.js ] || [ ! -f node-collector/native/build/Release/loupe_capture.node ]; then
  echo "bench: build first: npm run build" >&2
  exit 2
fi

# Time limits in seconds: SIGTERM, which a benchmark turns into stopping its children by pid; SIGKILL 15 s later.
declare -A limit=([nginx-overhead]=180 [collector-cpu]=240 [capture-loss]=150 [parse-store-throughput]=90
  [sql-parse-store-throughput]=90 [pgbench-overhead]=240)
default_limit=180
if [ "$#" -gt 0 ]; then
  names=("$@")
else
  names=(nginx-overhead collector-cpu capture-loss parse-store-throughput)
  for file in bench/*.mjs; do
    name=$(basename "$file" .mjs)
    # Helpers, not benchmarks: lib, load-client, recorded-batch.
    case "$name" in lib | load-client | recorded-batch | nginx-overhead | collector-cpu | capture-loss | parse-store-throughput) continue ;; esac
    names+=("$name")
  done
fi

mkdir -p bench/out
log=bench/out/bench-$(date -u +%Y%m%dT%H%M%SZ).log
failed=()
for name in "${names[@]}"; do
  if [ ! -f "bench/$name.mjs" ]; then
    echo "bench: no bench/$name.mjs" >&2
    failed+=("$name")
    continue
  fi
  seconds=${limit[$name]:-$default_limit}
  echo "### $name (limit ${seconds}s)" | tee -a "$log"
  timeout -k 15 "$seconds" node "bench/$name.mjs" 2>&1 | tee -a "$log"
  status=${PIPESTATUS[0]}
  if [ "$status" -ne 0 ]; then
    echo "### $name FAILED (exit $status$([ "$status" -eq 124 ] && echo ', time limit'))" | tee -a "$log"
    failed+=("$name")
  fi
done

echo
echo "=== summary (log: $log) ==="
grep -h '^RESULT' "$log"
grep -h '^WARNING' "$log" | sort | uniq -c
if [ "${#failed[@]}" -gt 0 ]; then
  echo "failed: ${failed[*]}"
  exit 1
fi
