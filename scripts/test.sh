#!/usr/bin/env bash
# `npm test`: installs, builds, lints, then runs every test (unit and eBPF end-to-end) and ends with
# "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh tests || exit 1
bash scripts/build.sh || { echo "0 passed, 1 failed"; exit 1; }

lint_failed=0
echo "lint: eslint and prettier"
npx eslint . || lint_failed=1
npx prettier --check . >/dev/null || { npx prettier --check . | tail -20; lint_failed=1; }

mkdir -p test-output
log=test-output/results.log
files=$(find node-collector/dist/test query-engine/dist/test replay/dist/test deploy/dist/test web-ui/dist-node/test -name '*.test.js' 2>/dev/null | sort)
# One file at a time: the eBPF tests share one kernel and start real servers.
node --import ./scripts/blocking-stdout.mjs --test --test-concurrency=1 --test-timeout=300000 --test-force-exit --test-reporter=spec $files 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

count() {
  local n
  n=$(grep -E "^ℹ $1 [0-9]+$" "$log" | tail -1 | awk '{print $3}')
  echo "${n:-0}"
}
passed=$(count pass)
failed=$(($(count fail) + $(count cancelled)))
if [ "$lint_failed" -ne 0 ]; then
  echo "lint failed"
  failed=$((failed + 1))
else
  passed=$((passed + 1))
fi
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "${passed} passed, ${failed} failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
