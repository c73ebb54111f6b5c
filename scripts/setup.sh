#!/usr/bin/env bash
# Installs what building and running Loupe needs on Debian, idempotently: system packages only when one is missing,
# npm dependencies only when the lockfile changed since the last install.
#   bash scripts/setup.sh          what `npm start` needs: the build tools
#   bash scripts/setup.sh tests    and the real peers and the browser the tests and benchmarks use
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool make gcc g++ pkg-config python3 iproute2 procps util-linux)
if [ "${1:-}" = tests ]; then
  # Real peers (servers and clients) and Debian's chromium for the browser tests, with a font for its text.
  packages+=(nginx-light wrk curl postgresql mariadb-server mariadb-client chromium fonts-dejavu-core)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages (${missing[*]}) and not root: install them first" >&2
    exit 2
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Package scripts may start system nginx, PostgreSQL and MariaDB; the tests start their own on loopback.
  for service in nginx postgresql mariadb; do service "$service" stop >/dev/null 2>&1 || true; done
fi

stamp=node_modules/.loupe-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "setup: installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi
