#!/usr/bin/python3
"""redis_py_checks.py — what applications do with Debian's redis-py (python3-redis), run against
one server: pipeline() with its default transaction, Django-style set_many, the Lock, pub/sub
and /1 database URLs.

Usage: /usr/bin/python3 redis_py_checks.py URL TARGET PENDING_FILE
  URL           redis://127.0.0.1:PORT of the server under test
  TARGET        "redis-server" or "flightcache" (only flightcache's checks may be pending)
  PENDING_FILE  names of features not merged yet (one a line, e.g. "lua"): against flightcache
                a check that needs one reports "expected failure" when it fails, and fails the
                run when it passes (remove the name from the file then)
Prints one line per check and exits 1 when a check failed. Every wait has a deadline.
"""
import sys
import time

import redis

URL, TARGET, PENDING_FILE = sys.argv[1], sys.argv[2], sys.argv[3]
with open(PENDING_FILE) as f:
    PENDING = {line.split("#")[0].strip() for line in f} - {""}

failures = 0


def check(name, needs=None):
    """Runs the decorated function as one check; needs: the feature it depends on."""

    def run(fn):
        global failures
        pending = TARGET == "flightcache" and needs in PENDING
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - any failure of the client is the check's failure
            if pending:
                print(f"  expected failure: {name} ({needs} not merged yet): {e!r}")
            else:
                failures += 1
                print(f"  FAIL  {name}: {e!r}")
            return fn
        if pending:
            failures += 1
            print(f"  FAIL  {name}: passes now; remove '{needs}' from {PENDING_FILE}")
        else:
            print(f"  ok    {name}")
        return fn

    return run


r = redis.Redis.from_url(URL, socket_timeout=10)
r.flushall()


def commandstat_calls(command):
    stats = r.info("commandstats").get(f"cmdstat_{command}", {})
    return stats.get("calls", 0)


@check("redis-py pipeline() is a MULTI/EXEC transaction by default")
def pipeline_transaction():
    multis = commandstat_calls("multi")
    p = r.pipeline()
    p.incr("py:counter")
    p.incr("py:counter")
    p.get("py:counter")
    assert p.execute() == [1, 2, b"2"], "pipeline results"
    assert commandstat_calls("multi") == multis + 1, "the pipeline ran as one MULTI"
    # A failing command inside the transaction fails only itself, as Redis does.
    r.set("py:str", "x")
    p = r.pipeline()
    p.incr("py:str")
    p.set("py:after", "1")
    results = p.execute(raise_on_error=False)
    assert isinstance(results[0], redis.ResponseError) and results[1] is True, results


@check("Django-style set_many: a MULTI pipeline of SETs with expiry")
def django_set_many():
    # django.core.cache.backends.redis.RedisCache.set_many: pipeline(); mset; expire per key
    # (Django 4+); django-redis uses set(..., ex=timeout) per key. Both are checked.
    data = {f"py:dj:{i}": f"value{i}" for i in range(5)}
    p = r.pipeline()
    p.mset(data)
    for key in data:
        p.expire(key, 300)
    assert p.execute() == [True] + [True] * len(data)
    p = r.pipeline(transaction=True)
    for key, value in data.items():
        p.set(key + ":x", value, ex=300)
    assert p.execute() == [True] * len(data)
    for key, value in data.items():
        assert r.get(key) == value.encode() and 0 < r.ttl(key) <= 300
        assert r.get(key + ":x") == value.encode() and 0 < r.ttl(key + ":x") <= 300
    assert r.mget(list(data)) == [v.encode() for v in data.values()]


@check("redis-py Lock acquires and releases (release is EVALSHA)", needs="lua")
def lock_acquire_release():
    lock = r.lock("py:lock", timeout=10, blocking_timeout=5)
    assert lock.acquire(), "acquire"
    assert r.get("py:lock") is not None, "the lock key is set"
    other = r.lock("py:lock", timeout=10)
    assert not other.acquire(blocking=False), "a second holder is refused"
    lock.release()
    assert r.get("py:lock") is None, "release removed the lock key"
    assert other.acquire(blocking=False), "free again after release"
    other.release()


@check("pub/sub: a subscriber receives what another client publishes")
def pubsub():
    p = r.pubsub()
    p.subscribe("py:channel")
    deadline = time.monotonic() + 10
    while True:
        m = p.get_message(timeout=1)
        if m and m["type"] == "subscribe":
            break
        assert time.monotonic() < deadline, "no subscribe confirmation"
    assert r.publish("py:channel", "hello") == 1
    while True:
        m = p.get_message(timeout=1)
        if m and m["type"] == "message":
            assert m["channel"] == b"py:channel" and m["data"] == b"hello", m
            break
        assert time.monotonic() < deadline, "no message"
    p.close()


@check("a /1 database URL keeps its keys apart from db 0", needs="databases")
def database_url():
    db1 = redis.Redis.from_url(URL + "/1", socket_timeout=10)
    db1.set("py:db", "one")
    assert db1.get("py:db") == b"one"
    assert r.get("py:db") is None, "db 0 does not see db 1's key"
    db1.flushdb()


sys.exit(1 if failures else 0)
