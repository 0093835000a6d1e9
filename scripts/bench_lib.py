#!/usr/bin/env python3
"""bench_lib.py: helpers for scripts/bench. Standard library only.

  free-port [COUNT]           prints COUNT ports on 127.0.0.1 that are free right now
  parse-csv CASE SERVER PIPELINE ROUND [CPU_US REQUESTS]
                              reads `redis-benchmark --csv` output on stdin and prints one
                              results row per test: case, test, pipeline, server, round, rps
                              (tab-separated); fails if a test ran at 0 rps or nothing parsed
  table RESULTS.tsv A B       prints, per case, test and pipeline, the median rps of servers A
                              and B over all rounds, and the ratio A/B
  suite-table RESULTS.tsv A B the same for the default suite (no cpu columns), then the tests
                              whose ratio at -P 16 is below 1.0 (issue 10's target)
  row KEY=VALUE...            prints one JSON results row made of the arguments and of every
                              KEY=VALUE word on stdin (a tool's summary line); numbers become
                              numbers
  resp-sets COUNT KEYFMT VALFMT
                              writes COUNT SET commands in RESP to stdout, for redis-cli --pipe;
                              the formats are Python format strings of i (0..COUNT-1), e.g.
                              'key:{i:012d}'
  resp-batched TOTAL PER WORD...
                              writes ceil(TOTAL/PER) commands in RESP for redis-cli --pipe, each
                              holding PER elements (the last one the rest): the first two WORDs
                              (command and key) once per command, the others once per element;
                              each WORD is a Python format string of i (the element, 0..TOTAL-1),
                              b (the command, 0..) and k (the element inside its command), e.g.
                              `resp-batched 1000 100 HSET 'h:{b}' 'f{k}' 'v:{i:012d}'`
  storm-table ROWS.jsonl DELAY_MS
                              the miss-storm table: per K and mode, median fetches per key and
                              latencies over the rounds, and the targets
  memory-table ROWS.jsonl A B the memory table: bytes per key of A and B, and the ratio A/B
  memory-types-table ROWS.jsonl A B
                              the type datasets' table: per dataset, A's and B's median
                              used_memory per element (and per key), the ratio A/B, and the
                              issue-10 target (ratio <= 0.8)
  hitratio-table ROWS.jsonl A B
                              the hit-ratio table: A's and B's hit ratios and the difference
  window CASE TEST PIPELINE SERVER ROUND PORT PID SECONDS
                              measures a server under load over SECONDS: INFO stats'
                              total_commands_processed and the CPU time of PID (/proc) at both
                              ends, over one connection opened first (so each sample costs one
                              round trip); prints one results row: rps and CPU us per command
  threads-table RESULTS.tsv REDIS
                              the scaling table: per test and pipeline, each server's median
                              rps, its ratio to REDIS and to flightcache/t1, the spread and
                              server CPU per request; then the issue-5 targets
"""
import csv
import json
import math
import os
import socket
import statistics
import sys
import time


def free_ports(count):
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def normalize_test(name):
    # "MSET (10 keys)" -> "MSET"; keeps the other names as redis-benchmark prints them. The
    # default suite's second LPUSH ("LPUSH (needed to benchmark LRANGE)") keeps a suffix, so it
    # is not counted as the first.
    if name.startswith("LPUSH (needed"):
        return "LPUSH (for LRANGE)"
    return name.split(" (")[0].strip()


def parse_csv(case, server, pipeline, round_no, cpu_us="", requests=""):
    # cpu_us: the server's CPU time over the run (one test per run), so cpu_us / requests is
    # the server's CPU cost per request.
    per_request = ""
    if cpu_us and requests and int(requests) > 0:
        per_request = f"{int(cpu_us) / int(requests):.3f}"
    rows = 0
    for record in csv.reader(sys.stdin):
        if not record or record[0] == "test" or len(record) < 2:
            continue
        try:
            rps = float(record[1])
        except ValueError:
            continue
        if rps <= 0:
            sys.exit(f"bench: {server}: {record[0]} ran at {rps} requests/s")
        print("\t".join([case, normalize_test(record[0]), pipeline, server, round_no, f"{rps:.2f}",
                         per_request]))
        rows += 1
    if rows == 0:
        sys.exit(f"bench: {server}: no results parsed from redis-benchmark output")


def table(path, ours, theirs, target_pipeline=None):
    """Prints the table of medians. With target_pipeline, the cpu columns are left out and a
    line per missed target (ratio >= 1.0 at that pipeline) follows the table; returns the
    number of tests that missed it."""
    runs = {}  # (case, test, pipeline) -> {server: [rps]}
    cpu = {}   # (case, test, pipeline) -> {server: [server CPU us per request]}
    order = []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) not in (6, 7):
                continue
            case, test, pipeline, server, _, rps = parts[:6]
            key = (case, test, pipeline)
            if key not in runs:
                runs[key] = {}
                cpu[key] = {}
                order.append(key)
            runs[key].setdefault(server, []).append(float(rps))
            if len(parts) == 7 and parts[6]:
                cpu[key].setdefault(server, []).append(float(parts[6]))

    header = ["case", "test", "pipeline", f"{ours} rps", f"{theirs} rps", "ratio", "spread",
              f"{ours} cpu us/req", f"{theirs} cpu us/req", "cpu ratio"]
    if target_pipeline is not None:
        header = header[:7]
    lines, missed = [], []
    for key in order:
        a = runs[key].get(ours, [])
        b = runs[key].get(theirs, [])
        med_a = statistics.median(a) if a else float("nan")
        med_b = statistics.median(b) if b else float("nan")
        ratio = med_a / med_b if a and b and med_b > 0 else float("nan")
        # spread: the largest (max - min) / median of either server, a hint of the noise.
        spreads = [(max(v) - min(v)) / statistics.median(v) for v in (a, b) if v]
        spread = f"{100 * max(spreads):.0f}%" if spreads else "-"
        ca = cpu[key].get(ours, [])
        cb = cpu[key].get(theirs, [])
        cpu_a = statistics.median(ca) if ca else float("nan")
        cpu_b = statistics.median(cb) if cb else float("nan")
        # cpu ratio = theirs/ours: above 1.00 means flightcache spends less CPU per request.
        cpu_ratio = cpu_b / cpu_a if ca and cb and cpu_a > 0 else float("nan")
        lines.append([key[0], key[1], f"-P {key[2]}", f"{med_a:,.0f}", f"{med_b:,.0f}",
                      f"{ratio:.2f}", spread, f"{cpu_a:.2f}", f"{cpu_b:.2f}",
                      f"{cpu_ratio:.2f}"][:len(header)])
        if key[2] == target_pipeline and not ratio >= 1.0:
            missed.append(f"{key[1]} {ratio:.2f}")

    widths = [max(len(r[i]) for r in [header] + lines) for i in range(len(header))]
    def fmt(row):
        return "  ".join(c.ljust(w) if i < 3 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(row, widths)))
    print(fmt(header))
    print("  ".join("-" * w for w in widths))
    for row in lines:
        print(fmt(row))
    return missed


def suite_table(path, ours, theirs):
    """The default-suite table (issue 10): medians and ratios per test, then the target."""
    missed = table(path, ours, theirs, target_pipeline="16")
    print(f"ratio = {ours}/{theirs} medians; spread = largest (max-min)/median over the rounds")
    if missed:
        print(f"target ratio >= 1.0 at -P 16: MISSED by {len(missed)} test(s): "
              + ", ".join(missed))
    else:
        print("target ratio >= 1.0 at -P 16: met by every test")


def parse_value(text):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def row(args):
    """One JSON object from KEY=VALUE words: the arguments first, then stdin's."""
    words = list(args) + sys.stdin.read().split()
    record = {}
    for word in words:
        key, sep, value = word.partition("=")
        if sep and key:
            record[key] = parse_value(value)
    print(json.dumps(record))


