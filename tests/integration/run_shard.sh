#!/usr/bin/env bash
# run_shard.sh BINARY SHARD SHARDS [DOCTEST ARGS...]: runs shard SHARD (0-based) of SHARDS of
# the doctest binary's test cases, in doctest's file order: cases first..last of the
# binary's --count, split into SHARDS contiguous ranges of (almost) equal size. meson runs the
# shards as separate tests, in parallel, so the integration suite takes a fraction of the time.
set -euo pipefail
binary=$1 shard=$2 shards=$3
shift 3
total=$("$binary" --count --no-version "$@" | sed -n 's/.*passing the current filters: *\([0-9]*\).*/\1/p')
if [[ -z $total ]]; then
  echo "run_shard.sh: could not count the test cases of $binary" >&2
  exit 1
fi
first=$((total * shard / shards + 1))
last=$((total * (shard + 1) / shards))
echo "shard $((shard + 1))/$shards: test cases $first..$last of $total"
((first > last)) && exit 0
exec "$binary" --order-by=rand --rand-seed=1 --first="$first" --last="$last" "$@"
