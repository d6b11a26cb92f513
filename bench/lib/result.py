#!/usr/bin/env python3
"""Builds one scenario's result JSON from what its run left in the work dir:

    meta.json       command, machine, server, loadgen process count
    snaps.jsonl     server snapshots (bench/lib/procstat.py), by name
    client.N.json   each loadgen subscriber process's summary
    pub.json        the publisher's summary (broadcast, topics)
    storm.json      storm only: the kill (edge pid, its connections)

    result.py --scenario S --target T --stamp STAMP --work DIR --out FILE [key=value ...]

Every figure is computed here from those measurements, with the formula next
to it; nothing is rounded until the tables are drawn (bench/lib/tables.py).
Latency histograms of several processes are merged bucket by bucket (the
loadgen's buckets are the same in every process), and percentiles are read
from the merged histogram exactly as the loadgen does (rc_hist_quantile).
"""
import argparse
import glob
import json
import math
import os
import sys

SUB_BITS = 7
HIST_BUCKETS = (37 - SUB_BITS + 1) << SUB_BITS
TOP_LOW = None  # lowest value of the top bucket, computed below


def bucket_low(i):
    if i < 2 << SUB_BITS:
        return i
    e = (i >> SUB_BITS) - 1
    return (i - e * (1 << SUB_BITS)) << e


TOP_LOW = bucket_low(HIST_BUCKETS - 1)


def bucket_width(low):
    if low < 2 << SUB_BITS:
        return 1
    return 1 << (low.bit_length() - 1 - SUB_BITS)


def merge_hist(parts):
    """parts: list of (buckets [[low, count], ...], min_ns, max_ns)."""
    counts = {}
    lo, hi = None, 0
    for buckets, mn, mx in parts:
        if not buckets:
            continue
        for low, c in buckets:
            counts[low] = counts.get(low, 0) + c
        lo = mn if lo is None else min(lo, mn)
        hi = max(hi, mx)
    return sorted(counts.items()), (lo or 0), hi


def quantile(buckets, mn, mx, q):
    total = sum(c for _, c in buckets)
    if total == 0:
        return 0
    rank = max(1, math.ceil(q * total))
    seen = 0
    for low, c in buckets:
        seen += c
        if seen >= rank:
            if low >= TOP_LOW:
                return mx
            v = min(low + bucket_width(low) - 1, mx)
            return max(v, mn)
    return mx


def load(path):
    with open(path) as f:
        return json.load(f)


def merge_clients(clients):
    """Sums and merges the loadgen subscriber summaries of all processes."""
    m = {"processes": len(clients)}
    for k in ("attempted", "established", "failed", "failed_connect", "failed_handshake", "failed_timeout",
              "open_at_end", "reconnects"):
        m[k] = sum(c["connections"][k] for c in clients)
    # The processes connect in parallel, each at its share of the rate: the
    # sum of their rates is the rate the server saw.
    m["connect_rate_per_s"] = sum(c["connections"]["connect_rate_per_s"] for c in clients)
    m["ready_ms_max"] = max(c["connections"]["ready_ms"]["max"] for c in clients)
    m["ready_ms_p99_worst_process"] = max(c["connections"]["ready_ms"]["p99"] for c in clients)
    for k in ("ok", "failed", "timeouts", "joined_at_end"):
        m["joins_" + k] = sum(c["joins"][k] for c in clients)
    for k in ("frames_received", "events_received", "bytes_received", "other_messages", "pings", "missing",
              "duplicated", "out_of_order", "late_beyond_window", "connections_with_loss", "channel_errors",
              "channel_closes", "protocol_errors", "closes_by_us"):
        m[k] = sum(c.get(k, 0) for c in clients)
    for k in ("sent", "replies", "unanswered"):
        m["heartbeats_" + k] = sum(c["heartbeats"][k] for c in clients)
    closes = {}
    for c in clients:
        for code, n in c["closes_by_code"].items():
            closes[code] = closes.get(code, 0) + n
    m["closes_by_code"] = closes
    buckets, mn, mx = merge_hist([(c["latency_hist_ns"], c["latency_us"]["min"] * 1e3, c["latency_us"]["max"] * 1e3)
                                  for c in clients])
    lat_sum = sum(c["latency_us"]["mean"] * c["latency_us"]["count"] for c in clients)
    count = sum(c["latency_us"]["count"] for c in clients)
    m["latency_ms"] = {"count": count, "min": mn / 1e6, "max": mx / 1e6,
                       "mean": lat_sum / count / 1e3 if count else 0}
    for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p999", 0.999)):
        m["latency_ms"][name] = quantile(buckets, mn, mx, q) / 1e6
    rj = [c["rejoin_ms"] for c in clients]
    m["rejoin_ms"] = {"count": sum(r["count"] for r in rj), "max": max(r["max"] for r in rj)}
    for name in ("p50", "p90", "p99", "p999"):
        m["rejoin_ms"][name + "_worst_process"] = max(r[name] for r in rj)
    width = max(len(c["timeline_per_s"]["ready"]) for c in clients)
    for key in ("ready", "lost"):
        tl = [0] * width
        for c in clients:
            for i, v in enumerate(c["timeline_per_s"][key]):
                tl[i] += v
        m["timeline_" + key + "_per_s"] = tl
    m["first_error"] = next((c["first_error"] for c in clients if c["first_error"]), "")
    return m, buckets


