#!/usr/bin/env python3
"""bench_origins.py: the load of `scripts/bench origins` (issue 8), against a real PostgreSQL.

  bench_origins.py setup --pg-dsn DSN --rows N   (the table and pg_stat_statements; first)
  bench_origins.py run --pg-dsn DSN --flightcache PORT --redis PORT --rounds N --delay-ms MS
                       --clients N --burst-keys K --burst-clients C --pool P --out ROWS.jsonl
  bench_origins.py table ROWS.jsonl

`run` measures, per round:
  stampede/readthrough  N clients GET one cold key from flightcache, whose route reads it
                        from PostgreSQL;
  stampede/cacheaside   the same N clients against redis-server as an application would: GET;
                        on nil, query PostgreSQL (a pool of P connections, as flightcache's)
                        and SET;
  burst/readthrough     K distinct cold keys, C clients each, at once, through flightcache;
  burst/cacheaside      the same burst as cache-aside against redis-server;
  warm/<mode>           the N clients again on the stampede's key, now cached: no query; the
                        floor this (Python asyncio) client puts under every latency.
The query sleeps MS at the database (pg_sleep), one query at a time per connection. Queries
that reached the database are counted at the database (pg_stat_statements, reset before each
run). Each client is one connection, opened before the clock starts; all requests go out at
once; a client's latency runs from its request to its answer (the SET included in
cache-aside). Every answer is checked. Needs psycopg2 (Debian: python3-psycopg2).
"""
import asyncio
import json
import resource
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg2

TABLE = "bench_users"
# The key's row, read at the database after a 50 ms (delay) sleep; the same text for both modes.
QUERY = "SELECT (SELECT profile FROM bench_users WHERE id = {param}) FROM pg_sleep({delay})"


def value_of(key_id):
    return "profile-" + key_id


def setup_database(dsn, rows):
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        cur.execute(f"DROP TABLE IF EXISTS {TABLE}")
        cur.execute(f"CREATE TABLE {TABLE} (id text PRIMARY KEY, profile text)")
        cur.execute(f"INSERT INTO {TABLE} SELECT i::text, 'profile-' || i "
                    f"FROM generate_series(0, {rows - 1}) i")
    return conn


def reset_counts(admin):
    with admin.cursor() as cur:
        cur.execute("SELECT pg_stat_statements_reset()")


def count_queries(admin):
    """Executions of the bench query that reached the database since the last reset."""
    with admin.cursor() as cur:
        cur.execute("SELECT coalesce(sum(calls), 0) FROM pg_stat_statements "
                    f"WHERE query LIKE '%{TABLE}%' AND query NOT LIKE '%pg_stat_statements%' "
                    "AND query NOT LIKE 'CREATE%' AND query NOT LIKE 'INSERT%' "
                    "AND query NOT LIKE 'DROP%'")
        return int(cur.fetchone()[0])


class Resp:
    """One RESP connection (asyncio streams): just enough for GET and SET."""

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    def send(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.writer.write(b"".join(out))

    async def reply(self):
        """('value', str) / ('nil', None) / ('ok', str) / ('error', str)."""
        line = (await self.reader.readline()).rstrip(b"\r\n")
        if not line:
            return ("error", "connection closed")
        kind, rest = line[:1], line[1:]
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return ("nil", None)
            data = await self.reader.readexactly(n + 2)
            return ("value", data[:-2].decode())
        if kind == b"-":
            return ("error", rest.decode())
        return ("ok", rest.decode())

    def close(self):
        self.writer.close()


class PgPool:
    """P psycopg2 connections, one per thread: what a cache-aside application would hold."""

    def __init__(self, dsn, size, delay_s):
        self.dsn, self.delay_s = dsn, delay_s
        self.local = threading.local()
        self.executor = ThreadPoolExecutor(max_workers=size)
        self.conns = []
        self.lock = threading.Lock()

    def _query(self, key_id):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = psycopg2.connect(self.dsn)
            conn.autocommit = True
            self.local.conn = conn
            with self.lock:
                self.conns.append(conn)
        with conn.cursor() as cur:
            cur.execute(QUERY.format(param="%s", delay=self.delay_s), (key_id,))
            row = cur.fetchone()
            return None if row is None else row[0]

    async def query(self, key_id):
        return await asyncio.get_running_loop().run_in_executor(self.executor, self._query,
                                                                key_id)

    def close(self):
        self.executor.shutdown()
        for c in self.conns:
            c.close()


async def one_client(conn, key, key_id, mode, pool, start, latencies, failures):
    await start.wait()
    t0 = time.perf_counter()
    want = value_of(key_id)
    conn.send("GET", key)
    kind, value = await conn.reply()
    if mode == "cacheaside" and kind == "nil":
        value = await pool.query(key_id)
        kind = "value" if value is not None else "nil"
        conn.send("SET", key, value)
        set_kind, _ = await conn.reply()
        if set_kind != "ok":
            kind = "error"
    latencies.append((time.perf_counter() - t0) * 1000.0)
    if kind != "value" or value != want:
        failures.append(f"{key}: {kind} {value}")


async def run_load(port, mode, keys, clients_per_key, pool):
    """All clients connect, then ask at once; returns (latencies ms, failures, seconds)."""
    conns = []
    for _ in range(len(keys) * clients_per_key):
        conns.append(await Resp.open(port))
    start = asyncio.Event()
    latencies, failures = [], []
    tasks = []
    for i, conn in enumerate(conns):
        key, key_id = keys[i % len(keys)]
        tasks.append(asyncio.create_task(
            one_client(conn, key, key_id, mode, pool, start, latencies, failures)))
    await asyncio.sleep(0.05)  # every task is parked on the event
    t0 = time.perf_counter()
    start.set()
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=120)
    seconds = time.perf_counter() - t0
    for conn in conns:
        conn.close()
    return latencies, failures, seconds


