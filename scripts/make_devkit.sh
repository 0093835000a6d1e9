#!/usr/bin/env bash
# scripts/make_devkit.sh: packs build/devkit, a self-contained copy of flightcache, redis-server,
# redis-benchmark and redis-cli with every shared library they load, the dynamic loader
# included, so the scaling benchmark can run on a machine without these packages (and with
# another glibc): build/devkit/bin/* are wrappers that start each program through the carried
# loader. Usage: scripts/make_devkit.sh, then put build/devkit/bin first on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
kit=build/devkit
rm -rf "$kit"
mkdir -p "$kit/bin" "$kit/lib" "$kit/real"
binaries=(build/release/server/flightcache /usr/bin/redis-check-rdb /usr/bin/redis-benchmark
          /usr/bin/redis-cli)
for b in "${binaries[@]}"; do
  cp -L "$b" "$kit/real/"
  ldd "$b" | awk '/=>/ { print $3 } /ld-linux/ { print $1 }' | while read -r lib; do
    cp -Ln "$lib" "$kit/lib/" 2>/dev/null || true
  done
done
# Wrapper NAME REAL: runs REAL through the carried loader with argv[0] = NAME (redis-server
# and redis-check-rdb are one binary that looks at its own name).
Wrapper() {
  cat >"$kit/bin/$1" <<WRAP
#!/bin/sh
kit=\$(cd "\$(dirname "\$0")/.." && pwd)
exec "\$kit/lib/ld-linux-x86-64.so.2" --library-path "\$kit/lib" --argv0 "$1" "\$kit/real/$2" "\$@"
WRAP
  chmod +x "$kit/bin/$1"
}
Wrapper flightcache flightcache
Wrapper redis-server redis-check-rdb
Wrapper redis-benchmark redis-benchmark
Wrapper redis-cli redis-cli
du -sh "$kit"
"$kit/bin/flightcache" --version
"$kit/bin/redis-server" --version