def resp_sets(count, key_format, value_format):
    out = sys.stdout.buffer
    chunk = []
    for i in range(count):
        key = key_format.format(i=i).encode()
        value = value_format.format(i=i).encode()
        chunk.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
                     % (len(key), key, len(value), value))
        if len(chunk) == 10000:
            out.write(b"".join(chunk))
            chunk.clear()
    out.write(b"".join(chunk))
    out.flush()


def resp_batched(total, per, words):
    out = sys.stdout.buffer
    head, element = words[:2], words[2:]
    def bulk(text):
        data = text.encode()
        return b"$%d\r\n%s\r\n" % (len(data), data)
    chunk, b, i = [], 0, 0
    while i < total:
        n = min(per, total - i)
        parts = [b"*%d\r\n" % (len(head) + n * len(element))]
        parts += [bulk(w.format(i=i, b=b, k=0)) for w in head]
        for k in range(n):
            parts += [bulk(w.format(i=i + k, b=b, k=k)) for w in element]
        chunk.append(b"".join(parts))
        i += n
        b += 1
        if len(chunk) == 1000:
            out.write(b"".join(chunk))
            chunk.clear()
    out.write(b"".join(chunk))
    out.flush()


def read_rows(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def print_table(header, lines, left_columns):
    widths = [max(len(r[i]) for r in [header] + lines) for i in range(len(header))]
    def fmt(r):
        return "  ".join(c.ljust(w) if i < left_columns else c.rjust(w)
                         for i, (c, w) in enumerate(zip(r, widths))).rstrip()
    print(fmt(header))
    print("  ".join("-" * w for w in widths))
    for r in lines:
        print(fmt(r))


def median_of(rows, field):
    values = [r[field] for r in rows if isinstance(r.get(field), (int, float))]
    return statistics.median(values) if values else float("nan")


def storm_table(path, delay_ms):
    delay_ms = float(delay_ms)
    groups = {}  # (keys, mode, server) -> [row]
    for r in read_rows(path):
        groups.setdefault((r["K"], r["mode"], r["server"]), []).append(r)
    by_mode = {(k, mode): rs for (k, mode, _), rs in groups.items()}
    order = {"direct": 0, "readthrough": 1, "cacheaside": 2}
    header = ["K", "mode", "server", "fetches/key", "p50 ms", "p99 ms", "max ms", "runs ok",
              "fetches 1.00", f"p99 <= {delay_ms + 10:.0f}", "p99 <= direct + 10",
              "origin load"]
    lines, failed = [], 0
    for (keys, mode, server), rs in sorted(groups.items(),
                                           key=lambda g: (g[0][0], order.get(g[0][1], 9))):
        ok = sum(1 for r in rs if r.get("rc") == 0)
        failed += len(rs) - ok
        fpk, p50, p99 = (median_of(rs, f) for f in ("fetches_per_key", "p50_ms", "p99_ms"))
        direct_p99 = median_of(by_mode.get((keys, "direct"), []), "p99_ms")
        base_fpk = median_of(by_mode.get((keys, "readthrough"), []), "fetches_per_key")
        checks = ["", "", ""]
        if mode == "readthrough":
            checks = ["met" if abs(fpk - 1.0) < 0.005 else "MISSED",
                      "met" if p99 <= delay_ms + 10 else "MISSED",
                      ("met" if p99 <= direct_p99 + 10 else "MISSED")
                      if not math.isnan(direct_p99) else "-"]
        load = f"{fpk / base_fpk:.0f}x" if base_fpk > 0 and mode != "direct" else ""
        lines.append([str(keys), mode, server, f"{fpk:.2f}", f"{p50:.1f}", f"{p99:.1f}",
                      f"{median_of(rs, 'max_ms'):.1f}", f"{ok}/{len(rs)}"] + checks + [load])
    print_table(header, lines, 3)
    print(f"medians over the rounds; origin delay {delay_ms:.0f} ms. direct = the same load sent "
          "straight to the origin (every GET a fetch):")
    print("the origin's latency as the load generator sees it. origin load = fetches per key "
          "relative to read-through.")
    if failed:
        print(f"WARNING: {failed} miss_storm run(s) had errors, wrong values or did not finish "
              "(see the per-run lines above)")


def memory_table(path, ours, theirs):
    rows = {r["server"]: r for r in read_rows(path)}
    header = ["server", "keys", "used_memory B/key", "rss B/key", "used_memory", "rss",
              "load s", "allocator"]
    lines, per_key = [], {}
    for name in (ours, theirs):
        r = rows.get(name)
        if not r:
            continue
        keys = r["keys"]
        used = (r["used_after"] - r["used_before"]) / keys
        rss = (r["rss_after"] - r["rss_before"]) / keys
        per_key[name] = (used, rss)
        lines.append([name, f"{r['dbsize']:,}", f"{used:.1f}", f"{rss:.1f}",
                      f"{r['used_after']:,}", f"{r['rss_after']:,}", f"{r['seconds']:.1f}",
                      str(r.get("allocator", "?"))])
    if ours in per_key and theirs in per_key:
        (ua, ra), (ub, rb) = per_key[ours], per_key[theirs]
        lines.append([f"ratio {ours}/{theirs}", "", f"{ua / ub:.2f}", f"{ra / rb:.2f}",
                      "", "", "", ""])
    print_table(header, lines, 1)
    print("B/key = (after - before loading) / keys; target: used_memory ratio <= 0.70")
    for r in rows.values():
        if r["dbsize"] != r["keys"]:
            print(f"WARNING: {r['server']} holds {r['dbsize']:,} keys, expected {r['keys']:,}")


def memory_types_table(path, ours, theirs):
    groups = {}
    for r in read_rows(path):
        groups.setdefault(r["dataset"], {}).setdefault(r["server"], []).append(r)
    if not groups:
        return
    header = ["dataset", "elements", "keys", f"{ours} B/elem", f"{theirs} B/elem", "ratio",
              f"{ours} B/key", f"{theirs} B/key", f"{ours} enc", f"{theirs} enc", "target"]
    lines = []
    for dataset, by_server in groups.items():
        per_elem, per_key, enc = {}, {}, {}
        for name in (ours, theirs):
            rs = by_server.get(name, [])
            if not rs:
                continue
            used = statistics.median(r["used_after"] - r["used_before"] for r in rs)
            per_elem[name] = used / rs[0]["elements"]
            per_key[name] = used / rs[0]["keys"]
            enc[name] = str(rs[0].get("encoding", "?"))
        if len(per_elem) < 2:
            continue
        ratio = per_elem[ours] / per_elem[theirs]
        r0 = by_server[ours][0]
        lines.append([dataset, f"{r0['elements']:,}", f"{r0['keys']:,}",
                      f"{per_elem[ours]:.1f}", f"{per_elem[theirs]:.1f}", f"{ratio:.2f}",
                      f"{per_key[ours]:.1f}", f"{per_key[theirs]:.1f}", enc[ours], enc[theirs],
                      "met" if ratio <= 0.8 else "MISSED"])
    print()
    print_table(header, lines, 1)
    print("B/elem = median (used_memory after - before loading) / elements (fields, members); "
          "target: ratio <= 0.8 (issue 10)")
    for r in read_rows(path):
        if r["dbsize"] != r["keys"]:
            print(f"WARNING: {r['server']} holds {r['dbsize']:,} keys after {r['dataset']}, "
                  f"expected {r['keys']:,}")


def hitratio_table(path, ours, theirs):
    rows = {r["server"]: r for r in read_rows(path)}
    header = ["server", "mode", "policy", "maxmemory", "requests", "hit ratio", "keys held",
              "used_memory", "evicted", "seconds"]
    lines = []
    names = [ours, theirs] + [n for n in rows if n not in (ours, theirs)]
    for name in names:
        r = rows.get(name)
        if not r:
            continue
        lines.append([name, r["mode"], str(r["policy"]), f"{r['maxmemory']:,}",
                      f"{r.get('requests', 0):,}", f"{100 * r.get('hit_ratio', float('nan')):.2f}%",
                      f"{r['dbsize']:,}", f"{r['used_memory']:,}", f"{r['evicted_keys']:,}",
                      f"{r.get('seconds', float('nan')):.1f}"])
    print_table(header, lines, 3)
    if ours in rows and theirs in rows:
        diff = 100 * (rows[ours].get("hit_ratio", math.nan) - rows[theirs].get("hit_ratio", math.nan))
        verdict = "met" if diff >= 5 else "MISSED"
        print(f"difference {ours} - {theirs}: {diff:+.2f} points (target: >= +5.00, {verdict})")
        for name in names[2:]:
            extra = 100 * (rows[name].get("hit_ratio", math.nan)
                           - rows[theirs].get("hit_ratio", math.nan))
            print(f"  (for reference: {name} - {theirs}: {extra:+.2f} points)")
    for r in rows.values():
        if r.get("rc") != 0:
            print(f"WARNING: hit_ratio against {r['server']} exited {r.get('rc')} "
                  f"(wrong={r.get('wrong', '?')} errors={r.get('errors', '?')})")
        if r["maxmemory"] and r["used_memory"] > 1.05 * r["maxmemory"]:
            print(f"NOTE: {r['server']} used_memory {r['used_memory']:,} is above maxmemory "
                  f"{r['maxmemory']:,} by more than 5%: maxmemory not enforced?")


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)


