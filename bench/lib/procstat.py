#!/usr/bin/env python3
"""One snapshot of what the benchmark scenarios measure on the server side,
printed as one JSON line:

    procstat.py NAME PID [PID ...] [-- CLIENT_PID ...]

- per process: comm, Rss and Pss (kB, /proc/PID/smaps_rollup), utime + stime
  (clock ticks, /proc/PID/stat: all threads of the process);
- totals over the given processes (a process that is gone counts as 0 and is
  listed under "gone");
- the loadgen processes after "--": their summed utime + stime only
  ("client_ticks"), to see whether the client was the bottleneck;
- the machine: /proc/loadavg, /proc/net/sockstat (TCP inuse and mem pages),
  Slab and SUnreclaim of /proc/meminfo, CLOCK_MONOTONIC and wall clock.

Reads only; never signals anything.
"""
import json
import os
import sys
import time


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def proc(pid):
    stat = read(f"/proc/{pid}/stat")
    roll = read(f"/proc/{pid}/smaps_rollup")
    if stat is None or roll is None:
        return None
    # comm may hold spaces and parentheses: fields start after the last ')'.
    comm = stat[stat.index("(") + 1 : stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    mem = {}
    for line in roll.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("Rss:", "Pss:"):
            mem[parts[0][:-1].lower() + "_kb"] = int(parts[1])
    return {"pid": pid, "comm": comm, "ticks": ticks, **mem}


def sockstat():
    out = {}
    text = read("/proc/net/sockstat") or ""
    for line in text.splitlines():
        if line.startswith("TCP:"):
            kv = line.split()[1:]
            for k, v in zip(kv[::2], kv[1::2]):
                out["tcp_" + k] = int(v)
    return out


def meminfo():
    out = {}
    for line in (read("/proc/meminfo") or "").splitlines():
        k, _, rest = line.partition(":")
        if k in ("Slab", "SUnreclaim", "MemAvailable"):
            out[k.lower() + "_kb"] = int(rest.split()[0])
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: procstat.py NAME PID [PID ...]")
    name, args = sys.argv[1], sys.argv[2:]
    cut = args.index("--") if "--" in args else len(args)
    pids = [int(p) for p in args[:cut]]
    client_pids = [int(p) for p in args[cut + 1:]]
    procs, gone = [], []
    for pid in pids:
        p = proc(pid)
        (procs.append(p) if p else gone.append(pid))
    snap = {
        "name": name,
        "mono_s": time.monotonic(),
        "wall_s": time.time(),
        "loadavg": (read("/proc/loadavg") or "").strip(),
        "clk_tck": os.sysconf("SC_CLK_TCK"),
        "page_size": os.sysconf("SC_PAGE_SIZE"),
        "processes": procs,
        "gone": gone,
        "rss_kb": sum(p.get("rss_kb", 0) for p in procs),
        "pss_kb": sum(p.get("pss_kb", 0) for p in procs),
        "ticks": sum(p["ticks"] for p in procs),
        "client_ticks": sum(c["ticks"] for c in map(proc, client_pids) if c),
        "sockstat": sockstat(),
        "meminfo": meminfo(),
    }
    print(json.dumps(snap, sort_keys=True))


if __name__ == "__main__":
    main()
