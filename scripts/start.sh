#!/usr/bin/env bash
# `npm start`: installs and builds what is missing, then runs `loupe up` (extra arguments go to it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
exec node --max-semi-space-size=8 --single-threaded --no-allocation-site-pretenuring bin/loupe up "$@"
