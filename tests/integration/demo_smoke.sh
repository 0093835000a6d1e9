#!/usr/bin/env bash
# demo_smoke.sh — checks the demo that `scripts/run` starts with no arguments
# (scripts/run_demo.sh): it creates its SQLite database in a scratch folder, serves the two
# routes it prints, answers the GETs it tells a user to try, and stops cleanly on SIGTERM.
# Run by `meson test` with FLIGHTCACHE_BIN set. Needs sqlite3, redis-tools and python3.
set -euo pipefail

: "${FLIGHTCACHE_BIN:?FLIGHTCACHE_BIN must name the flightcache binary}"
FLIGHTCACHE_BIN=$(realpath -s "$FLIGHTCACHE_BIN")
root=$(cd "$(dirname "$0")/../.." && pwd)
workdir=$(mktemp -d)
server_pid=""

Cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$workdir"
}
trap Cleanup EXIT

Fail() {
  echo "demo: FAIL: $*" >&2
  [[ -s $workdir/server.log ]] && tail -n 40 "$workdir/server.log" >&2
  exit 1
}

for tool in sqlite3 redis-cli python3; do
  command -v "$tool" >/dev/null || Fail "$tool not found"
done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DEMO_DB=$workdir/demo/demo.db DEMO_PORT=$port \
  "$root/scripts/run_demo.sh" "$FLIGHTCACHE_BIN" >"$workdir/server.log" 2>&1 &
server_pid=$!

Cli() { timeout 10 redis-cli -p "$port" "$@"; }
for ((i = 0; i < 300; i++)); do
  [[ $(Cli ping 2>/dev/null) == PONG ]] && break
  kill -0 "$server_pid" 2>/dev/null || Fail "the demo exited during start-up"
  sleep 0.1
done
[[ $(Cli ping 2>/dev/null) == PONG ]] || Fail "the demo did not answer PING within 30 s"
[[ -f $workdir/demo/demo.db ]] || Fail "no demo database was created"
grep -q "redis-cli -p $port get user:1" "$workdir/server.log" || Fail "no commands to try printed"

Expect() {
  local want=$1 got
  shift
  got=$(Cli "$@") || Fail "redis-cli $* failed"
  [[ $got == "$want" ]] || Fail "$*: expected '$want', got '$got'"
}
Expect '{"name":"Ada","languages":["Analytical Engine"]}' get user:1
Expect 60 ttl user:1
Expect '{"name":"Alan Turing","email":"alan@example.com"}' get row:2
Expect '' get user:4
Expect '' get user:99
Expect '' get other:1
Cli info origin | grep -q '^origin_route0:pattern=user:{id},.*,values=1,not_found=2,' ||
  Fail "INFO origin does not count the demo's fetches"

kill -TERM "$server_pid"
status=0
wait "$server_pid" || status=$?
server_pid=""
((status == 0)) || Fail "the demo exited with status $status on SIGTERM"
echo "demo: OK"