def percentile(values, p):
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100.0 * (len(s) - 1) + 0.5))]


def run(opts):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = opts["clients"] + opts["burst_keys"] * opts["burst_clients"] + 256
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, need)), hard))
    rounds = opts["rounds"]
    admin = psycopg2.connect(opts["pg_dsn"])
    admin.autocommit = True
    pool = PgPool(opts["pg_dsn"], opts["pool"], opts["delay_ms"] / 1000.0)
    next_id = 1000
    rows = []
    with open(opts["out"], "w") as out:
        for rnd in range(1, rounds + 1):
            stampede_keys = {}
            for scenario in ("stampede", "warm", "burst"):
                for mode, port in (("readthrough", opts["flightcache"]),
                                   ("cacheaside", opts["redis"])):
                    nkeys = opts["burst_keys"] if scenario == "burst" else 1
                    per_key = opts["burst_clients"] if scenario == "burst" else opts["clients"]
                    keys = []
                    if scenario == "warm":
                        keys = stampede_keys[mode]
                    for _ in range(nkeys - len(keys)):
                        keys.append((f"user:{next_id}", str(next_id)))
                        next_id += 1
                    stampede_keys.setdefault(mode, keys)
                    reset_counts(admin)
                    latencies, failures, seconds = asyncio.run(
                        run_load(port, mode, keys, per_key, pool))
                    time.sleep(0.2)  # pg_stat_statements counts a query when it ends
                    row = {"scenario": scenario, "mode": mode, "round": rnd, "keys": nkeys,
                           "clients": nkeys * per_key, "queries": count_queries(admin),
                           "errors": len(failures), "seconds": round(seconds, 4),
                           "p50_ms": round(percentile(latencies, 50), 2),
                           "p99_ms": round(percentile(latencies, 99), 2)}
                    if failures:
                        row["first_failure"] = failures[0]
                    print(f"    round {rnd} {scenario} {mode}: " +
                          " ".join(f"{k}={v}" for k, v in row.items()
                                   if k not in ("scenario", "mode", "round")), flush=True)
                    out.write(json.dumps(row) + "\n")
                    rows.append(row)
    pool.close()
    admin.close()
    return 1 if any(r["errors"] for r in rows) else 0


def table(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    groups = {}
    for r in rows:
        groups.setdefault((r["scenario"], r["mode"]), []).append(r)
    print(f"  {'load':<40} {'server':<32} {'queries at db':>13} {'errors':>6} "
          f"{'total s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    names = {"readthrough": "flightcache read-through", "cacheaside": "redis-server cache-aside"}
    for (scenario, mode), rs in groups.items():
        med = lambda f: statistics.median(r[f] for r in rs)
        load = {"stampede": f"{rs[0]['clients']} clients, 1 cold key",
                "warm": f"{rs[0]['clients']} clients, that key cached",
                "burst": f"{rs[0]['keys']} cold keys x {rs[0]['clients'] // rs[0]['keys']} clients"
                }[scenario]
        print(f"  {load:<40} {names[mode]:<32} {med('queries'):>13g} "
              f"{max(r['errors'] for r in rs):>6} {med('seconds'):>8.3f} {med('p50_ms'):>8.1f} "
              f"{med('p99_ms'):>8.1f}")
    print(f"  medians over {len(rows) // max(1, len(groups))} rounds; errors: the most in one "
          "round")


def main(argv):
    if len(argv) == 2 and argv[0] == "table":
        table(argv[1])
        return 0
    if len(argv) == 5 and argv[0] == "setup" and argv[1] == "--pg-dsn" and argv[3] == "--rows":
        setup_database(argv[2], int(argv[4])).close()
        return 0
    if argv and argv[0] == "run":
        opts = {}
        it = iter(argv[1:])
        for flag in it:
            opts[flag.lstrip("-").replace("-", "_")] = next(it)
        for k in ("flightcache", "redis", "rounds", "delay_ms", "clients", "burst_keys",
                  "burst_clients", "pool"):
            opts[k] = int(opts[k])
        return run(opts)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
