#!/usr/bin/env bash
# scripts/device_bench.sh: the issue-5 scaling run for a big offline machine (16 cores, no
# network), in one bounded call (about 6 minutes at most). It installs nothing:
#   1. checks the tools (g++, meson, ninja, pkg-config, libuv1-dev, libhiredis-dev, CLI11
#      headers, redis-server, redis-benchmark, redis-cli, python3) and says which are missing;
#   2. builds only the server, release, into build/device (reused when it is already there);
#      if that cannot be done, a prebuilt $FLIGHTCACHE_BIN or build/release/server/flightcache
#      that runs here is used instead, and the log says so;
#   3. runs `scripts/bench threads`: flightcache --threads 1,2,4,8 and redis-server, GET and SET
#      at -P 16, -c 200, redis-benchmark --threads 8, 3 rounds, servers in turn, not pinned;
#   4. writes the table to $OUT/threads_table.txt, the raw rows to $OUT/threads.tsv and the
#      whole log to $OUT/device_bench.log.
# Target (issue 5): GET and SET at -P 16 with 8 worker threads reach at least 4x redis-server.
# A missed target is reported in the table, not an error.
#
# Exit: 0 the table was written; 1 the benchmark failed (a server died, a tool reported
# errors) or ran out of time (a partial table is still written when there are rows);
# 3 this machine lacks what is needed to build or to benchmark (nothing was run).
# rps is measured at the server over a DEVICE_WINDOW s window after DEVICE_WARMUP s of load (see
# the threads case in scripts/bench: redis-benchmark --threads reports rps on a 250 ms grid).
# Environment: OUT (default ./out), DEVICE_WARMUP (0.5), DEVICE_WINDOW (2), DEVICE_THREADS_LIST (1,2,4,8), DEVICE_CLIENT_THREADS (8), DEVICE_CLIENTS (200),
# DEVICE_PIPELINES (16), DEVICE_ROUNDS (3), DEVICE_BENCH_TIMEOUT (seconds, default 270),
# FLIGHTCACHE_BIN (skip the build and use this binary).
set -uo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-./out}
DEVICE_WARMUP=${DEVICE_WARMUP:-0.5}
DEVICE_WINDOW=${DEVICE_WINDOW:-2}
DEVICE_THREADS_LIST=${DEVICE_THREADS_LIST:-1,2,4,8}
DEVICE_CLIENT_THREADS=${DEVICE_CLIENT_THREADS:-8}
DEVICE_CLIENTS=${DEVICE_CLIENTS:-200}
DEVICE_PIPELINES=${DEVICE_PIPELINES:-16}
DEVICE_ROUNDS=${DEVICE_ROUNDS:-3}
DEVICE_BENCH_TIMEOUT=${DEVICE_BENCH_TIMEOUT:-270}
mkdir -p "$OUT"
OUT=$(realpath "$OUT")
exec > >(tee -a "$OUT/device_bench.log") 2>&1
started=$SECONDS

Say() { echo "device_bench [$((SECONDS - started))s]: $*"; }

# Unusable ENVIRONMENT_PROBLEM: says what is missing and exits 3.
Unusable() {
  Say "CANNOT RUN: $*"
  echo "CANNOT RUN: $*" >"$OUT/threads_table.txt"
  exit 3
}

Say "machine: $(nproc) CPUs, $(uname -srm); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
Say "tree: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' + uncommitted changes')"

# ---- 1. what this machine has ----
missing_build=() missing_bench=()
for tool in meson ninja pkg-config; do
  command -v "$tool" >/dev/null || missing_build+=("$tool")
done
command -v g++ >/dev/null || command -v c++ >/dev/null || missing_build+=("g++")
if command -v pkg-config >/dev/null; then
  pkg-config --exists libuv || missing_build+=("libuv1-dev (pkg-config libuv)")
  pkg-config --exists hiredis || missing_build+=("libhiredis-dev (pkg-config hiredis)")
fi
[[ -f /usr/include/CLI/CLI.hpp ]] || missing_build+=("libcli11-dev (/usr/include/CLI/CLI.hpp)")
for tool in redis-benchmark redis-cli python3 timeout; do
  command -v "$tool" >/dev/null || missing_bench+=("$tool")
done
redis_bin=redis-server
if ! command -v redis-server >/dev/null; then
  redis_bin=none
  Say "WARNING: redis-server not found: flightcache rows only, no ratio to redis-server"
