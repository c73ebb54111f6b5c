#!/usr/bin/env bash
# Builds the eBPF object and skeleton, the native capture addon, and the TypeScript workspaces.
set -euo pipefail
cd "$(dirname "$0")/.."

make -s -C bpf
addon=node-collector/native/build/Release/loupe_capture.node
if [ ! -f "$addon" ] || [ -n "$(find node-collector/native/src bpf/socket_trace.skel.h -newer "$addon" 2>/dev/null)" ]; then
  echo "build: native addon"
  (cd node-collector && npx node-gyp rebuild --directory native --loglevel=error >/dev/null)
fi
npx tsc -b
# The UI: type-checked, its pure parts and tests compiled for node --test, the app bundled by Vite.
(cd web-ui && npx tsc -p tsconfig.json && npx tsc -p tsconfig.test.json && npx vite build --logLevel warn)
