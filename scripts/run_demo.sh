#!/usr/bin/env bash
# scripts/run_demo.sh FLIGHTCACHE_BIN: the demo that `scripts/run` (no arguments) starts, and
# that tests/integration/demo_smoke.sh checks. Creates a small SQLite database when it is
# missing (DEMO_DB, default build/demo/demo.db, with the sqlite3 CLI), prints the redis-cli
# commands to try, and execs the server on 127.0.0.1:DEMO_PORT (default 6379) with two routes
# reading through the file. Installs nothing and builds nothing: scripts/run does that.
set -euo pipefail
bin=${1:?usage: scripts/run_demo.sh FLIGHTCACHE_BIN}
cd "$(dirname "$0")/.."
demo_db=$(realpath -m "${DEMO_DB:-build/demo/demo.db}")
port=${DEMO_PORT:-6379}

# CreateDemoDatabase FILE: a users table with a few rows (one with a NULL profile).
CreateDemoDatabase() {
  local file=$1
  mkdir -p "$(dirname "$file")"
  rm -f "$file.tmp"
  sqlite3 "$file.tmp" <<'SQL'
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT, profile TEXT);
INSERT INTO users VALUES
  (1, 'Ada Lovelace', 'ada@example.com', '{"name":"Ada","languages":["Analytical Engine"]}'),
  (2, 'Alan Turing', 'alan@example.com', '{"name":"Alan","machines":["ACE"]}'),
  (3, 'Grace Hopper', 'grace@example.com', '{"name":"Grace","languages":["COBOL"]}'),
  (4, 'Edsger Dijkstra', NULL, NULL);
SQL
  mv "$file.tmp" "$file"
}

[[ -f $demo_db ]] || CreateDemoDatabase "$demo_db"
cat >&2 <<EOT
==> flightcache demo on 127.0.0.1:$port, reading through the SQLite file $demo_db
    routes:
      user:{id}  -> SELECT profile FROM users WHERE id = ?1          (cached 60 s)
      row:{id}   -> SELECT name, email FROM users WHERE id = ?1      (a JSON object)
    try, in another terminal:
      redis-cli -p $port get user:1        # {"name":"Ada",...}: read from SQLite, then cached
      redis-cli -p $port ttl user:1        # 60
      redis-cli -p $port get row:2         # {"name":"Alan Turing","email":"alan@example.com"}
      redis-cli -p $port get user:4        # (nil): the profile is NULL
      redis-cli -p $port get user:99       # (nil): no such row (remembered for 10 s)
      redis-cli -p $port get other:1       # (nil): no route serves other:*, nothing is fetched
      redis-cli -p $port set user:1 mine   # a write replaces the cached value (SQLite is never written)
      redis-cli -p $port info origin       # fetches, not found, errors, latency per route
    Ctrl-C stops the server. Arguments to scripts/run replace the demo (see README.md).
EOT
exec "$bin" --port "$port" \
  --route "user:{id} sqlite://$demo_db \"SELECT profile FROM users WHERE id = ?1\" ttl=60 negative-ttl=10" \
  --route "row:{id} sqlite://$demo_db \"SELECT name, email FROM users WHERE id = ?1\""
