#!/usr/bin/env bash
# tests/clients/run.sh — the client-library test: Debian's redis-py (python3-redis, run by
# /usr/bin/python3) and ioredis 5 + node-redis 5 from npm, each check run against a
# redis-server this script starts AND against flightcache, so that it tests the contract and not
# our reading of it. Checks that need a feature not merged yet are listed in
# tests/clients/pending_features (see there); against redis-server every check must pass.
#
# Usage: tests/clients/run.sh FLIGHTCACHE_BIN [NODE_DIR]
#   NODE_DIR (default build/clientlib): where `npm install --prefix` puts ioredis and redis. When
#   npm cannot install them (no registry), the node checks are skipped with a message saying so.
# Exits non-zero when a check failed. Both servers listen on free ports of 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/../.."
flightcache=${1:?usage: tests/clients/run.sh FLIGHTCACHE_BIN [NODE_DIR]}
node_dir=${2:-build/clientlib}
pending=tests/clients/pending_features
tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

FreePort() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# WaitPing PORT: waits (at most 10 s) until a server answers PING on PORT.
WaitPing() {
  for _ in $(seq 100); do
    [[ $(redis-cli -p "$1" ping 2>/dev/null) == PONG ]] && return 0
    sleep 0.1
  done
  echo "server on port $1 did not start" >&2
  return 1
}

redis_port=$(FreePort)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
  >"$tmp/redis.log" 2>&1 &
pids+=($!)
fc_port=$(FreePort)
"$flightcache" --port "$fc_port" >"$tmp/flightcache.log" 2>&1 &
pids+=($!)
WaitPing "$redis_port"
WaitPing "$fc_port"

node_ok=1
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "SKIP node checks: node or npm is not installed (apt-get install nodejs npm)"
  node_ok=0
elif [[ ! -d $node_dir/node_modules/ioredis || ! -d $node_dir/node_modules/redis ]]; then
  mkdir -p "$node_dir"
  if ! timeout 300 npm install --prefix "$node_dir" --no-audit --no-fund --loglevel=error \
    ioredis@5 redis@5 >"$tmp/npm.log" 2>&1; then
    tail -n 5 "$tmp/npm.log"
    echo "SKIP node checks: npm could not install ioredis@5 and redis@5 (is the npm registry" \
      "reachable?); the redis-py checks still run"
    node_ok=0
  fi
fi

rc=0
for target in redis-server flightcache; do
  port=$redis_port
  [[ $target == flightcache ]] && port=$fc_port
  url=redis://127.0.0.1:$port
  echo "redis-py $(/usr/bin/python3 -c 'import redis; print(redis.__version__)') against $target:"
  /usr/bin/python3 tests/clients/redis_py_checks.py "$url" "$target" "$pending" || rc=1
  if ((node_ok)); then
    echo "ioredis and node-redis against $target:"
    NODE_PATH=$node_dir/node_modules node tests/clients/node_checks.js "$url" "$target" \
      "$pending" || rc=1
  fi
done
if ((rc != 0)); then
  echo "flightcache log (last lines):"
  tail -n 20 "$tmp/flightcache.log"
fi
exit "$rc"
