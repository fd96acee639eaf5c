#!/usr/bin/env python3
"""CPU per call of each thread group of a JVM, from /proc (user and system time), between two snapshots.

    python3 bench/threads.py PID save SNAPSHOT.json        # before a run
    python3 bench/threads.py PID diff SNAPSHOT.json CALLS  # after it: ms of CPU per call, by thread name

Thread names are grouped with their trailing numbers removed ("attest-upstream-io-1-2" and "-1-3" together).
Used in docs/benchmarks.md to split the gateway's CPU per call at one connection (route threads, Netty I/O, the
upstream client, the evidence writer, the JIT) with the stack of bench/run.sh (its JVM is attest.stack.BenchStack).
"""
import collections
import json
import os
import re
import sys


def snapshot(pid):
    groups = collections.defaultdict(lambda: [0, 0])
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = open(f"/proc/{pid}/task/{tid}/stat").read()
            name = open(f"/proc/{pid}/task/{tid}/comm").read().strip()
        except OSError:
            continue  # the thread ended meanwhile
        fields = stat[stat.rindex(")") + 2:].split()  # the name in (...) may hold spaces
        name = re.sub(r"[-#0-9 ]+$", "", name)
        groups[name][0] += int(fields[11])  # utime, clock ticks
        groups[name][1] += int(fields[12])  # stime
    return groups


def main():
    pid, mode, path = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "save":
        json.dump(snapshot(pid), open(path, "w"))
        return
    before, after, calls = json.load(open(path)), snapshot(pid), int(sys.argv[4])
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    rows = []
    for name, (user, system) in after.items():
        u = user - before.get(name, [0, 0])[0]
        s = system - before.get(name, [0, 0])[1]
        if u + s > 0:
            rows.append((u + s, u, s, name))
    total = sum(r[0] for r in rows)
    print(f"CPU per call over {calls} calls: {total * tick_ms / calls:.3f} ms")
    for both, user, system, name in sorted(rows, reverse=True)[:15]:
        print(f"{both * tick_ms / calls:8.3f} ms (user {user * tick_ms / calls:.3f}, system {system * tick_ms / calls:.3f})"
              f"  {name}")


if __name__ == "__main__":
    main()
