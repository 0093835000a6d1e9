#!/usr/bin/env python3
"""bench_lib.py: helpers for scripts/bench. Standard library only.

  free-port [COUNT]           prints COUNT ports on 127.0.0.1 that are free right now
  parse-csv CASE SERVER PIPELINE ROUND
                              reads `redis-benchmark --csv` output on stdin and prints one
                              results row per test: case, test, pipeline, server, round, rps
                              (tab-separated); fails if a test ran at 0 rps or nothing parsed
  table RESULTS.tsv A B       prints, per case, test and pipeline, the median rps of servers A
                              and B over all rounds, and the ratio A/B
"""
import csv
import socket
import statistics
import sys


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
    # "MSET (10 keys)" -> "MSET"; keeps the other names as redis-benchmark prints them.
    return name.split(" (")[0].strip()


def parse_csv(case, server, pipeline, round_no):
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
        print("\t".join([case, normalize_test(record[0]), pipeline, server, round_no, f"{rps:.2f}"]))
        rows += 1
    if rows == 0:
        sys.exit(f"bench: {server}: no results parsed from redis-benchmark output")


def table(path, ours, theirs):
    runs = {}  # (case, test, pipeline) -> {server: [rps]}
    order = []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 6:
                continue
            case, test, pipeline, server, _, rps = parts
            key = (case, test, pipeline)
            if key not in runs:
                runs[key] = {}
                order.append(key)
            runs[key].setdefault(server, []).append(float(rps))

    header = ["case", "test", "pipeline", f"{ours} rps", f"{theirs} rps", "ratio", "spread"]
    lines = []
    for key in order:
        a = runs[key].get(ours, [])
        b = runs[key].get(theirs, [])
        med_a = statistics.median(a) if a else float("nan")
        med_b = statistics.median(b) if b else float("nan")
        ratio = med_a / med_b if a and b and med_b > 0 else float("nan")
        # spread: the largest (max - min) / median of either server, a hint of the noise.
        spreads = [(max(v) - min(v)) / statistics.median(v) for v in (a, b) if v]
        spread = f"{100 * max(spreads):.0f}%" if spreads else "-"
        lines.append([key[0], key[1], f"-P {key[2]}", f"{med_a:,.0f}", f"{med_b:,.0f}",
                      f"{ratio:.2f}", spread])

    widths = [max(len(r[i]) for r in [header] + lines) for i in range(len(header))]
    def fmt(row):
        return "  ".join(c.ljust(w) if i < 3 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(row, widths)))
    print(fmt(header))
    print("  ".join("-" * w for w in widths))
    for row in lines:
        print(fmt(row))


def main(argv):
    if len(argv) >= 1 and argv[0] == "free-port":
        print(" ".join(str(p) for p in free_ports(int(argv[1]) if len(argv) > 1 else 1)))
    elif len(argv) == 5 and argv[0] == "parse-csv":
        parse_csv(*argv[1:])
    elif len(argv) == 4 and argv[0] == "table":
        table(*argv[1:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