def info_commands(sock):
    """Sends INFO stats and returns (total_commands_processed, the round trip's midpoint)."""
    before = time.perf_counter()
    sock.sendall(b"*2\r\n$4\r\nINFO\r\n$5\r\nstats\r\n")
    data = b""
    while b"\r\n" not in data:
        data += sock.recv(65536) or sys.exit("bench: connection closed during INFO")
    header, _, body = data.partition(b"\r\n")
    if not header.startswith(b"$"):
        sys.exit(f"bench: INFO replied {header!r}")
    length = int(header[1:])
    while len(body) < length + 2:
        body += sock.recv(65536) or sys.exit("bench: connection closed during INFO")
    after = time.perf_counter()
    for line in body[:length].decode().splitlines():
        if line.startswith("total_commands_processed:"):
            return int(line.split(":", 1)[1]), (before + after) / 2
    sys.exit("bench: INFO stats has no total_commands_processed")


def window(case, test, pipeline, server, round_no, port, pid, seconds):
    clk_tck = os.sysconf("SC_CLK_TCK")
    with socket.create_connection(("127.0.0.1", int(port)), timeout=10) as sock:
        c0, t0 = info_commands(sock)
        ticks0 = cpu_ticks(pid)
        time.sleep(float(seconds))
        c1, t1 = info_commands(sock)
        ticks1 = cpu_ticks(pid)
    commands = c1 - c0 - 1  # less our own INFO
    if commands <= 0:
        sys.exit(f"bench: {server} processed no commands in the window")
    cpu_us = (ticks1 - ticks0) * 1e6 / clk_tck
    print("\t".join([case, test, pipeline, server, round_no, f"{commands / (t1 - t0):.2f}",
                     f"{cpu_us / commands:.3f}"]))