def per_process(c):
    keep = {k: v for k, v in c.items() if k not in ("latency_hist_ns", "timeline_per_s")}
    return keep


def parse_params(pairs):
    out = {}
    for p in pairs:
        k, _, v = p.partition("=")
        try:
            out[k] = int(v)
        except ValueError:
            try:
                out[k] = float(v)
            except ValueError:
                out[k] = v
    return out


def delta(snaps, a, b, key):
    return snaps[b][key] - snaps[a][key]


def figures_idle(p, snaps, m):
    ready = m["joins_joined_at_end"] if m["joins_ok"] else m["open_at_end"]
    f = {"connections": p["connections"], "ready": ready, "connect_rate_per_s": m["connect_rate_per_s"],
         "failed": m["failed"]}
    if ready:
        # (after - before) / N, user space of all server processes.
        f["rss_bytes_per_conn"] = delta(snaps, "before", "after", "rss_kb") * 1024 / ready
        f["pss_bytes_per_conn"] = delta(snaps, "before", "after", "pss_kb") * 1024 / ready
        ps = snaps["after"]["page_size"]
        st_b, st_a = snaps["before"]["sockstat"], snaps["after"]["sockstat"]
        if "tcp_mem" in st_a and "tcp_mem" in st_b:
            # /proc/net/sockstat "TCP mem" pages: every TCP socket of the
            # machine, so both ends of each loopback connection.
            f["kernel_tcp_mem_bytes_per_conn_both_ends"] = (st_a["tcp_mem"] - st_b["tcp_mem"]) * ps / ready
            f["tcp_sockets_delta"] = st_a.get("tcp_inuse", 0) - st_b.get("tcp_inuse", 0)
        mb, ma = snaps["before"]["meminfo"], snaps["after"]["meminfo"]
        if "slab_kb" in ma and "slab_kb" in mb:
            f["kernel_slab_bytes_per_conn_machine"] = (ma["slab_kb"] - mb["slab_kb"]) * 1024 / ready
    f["server_rss_kb_before"] = snaps["before"]["rss_kb"]
    f["server_rss_kb_after"] = snaps["after"]["rss_kb"]
    f["server_pss_kb_before"] = snaps["before"]["pss_kb"]
    f["server_pss_kb_after"] = snaps["after"]["pss_kb"]
    if "idle_end" in snaps:
        secs = snaps["idle_end"]["mono_s"] - snaps["after"]["mono_s"]
        cpu = delta(snaps, "after", "idle_end", "ticks") / snaps["after"]["clk_tck"]
        f["idle_window_s"] = secs
        f["idle_cpu_s"] = cpu
        f["idle_cpu_percent"] = 100 * cpu / secs if secs > 0 else None
        f["heartbeats_answered"] = m["heartbeats_replies"]
    return f


def figures_fanout(p, snaps, m, pub, n_conns, topics):
    f = {"connections": n_conns, "topics": topics, "ready": m["joins_joined_at_end"] or m["open_at_end"],
         "rate_target": pub["rate_target"], "published": pub["ok"], "publish_failed": pub["failed"],
         "publish_rate_achieved": pub["rate_achieved"], "publish_duration_s": pub["duration_s"],
         "publish_late_max": pub["late_max"], "publish_response_ms_p99": pub["response_us"]["p99"] / 1e3,
         "publish_response_ms_p50": pub["response_us"]["p50"] / 1e3}
    per_topic = pub["per_topic"]
    # Each connection i subscribed to topic i % T and should get every event
    # of it (the publisher started after all were ready).
    expected = sum(per_topic.get("bench:%d" % (i % topics), 0) for i in range(n_conns))
    f["expected_frames"] = expected
    f["delivered_frames"] = m["events_received"]
    f["delivered_per_s"] = m["events_received"] / pub["duration_s"] if pub["duration_s"] else 0
    f["bytes_per_frame"] = m["bytes_received"] / m["frames_received"] if m["frames_received"] else 0
    for k in ("missing", "duplicated", "out_of_order", "late_beyond_window", "connections_with_loss"):
        f[k] = m[k]
    f["latency_ms"] = m["latency_ms"]
    window = snaps["pub_end"]["mono_s"] - snaps["pub_start"]["mono_s"]
    cpu = delta(snaps, "pub_start", "pub_end", "ticks") / snaps["pub_start"]["clk_tck"]
    f["window_s"] = window
    f["server_cpu_s"] = cpu
    f["server_cpu_percent"] = 100 * cpu / window if window > 0 else None
    # Server CPU-seconds (utime + stime of every server process over the
    # window from just before the publisher started until delivery stopped)
    # per million frames delivered.
    f["cpu_s_per_million_frames"] = cpu / (m["events_received"] / 1e6) if m["events_received"] else None
    ccpu = delta(snaps, "pub_start", "pub_end", "client_ticks") / snaps["pub_start"]["clk_tck"]
    # The subscribers' loadgen processes over the same window: near 100 % per
    # process means the client, not the server, set the pace.
    f["client_cpu_percent"] = 100 * ccpu / window if window > 0 else None
    f["server_rss_kb"] = snaps["pub_end"]["rss_kb"]
    return f


