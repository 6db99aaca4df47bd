#!/bin/sh
# npm start: from a fresh clone, install dependencies, fetch nats-server,
# build this machine's executable (when stale) and run the example config.
set -eu
cd "$(dirname "$0")/.."
[ -x node_modules/.bin/bun ] || npm ci
node_modules/.bin/bun scripts/build.ts --target host --if-stale
case "$(uname -m)" in
  aarch64|arm64) target=linux-arm64 ;;
  *) target=linux-x64 ;;
esac
# The unit's JSC options (lib/runtime-memory.ts), so unibus need not re-execute itself.
export BUN_JSC_useBaselineJIT=0 BUN_JSC_useDFGJIT=0 BUN_JSC_useFTLJIT=0
exec "./dist/unibus-$target" --config config/node.toml "$@"