def threads_table(path, redis):
    """Servers are named flightcache/t<N> (N = --threads) and REDIS."""
    runs, order, servers = {}, [], []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) not in (6, 7):
                continue
            _, test, pipeline, server, _, rps = parts[:6]
            key = (test, int(pipeline))
            if key not in runs:
                runs[key] = {}
                order.append(key)
            if server not in servers:
                servers.append(server)
            entry = runs[key].setdefault(server, {"rps": [], "cpu": []})
            entry["rps"].append(float(rps))
            if len(parts) == 7 and parts[6]:
                entry["cpu"].append(float(parts[6]))

    def threads_of(server):
        return int(server.rsplit("/t", 1)[1]) if "/t" in server else None

    # flightcache by --threads, then redis.
    servers.sort(key=lambda s: (threads_of(s) is None, threads_of(s) or 0, s))
    base = next((s for s in servers if threads_of(s) == 1), None)
    header = ["threads", "test", "pipeline", "rps", f"vs {redis}", "vs t1", "spread",
              "cpu us/req", "rounds"]
    lines, medians = [], {}
    for key in sorted(order, key=lambda k: (k[1], k[0])):
        for server in servers:
            entry = runs[key].get(server)
            if not entry:
                continue
            rps = entry["rps"]
            med = statistics.median(rps)
            medians[(key, server)] = med
        for server in servers:
            entry = runs[key].get(server)
            if not entry:
                continue
            med = medians[(key, server)]
            spread = (max(entry["rps"]) - min(entry["rps"])) / med if med > 0 else float("nan")
            vs_redis = medians.get((key, redis))
            vs_t1 = medians.get((key, base)) if base else None
            t = threads_of(server)
            cpu = statistics.median(entry["cpu"]) if entry["cpu"] else float("nan")
            lines.append([str(t) if t is not None else server, key[0], f"-P {key[1]}",
                          f"{med:,.0f}",
                          f"{med / vs_redis:.2f}" if vs_redis else "-",
                          f"{med / vs_t1:.2f}" if vs_t1 and t is not None else "-",
                          f"{100 * spread:.0f}%", f"{cpu:.2f}", str(len(rps))])
    print_table(header, lines, 3)
    print(f"rps = median over the rounds; vs = ratio of medians; spread = (max-min)/median; "
          "cpu us/req = server user+sys CPU")
    print("per request from /proc (a threaded server's is summed over all its threads)")

    # Issue 5 targets: --threads 2 no slower than --threads 1 (2-core machine); GET and SET at
    # -P 16 with 8 workers at least 4x redis-server (16-core machine).
    for key in sorted(order, key=lambda k: (k[1], k[0])):
        t1 = medians.get((key, base)) if base else None
        t2 = next((m for (k, s), m in medians.items() if k == key and threads_of(s) == 2), None)
        if t1 and t2:
            verdict = "met" if t2 >= t1 else "MISSED"
            print(f"target {key[0]} -P {key[1]}: --threads 2 >= --threads 1: "
                  f"{t2 / t1:.2f}x, {verdict}")
    for key in sorted(order, key=lambda k: (k[1], k[0])):
        r = medians.get((key, redis))
        t8 = next((m for (k, s), m in medians.items() if k == key and threads_of(s) == 8), None)
        if key[1] == 16 and key[0] in ("GET", "SET") and r and t8:
            verdict = "met" if t8 >= 4 * r else "MISSED"
            print(f"target {key[0]} -P 16: --threads 8 >= 4x {redis}: {t8 / r:.2f}x, {verdict}")