def figures_storm(p, snaps, m, storm, clients):
    ready_end = m["joins_joined_at_end"] if m["joins_ok"] else m["open_at_end"]  # raw mode has no joins
    f = {"connections": p["connections"], "killed_pid": storm.get("killed_pid"),
         "killed_edge_connections": storm.get("killed_edge_connections"),
         "lost": sum(m["timeline_lost_per_s"]), "rejoined": m["rejoin_ms"]["count"],
         "ready_at_end": ready_end, "reconnect_attempts": m["reconnects"],
         "failed_attempts": m["failed"], "closes_by_code": m["closes_by_code"]}
    # The last connection back: its time from loss to joined again (every
    # loss happens at the kill, within milliseconds).
    f["recovery_ms"] = m["rejoin_ms"]["max"]
    f["rejoin_ms"] = m["rejoin_ms"]
    f["all_rejoined"] = f["rejoined"] >= f["lost"] and ready_end >= p["connections"]
    # Per-second timeline from the kill on (index 0 = the second the kill fell in).
    k = storm.get("kill_offset_s")
    if k is not None:
        i0 = int(k)
        f["kill_offset_s"] = k
        f["after_kill_ready_per_s"] = m["timeline_ready_per_s"][i0:i0 + 12]
        f["after_kill_lost_per_s"] = m["timeline_lost_per_s"][i0:i0 + 12]
    if "recovered_poll_s" in storm:
        f["recovered_seen_by_poll_s"] = storm["recovered_poll_s"]
    return f


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--stamp", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("params", nargs="*")
    a = ap.parse_args()
    meta = load(os.path.join(a.work, "meta.json"))
    snaps = {}
    with open(os.path.join(a.work, "snaps.jsonl")) as f:
        for line in f:
            s = json.loads(line)
            snaps[s["name"]] = s
    paths = sorted(glob.glob(os.path.join(a.work, "client.*.json")), key=lambda x: int(x.split(".")[-2]))
    clients = [load(x) for x in paths]
    if not clients:
        sys.exit("result.py: no loadgen JSON in " + a.work)
    p = parse_params(a.params)
    merged, buckets = merge_clients(clients)
    pub = load(os.path.join(a.work, "pub.json")) if os.path.exists(os.path.join(a.work, "pub.json")) else None
    if a.scenario == "idle":
        figs = figures_idle(p, snaps, merged)
    elif a.scenario in ("broadcast", "topics"):
        figs = figures_fanout(p, snaps, merged, pub, p["connections"], p.get("topics", 1))
    elif a.scenario == "storm":
        figs = figures_storm(p, snaps, merged, load(os.path.join(a.work, "storm.json")), clients)
    else:
        sys.exit("result.py: unknown scenario " + a.scenario)
    s = a.stamp
    first = min(snaps.values(), key=lambda x: x["mono_s"])
    last = max(snaps.values(), key=lambda x: x["mono_s"])
    out = {
        "tool": "ringcast-bench",
        "format": 1,
        "scenario": a.scenario,
        "target": a.target,
        "stamp": s,
        "date": f"{s[0:4]}-{s[4:6]}-{s[6:8]}T{s[9:11]}:{s[11:13]}:{s[13:15]}Z",
        "command": meta["command"],
        "machine": meta["machine"],
        "server": meta["server"],
        "params": p,
        "loadavg_before": first["loadavg"],
        "cpu_busy_before_percent": meta.get("cpu_busy_before_percent"),
        "loadavg_after": last["loadavg"],
        "figures": figs,
        "clients": {"processes": len(clients), "src_ips": meta["src_ips"], "merged": merged,
                    "per_process": [per_process(c) for c in clients]},
        "publisher": pub,
        "latency_hist_ns": [[low, c] for low, c in buckets],
        "snapshots": [snaps[k] for k in sorted(snaps, key=lambda k: snaps[k]["mono_s"])],
        "work_dir": os.path.relpath(a.work, os.path.dirname(os.path.dirname(os.path.abspath(a.out)))),
    }
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