fi
((${#missing_build[@]})) && Say "missing for the build: ${missing_build[*]}"
((${#missing_bench[@]})) && Unusable "missing for the benchmark: ${missing_bench[*]}"
Say "redis-benchmark: $(redis-benchmark --version 2>&1 | head -1);" \
  "redis-server: $([[ $redis_bin == none ]] && echo none || redis-server --version | cut -d' ' -f3)"

# ---- 2. the server binary ----
# Usable BINARY: runs here and takes --threads.
Usable() {
  [[ -x $1 ]] && "$1" --help 2>&1 | grep -q -- '--threads'
}

bin=${FLIGHTCACHE_BIN:-}
if [[ -n $bin ]]; then
  Usable "$bin" || Unusable "FLIGHTCACHE_BIN=$bin does not run here or has no --threads flag"
  Say "using FLIGHTCACHE_BIN=$bin (no build)"
elif ((${#missing_build[@]} == 0)); then
  Say "building build/device (release, server only)"
  build_ok=0
  if [[ -f build/device/build.ninja ]] &&
    timeout 180 ninja -C build/device server/flightcache >"$OUT/build.log" 2>&1; then
    build_ok=1
  else
    rm -rf build/device
    if timeout 60 meson setup build/device -Dbuildtype=release >"$OUT/build.log" 2>&1 &&
      timeout 180 ninja -C build/device server/flightcache >>"$OUT/build.log" 2>&1; then
      build_ok=1
    fi
  fi
  if ((build_ok)); then
    bin=build/device/server/flightcache
    Say "built $bin"
  else
    Say "BUILD FAILED; last lines of $OUT/build.log:"
    tail -n 40 "$OUT/build.log"
  fi
fi
if [[ -z $bin ]]; then
  if Usable build/release/server/flightcache; then
    bin=build/release/server/flightcache
    Say "NOTE: no build here; using the prebuilt $bin from the copied tree"
  elif ((${#missing_build[@]})); then
    Unusable "cannot build (missing: ${missing_build[*]}) and no prebuilt flightcache with" \
      "--threads (set FLIGHTCACHE_BIN or carry build/release)"
  else
    Unusable "the build failed (see $OUT/build.log) and no prebuilt flightcache with --threads"
  fi
fi
Usable "$bin" || Unusable "$bin has no --threads flag (is the tree older than issue 5?)"

# ---- 3. the benchmark ----
Say "scripts/bench threads: --threads $DEVICE_THREADS_LIST + $redis_bin; redis-benchmark" \
  "--threads $DEVICE_CLIENT_THREADS -c $DEVICE_CLIENTS -P $DEVICE_PIPELINES; window" \
  "${DEVICE_WINDOW}s after ${DEVICE_WARMUP}s;" \
  "$DEVICE_ROUNDS rounds; at most ${DEVICE_BENCH_TIMEOUT}s"
rc=0
BENCH_NO_INSTALL=1 FLIGHTCACHE_BIN=$bin REDIS_BIN=$redis_bin ROUNDS=$DEVICE_ROUNDS \
  THREADS_LIST=$DEVICE_THREADS_LIST BENCH_CLIENT_THREADS=$DEVICE_CLIENT_THREADS \
  THREADS_CLIENTS=$DEVICE_CLIENTS THREADS_PIPELINES=$DEVICE_PIPELINES THREADS_TESTS=get,set \
  THREADS_WARMUP=$DEVICE_WARMUP THREADS_WINDOW=$DEVICE_WINDOW \
  timeout --kill-after=15 "$DEVICE_BENCH_TIMEOUT" scripts/bench threads || rc=$?

# ---- 4. results ----
cp -f build/bench/threads.tsv "$OUT/threads.tsv" 2>/dev/null || true
if ((rc == 0)) && [[ -s build/bench/threads_table.txt ]]; then
  cp -f build/bench/threads_table.txt "$OUT/threads_table.txt"
elif [[ -s build/bench/threads.tsv ]]; then
  # Out of time or a failed run: the rows so far still make a (partial) table.
  {
    echo "PARTIAL: scripts/bench exited $rc$( ((rc == 124 || rc == 137)) && echo ' (timed out)')"
    python3 scripts/bench_lib.py threads-table build/bench/threads.tsv redis
  } >"$OUT/threads_table.txt"
else
  echo "NO RESULTS: scripts/bench exited $rc before any row (see device_bench.log)" \
    >"$OUT/threads_table.txt"
fi
{
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs)"
  echo "flightcache: $bin; redis: $redis_bin; total $((SECONDS - started))s"
} >>"$OUT/threads_table.txt"
echo
cat "$OUT/threads_table.txt"
Say "done (bench exit $rc); results in $OUT"
((rc == 0)) || exit 1