def main(argv):
    if len(argv) >= 1 and argv[0] == "free-port":
        print(" ".join(str(p) for p in free_ports(int(argv[1]) if len(argv) > 1 else 1)))
    elif len(argv) in (5, 7) and argv[0] == "parse-csv":
        parse_csv(*argv[1:])
    elif len(argv) == 4 and argv[0] == "table":
        table(*argv[1:])
    elif len(argv) == 4 and argv[0] == "suite-table":
        suite_table(*argv[1:])
    elif len(argv) >= 1 and argv[0] == "row":
        row(argv[1:])
    elif len(argv) == 4 and argv[0] == "resp-sets":
        resp_sets(int(argv[1]), argv[2], argv[3])
    elif len(argv) >= 5 and argv[0] == "resp-batched":
        resp_batched(int(argv[1]), int(argv[2]), argv[3:])
    elif len(argv) == 3 and argv[0] == "storm-table":
        storm_table(*argv[1:])
    elif len(argv) == 4 and argv[0] == "memory-table":
        memory_table(*argv[1:])
    elif len(argv) == 4 and argv[0] == "memory-types-table":
        memory_types_table(*argv[1:])
    elif len(argv) == 9 and argv[0] == "window":
        window(*argv[1:])
    elif len(argv) == 3 and argv[0] == "threads-table":
        threads_table(*argv[1:])
    elif len(argv) == 4 and argv[0] == "hitratio-table":
        hitratio_table(*argv[1:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
