#!/usr/bin/env bash
# smoke.sh — drives the real flightcache binary with Redis's own tools: redis-cli (arguments,
# piped input, --scan) and redis-benchmark (-t ping,set,get,incr,mset and the list, set, hash and
# sorted-set tests -n 20000).
# Fails on any unexpected reply, any benchmark error, or an unclean SIGTERM shutdown.
# Run by `meson test` with FLIGHTCACHE_BIN set to the server binary. Needs redis-tools.
set -euo pipefail

: "${FLIGHTCACHE_BIN:?FLIGHTCACHE_BIN must name the flightcache binary}"
if [[ $FLIGHTCACHE_BIN == */* ]]; then
  FLIGHTCACHE_BIN=$(realpath -s "$FLIGHTCACHE_BIN")  # the server starts in a scratch directory
fi
BENCH_REQUESTS=${SMOKE_BENCH_REQUESTS:-20000}

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
  echo "smoke: FAIL: $*" >&2
  if [[ -s $workdir/server.log ]]; then
    echo "---- server log (last 40 lines) ----" >&2
    tail -n 40 "$workdir/server.log" >&2
  fi
  exit 1
}

# A port the kernel just handed out and released: free unless something races for it.
FreePort() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

for tool in redis-cli redis-benchmark python3; do
  command -v "$tool" >/dev/null || Fail "$tool not found (install redis-tools)"
done

port=$(FreePort)
# The server runs in the scratch directory, so anything it writes (logs, dumps) is removed.
(cd "$workdir" && exec "$FLIGHTCACHE_BIN" --port "$port") >"$workdir/server.log" 2>&1 &
server_pid=$!

Cli() { timeout 10 redis-cli -p "$port" "$@"; }

# Waits (bounded) until the server answers PING.
for ((i = 0; i < 300; i++)); do
  if [[ $(Cli ping 2>/dev/null) == PONG ]]; then
    break
  fi
  kill -0 "$server_pid" 2>/dev/null || Fail "server exited during start-up"
  sleep 0.1
done
[[ $(Cli ping 2>/dev/null) == PONG ]] || Fail "server did not answer PING within 30 s"

# Expect WANT CMD...: runs redis-cli CMD... and compares its whole output with WANT.
Expect() {
  local want=$1 got
  shift
  got=$(Cli "$@" 2>&1) || Fail "redis-cli $* exited non-zero: $got"
  [[ $got == "$want" ]] || Fail "redis-cli $*: want $(printf %q "$want"), got $(printf %q "$got")"
}

# ExpectMatch REGEX CMD...: like Expect, but the output must match an extended regex.
ExpectMatch() {
  local regex=$1 got
  shift
  got=$(Cli "$@" 2>&1) || Fail "redis-cli $* exited non-zero: $got"
  [[ $got =~ $regex ]] || Fail "redis-cli $*: want match /$regex/, got $(printf %q "$got")"
}

Expect "OK" set greeting hello
Expect "hello" get greeting
Expect "" get missing
Expect "1" incr counter
Expect "11" incrby counter 10
Expect "1" del greeting
Expect "0" exists greeting
Expect "OK" mset a 1 b 2 c 3
Expect $'1\n2\n\n3' mget a b missing c
Expect "1" expire a 100
ExpectMatch '^(99|100)$' ttl a
Expect "-1" ttl b
Expect "-2" ttl missing
Expect "4" dbsize
ExpectMatch '(^|[[:space:]])redis_version:[0-9]' info server
Expect $'maxclients\n10000' config get maxclients
ExpectMatch '^ERR unknown command' nosuchcommand arg

# --scan walks SCAN to the end; the key set must be exact.
got=$(timeout 10 redis-cli -p "$port" --scan | sort | tr '\n' ' ')
[[ $got == "a b c counter " ]] || Fail "redis-cli --scan: want 'a b c counter ', got '$got'"
got=$(timeout 10 redis-cli -p "$port" --scan --pattern 'c*' | sort | tr '\n' ' ')
[[ $got == "c counter " ]] || Fail "redis-cli --scan --pattern c*: want 'c counter ', got '$got'"

# Commands piped on stdin, as a user types them, including a quoted argument.
got=$(printf 'SET piped "two words"\nGET piped\nAPPEND piped !\nSTRLEN piped\nPING\n' |
  timeout 10 redis-cli -p "$port" 2>&1) || Fail "piped redis-cli exited non-zero: $got"
want=$'OK\ntwo words\n10\n10\nPONG'
[[ $got == "$want" ]] || Fail "piped redis-cli: want $(printf %q "$want"), got $(printf %q "$got")"

Expect "OK" flushall
Expect "0" dbsize

# redis-benchmark: every test must report a positive rate and nothing may mention an error.
bench_tests=ping,set,get,incr,mset,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin
bench_tests+=,lrange_100,lrange_300,lrange_500,lrange_600
bench=$(timeout 300 redis-benchmark -p "$port" -t "$bench_tests" -n "$BENCH_REQUESTS" \
  --csv 2>&1) || Fail "redis-benchmark exited non-zero or timed out: $bench"
echo "$bench"
if grep -Eqi 'error|warning|fail|reset by peer' <<<"$bench"; then
  Fail "redis-benchmark reported a problem"
fi
for test in PING_INLINE PING_MBULK SET GET INCR 'MSET (10 keys)' LPUSH RPUSH LPOP RPOP SADD HSET \
  SPOP ZADD ZPOPMIN 'LRANGE_100 (first 100 elements)' 'LRANGE_300 (first 300 elements)' \
  'LRANGE_500 (first 500 elements)' 'LRANGE_600 (first 600 elements)'; do
  rps=$(awk -F'","' -v t="\"$test" '$1 == t { print $2 }' <<<"$bench")
  [[ -n $rps ]] || Fail "redis-benchmark printed no result for $test"
  awk -v r="$rps" 'BEGIN { exit !(r > 0) }' || Fail "redis-benchmark: $test ran 0 requests/s"
done
Expect "PONG" ping

# SIGTERM must shut the server down cleanly, with exit code 0, within 30 s.
kill -TERM "$server_pid"
for ((i = 0; i < 300; i++)); do
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$server_pid" 2>/dev/null && Fail "server still running 30 s after SIGTERM"
status=0
wait "$server_pid" || status=$?
server_pid=""
((status == 0)) || Fail "server exited with status $status after SIGTERM, want 0"

echo "smoke: PASS"
