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
exec "./dist/unibus-$target" --config config/node.toml "$@"
