#!/usr/bin/env python3
"""Hostile clients and connect spikes: the result JSON of
bench/scenarios/hostile.sh and bench/scenarios/spike.sh, and the section of
bench/RESULTS.md drawn from the newest of each. No figure is typed by hand.

  hostile.py result --scenario hostile|spike --target T --stamp STAMP --work DIR --out FILE
                    --phases P1,P2 [key=value ...]
      builds bench/results/<scenario>-<target>-<stamp>.json from the phase
      directories DIR/<phase>/ (what the scenario left there: snaps.jsonl
      from bench/lib/procstat.py, metrics.<point>.txt from the broker's
      /metrics, hwm.<point>.txt with each edge's VmHWM, client.N.json and
      pub.json from the loadgen, attack.<kind>.json / spike.N.json and
      their logs, status.pub_end.json, phase.json) and DIR/meta.json.

  hostile.py [--results DIR] [--md FILE] [--note TEXT ...]
      writes the section between <!-- hostile:begin --> and
      <!-- hostile:end --> of bench/RESULTS.md (appended at the end when
      the markers are absent) from the newest hostile-* and spike-* result.

Subscriber latency percentiles come from the merged histogram of every
loadgen process (bench/lib/result.py, as for the other scenarios). Edge
CPU-seconds are utime + stime of the processes named "edge" between two
snapshots (a pid missing at the start counts from 0; one gone at the end is
listed, its time is lost); RSS is smaps_rollup at a snapshot, peak RSS is
VmHWM; edge counters are summed over the edges from /metrics, as the
difference between two points ("window") or the value at the end
("since start": the cluster is fresh for each phase).
"""
import argparse
import glob
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from result import merge_clients, parse_params  # noqa: E402

BEGIN, END = "<!-- hostile:begin -->", "<!-- hostile:end -->"
COUNTERS = ("refused_total", "refused_rate_total", "refused_ip_total", "handshake_timeouts_total",
            "kicks_rate_total", "kicks_memory_total", "kicks_slow_total", "kicks_lapped_total",
            "lapped_total", "lost_total", "joins_total", "proxy_refused_total")
GAUGES = ("connections", "memory_bytes", "lag")


# ---- reading a phase directory ----------------------------------------------

def load(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def load_snaps(path):
    snaps = {}
    try:
        with open(path) as f:
            for line in f:
                if line.strip():
                    s = json.loads(line)
                    snaps[s["name"]] = s
    except OSError:
        pass
    return snaps


def parse_metrics(path):
    """Per-edge series of the broker's /metrics: {name: {edge: value}}; None if absent."""
    try:
        text = open(path).read()
    except OSError:
        return None
    out = {}
    for line in text.splitlines():
        m = re.match(r'^ringcast_edge_([a-z_]+)\{edge="(\d+)"\} (\d+)$', line)
        if m:
            out.setdefault(m.group(1), {})[m.group(2)] = int(m.group(3))
    return out


def metrics_sum(m, name):
    return sum(m.get(name, {}).values()) if m is not None else None


def metrics_delta(a, b, name):
    """Counter over [a, b], per edge (an edge new in b counts from 0)."""
    if a is None or b is None:
        return None
    ea, eb = a.get(name, {}), b.get(name, {})
    return sum(v - ea.get(e, 0) for e, v in eb.items())


def counters(points, a, b):
    ma, mb = points.get(a), points.get(b)
    return {"window": {k: metrics_delta(ma, mb, k) for k in COUNTERS},
            "since_start": {k: metrics_sum(mb, k) for k in COUNTERS},
            "gauges_at_end": {k: metrics_sum(mb, k) for k in GAUGES}}


def read_hwm(path):
    out = {}
    try:
        for line in open(path):
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                out[int(parts[0])] = int(parts[1])
    except OSError:
        pass
    return out


def procs_of(snap, comm):
    return {p["pid"]: p for p in snap.get("processes", []) if p.get("comm") == comm}


def proc_window(snaps, a, b, comm):
    """CPU and memory of the processes named comm between snapshots a and b."""
    if a not in snaps or b not in snaps:
        return None
    sa, sb = snaps[a], snaps[b]
    pa, pb = procs_of(sa, comm), procs_of(sb, comm)
    ticks = sum(p["ticks"] - pa.get(pid, {"ticks": 0})["ticks"] for pid, p in pb.items())
    secs = sb["mono_s"] - sa["mono_s"]
    cpu = ticks / sb["clk_tck"]
    return {"processes_start": len(pa), "processes_end": len(pb), "window_s": secs, "cpu_s": cpu,
            "cpu_percent": 100 * cpu / secs if secs > 0 else None,
            "rss_kb_start": sum(p.get("rss_kb", 0) for p in pa.values()),
            "rss_kb_end": sum(p.get("rss_kb", 0) for p in pb.values()),
            "pss_kb_end": sum(p.get("pss_kb", 0) for p in pb.values()),
            "gone": sorted(set(pa) - set(pb)), "new": sorted(set(pb) - set(pa))}


def client_cpu(snaps, a, b):
    if a not in snaps or b not in snaps:
        return None
    secs = snaps[b]["mono_s"] - snaps[a]["mono_s"]
    cpu = (snaps[b]["client_ticks"] - snaps[a]["client_ticks"]) / snaps[b]["clk_tck"]
    return 100 * cpu / secs if secs > 0 else None


def subscribers(clients, pub, n, topic="bench:0"):
    """The measured subscribers of one topic: latency, losses, disconnects."""
    if not clients:
        return None
    m, _ = merge_clients(clients)
    lat = m["latency_ms"]
    per = (pub or {}).get("per_topic", {}).get(topic, 0)
    return {"connections": n, "joined_at_end": m["joins_joined_at_end"], "joins_ok": m["joins_ok"],
            "latency_ms": {k: lat[k] for k in ("count", "min", "p50", "p90", "p99", "p999", "max", "mean")},
            "expected_events": per * n, "events_received": m["events_received"],
            "missing": m["missing"], "duplicated": m["duplicated"], "out_of_order": m["out_of_order"],
            "connections_with_loss": m["connections_with_loss"],
            # every session the server (or the network) ended: close frames and 1006
            "disconnects": sum(m["timeline_lost_per_s"]), "closes_by_code": m["closes_by_code"],
            "failed_attempts": m["failed"], "failed_handshake": m["failed_handshake"],
            "reconnects": m["reconnects"], "heartbeats_unanswered": m["heartbeats_unanswered"],
            "first_error": m["first_error"], "processes": m["processes"]}, m


def publisher(pub):
    if not pub:
        return None
    return {"published": pub["ok"], "failed": pub["failed"], "rate_target": pub["rate_target"],
            "rate_achieved": pub["rate_achieved"], "duration_s": pub["duration_s"],
            "response_ms_p50": pub["response_us"]["p50"] / 1e3, "response_ms_p99": pub["response_us"]["p99"] / 1e3}


def restarts(status):
    if not status:
        return None
    return {p["name"]: {"restarts": p.get("restarts"), "state": p.get("state"), "last_exit": p.get("last_exit")}
            for p in status.get("processes", [])}


def attackers(d, asnaps):
    out = {}
    for path in sorted(glob.glob(os.path.join(d, "attack.*.json"))):
        a = load(path)
        if not a:
            continue
        kind = a["mode"]
        out[kind] = {k: a.get(k) for k in ("params", "connections", "held_ms", "bytes_sent", "bytes_received",
                                           "http_responses", "first_response", "upgrades", "upgrade_refused",
                                           "joins", "closes_by_code", "open_per_s", "protocol_errors",
                                           "first_error", "duration_s")}
    # Their CPU over the publisher's window (one procstat line per point,
    # every attacker pid as a "server" process).
    if "pub_start" in asnaps and "pub_end" in asnaps:
        a, b = asnaps["pub_start"], asnaps["pub_end"]
        secs = b["mono_s"] - a["mono_s"]
        cpu = (b["ticks"] - a["ticks"]) / b["clk_tck"]
        out["cpu_percent_in_window"] = 100 * cpu / secs if secs > 0 else None
    return out


def all_ready(logs):
    """From the spike processes' `loadgen all-ready` lines: seconds from the
    first process's start to the last one's all-joined, or None."""
    starts, readies = [], []
    for path in logs:
        try:
            text = open(path).read()
        except OSError:
            return None
        m = re.search(r"^loadgen all-ready connections=\d+ after_s=[\d.]+ start_wall_s=([\d.]+) "
                      r"ready_wall_s=([\d.]+)$", text, re.M)
        if not m:
            return None
        starts.append(float(m.group(1)))
        readies.append(float(m.group(2)))
    return max(readies) - min(starts) if starts else None


def phase_hostile(d, p):
    snaps = load_snaps(os.path.join(d, "snaps.jsonl"))
    points = {k: parse_metrics(os.path.join(d, f"metrics.{k}.txt")) for k in ("before", "pub_start", "pub_end")}
    clients = [load(x) for x in sorted(glob.glob(os.path.join(d, "client.*.json")),
                                       key=lambda x: int(x.split(".")[-2]))]
    clients = [c for c in clients if c]
    pub = load(os.path.join(d, "pub.json"))
    sub, merged = subscribers(clients, pub, p["connections"]) or (None, None)
    hwm = read_hwm(os.path.join(d, "hwm.pub_end.txt"))
    fig = {"subscribers": sub, "publisher": publisher(pub),
           "edge": proc_window(snaps, "pub_start", "pub_end", "edge"),
           "broker": proc_window(snaps, "pub_start", "pub_end", "broker"),
           "edge_peak_rss_kb": sum(hwm.values()) if hwm else None,
           "edge_rss_kb_before_clients": (proc_window(snaps, "before", "pub_start", "edge") or {}).get("rss_kb_start"),
           "subscriber_loadgen_cpu_percent": client_cpu(snaps, "pub_start", "pub_end"),
           "edge_counters": counters(points, "pub_start", "pub_end"),
           "attack": attackers(d, load_snaps(os.path.join(d, "attack_snaps.jsonl"))),
           "processes": restarts(load(os.path.join(d, "status.pub_end.json"))),
           "phase": load(os.path.join(d, "phase.json"), {})}
    return fig, snaps, merged


def phase_spike(d, p):
    snaps = load_snaps(os.path.join(d, "snaps.jsonl"))
    names = ("before", "spike_start", "spike_ready", "pub_end")
    points = {k: parse_metrics(os.path.join(d, f"metrics.{k}.txt")) for k in names}
    existing = [load(x) for x in sorted(glob.glob(os.path.join(d, "client.*.json")))]
    existing = [c for c in existing if c]
    slogs = sorted(glob.glob(os.path.join(d, "spike.*.log")), key=lambda x: int(x.split(".")[-2]))
    spikes = [load(x) for x in sorted(glob.glob(os.path.join(d, "spike.*.json")), key=lambda x: int(x.split(".")[-2]))]
    spikes = [c for c in spikes if c]
    pub = load(os.path.join(d, "pub.json"))
    ex, merged = subscribers(existing, pub, p["existing"]) or (None, None)
    spike = None
    if spikes:
        m, _ = merge_clients(spikes)
        t = all_ready(slogs)
        spike = {"clients": p["connections"], "processes": len(spikes), "attempted": m["attempted"],
                 "established": m["established"], "failed_handshake": m["failed_handshake"],
                 "failed_connect": m["failed_connect"], "failed_timeout": m["failed_timeout"],
                 "retries": m["reconnects"], "joins_ok": m["joins_ok"], "joined_at_end": m["joins_joined_at_end"],
                 "all_joined": t is not None, "all_joined_after_s": t,
                 "ready_per_s": m["timeline_ready_per_s"], "first_error": m["first_error"],
                 "disconnects_after_join": sum(m["timeline_lost_per_s"]), "closes_by_code": m["closes_by_code"]}
    edges_at_spike = len(procs_of(snaps.get("spike_start", {}), "edge"))
    hwm = read_hwm(os.path.join(d, "hwm.pub_end.txt"))
    fig = {"edges_during_spike": edges_at_spike,
           "accept_capacity_per_s": edges_at_spike * p["accept_rate"],
           "offered_connects_per_s": p["connections"] / p["spike_seconds"],
           "spike": spike, "existing": ex, "publisher": publisher(pub),
           "edge_spike": proc_window(snaps, "spike_start", "spike_ready", "edge"),
           "edge_run": proc_window(snaps, "before", "pub_end", "edge"),
           "edge_peak_rss_kb": sum(hwm.values()) if hwm else None,
           "edge_counters_spike": counters(points, "spike_start", "pub_end"),
           "edge_counters_before_spike": counters(points, "before", "spike_start")["window"],
           "processes": restarts(load(os.path.join(d, "status.pub_end.json"))),
           "phase": load(os.path.join(d, "phase.json"), {})}
    if spike is not None:
        fig["refused_503"] = fig["edge_counters_spike"]["window"]["refused_rate_total"]
    return fig, snaps, merged


def cmd_result(a):
    meta = load(os.path.join(a.work, "meta.json"))
    if not meta:
        sys.exit("hostile.py: no meta.json in " + a.work)
    p = parse_params(a.params)
    figs, phases, first, last = {}, {}, None, None
    for name in a.phases.split(","):
        d = os.path.join(a.work, name)
        fig, snaps, merged = (phase_hostile if a.scenario == "hostile" else phase_spike)(d, p)
        figs[name] = fig
        phases[name] = {"snapshots": [snaps[k] for k in sorted(snaps, key=lambda k: snaps[k]["mono_s"])],
                        "clients_merged": merged}
        if snaps:
            s0 = min(snaps.values(), key=lambda x: x["mono_s"])
            s1 = max(snaps.values(), key=lambda x: x["mono_s"])
            first = first or s0
            last = s1
    s = a.stamp
    out = {
        "tool": "ringcast-bench", "format": 1, "scenario": a.scenario, "target": a.target, "stamp": s,
        "date": f"{s[0:4]}-{s[4:6]}-{s[6:8]}T{s[9:11]}:{s[11:13]}:{s[13:15]}Z",
        "command": meta["command"], "machine": meta["machine"], "server": meta["server"], "params": p,
        "loadavg_before": first["loadavg"] if first else None, "loadavg_after": last["loadavg"] if last else None,
        "cpu_busy_before_percent": figs[a.phases.split(",")[0]]["phase"].get("cpu_busy_before_percent"),
        "figures": figs, "phases": phases,
        "clients": {"processes": meta.get("clients"), "src_ips": meta.get("src_ips")},
        "work_dir": os.path.relpath(a.work, os.path.dirname(os.path.dirname(os.path.abspath(a.out)))),
    }
    with open(a.out + ".tmp", "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(a.out + ".tmp", a.out)


# ---- the RESULTS.md section -------------------------------------------------

def newest(d, scenario):
    best = None
    for path in glob.glob(os.path.join(d, f"{scenario}-*.json")):
        r = load(path)
        if not r or r.get("tool") != "ringcast-bench" or r.get("scenario") != scenario:
            continue
        if best is None or r["stamp"] > best["stamp"]:
            r["_path"] = path
            best = r
    return best


def f(v, d=0):
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    return f"{v:,.{d}f}"


def g(x, path):
    for part in path.split("."):
        if not isinstance(x, dict) or part not in x:
            return None
        x = x[part]
    return x


def mib(kb):
    return None if kb is None else kb / 1024


def codes(c):
    return ", ".join(f"{k}: {f(v)}" for k, v in sorted((c or {}).items())) or "none"


def rel(path, md):
    return os.path.relpath(path, os.path.dirname(os.path.abspath(md)))


def machine_line(r):
    m = r["machine"]
    return (f"{m['cpu']}, {m['cores']} cores, kernel {m['kernel']}; "
            f"load average before {(r.get('loadavg_before') or '-').split(' ')[0]}, "
            f"CPU busy before {f(r.get('cpu_busy_before_percent'))} %")


def table(rows, cols, heads):
    out = ["| figure | " + " | ".join(heads) + " |", "|---|" + "---:|" * len(heads)]
    for label, fn in rows:
        out.append(f"| {label} | " + " | ".join(fn(c) for c in cols) + " |")
    return out


def hostile_lines(r, md):
    p, ph = r["params"], r["figures"]
    cols = [ph.get("baseline") or {}, ph.get("attack") or {}]

    def sub(k, d=1):
        return lambda c: f(g(c, "subscribers." + k), d)

    def edge_cpu(c):
        e = c.get("edge")
        return "-" if not e else f"{f(e['cpu_s'], 2)} ({f(e['cpu_percent'], 1)} % of a core)"

    def cnt(k):
        return lambda c: (f"{f(g(c, 'edge_counters.window.' + k))} / "
                          f"{f(g(c, 'edge_counters.since_start.' + k))}")

    def restarts_of(c):
        pr = c.get("processes") or {}
        return f(sum((v.get("restarts") or 0) for k, v in pr.items() if k.startswith("edge"))) if pr else "-"

    def slow(c):
        s = g(c, "attack.slowloris")
        if not s:
            return "-"
        return (f"{f(s['connections']['established'])} opened, at most {f(s['connections']['open_max'])} at once; "
                f"held {f(g(s, 'held_ms.p50') and g(s, 'held_ms.p50') / 1e3, 1)} s p50, "
                f"{f(g(s, 'held_ms.max') and g(s, 'held_ms.max') / 1e3, 1)} s max; "
                f"answered: {s['first_response'] or 'nothing'}")

    def flood(c):
        s = g(c, "attack.joinflood")
        if not s:
            return "-"
        j = s["joins"]
        return (f"{f(s['upgrades'])} upgrades, {f(j['sent'])} joins sent, {f(j['replies_ok'])} ok, "
                f"{f(j['replies_error'])} refused; closed by the edge: {codes(s['closes_by_code'])}")

    rows = [
        ("subscribers joined", lambda c: f"{f(g(c, 'subscribers.joined_at_end'))} of {f(g(c, 'subscribers.connections'))}"),
        ("events published (achieved events/s)",
         lambda c: f"{f(g(c, 'publisher.published'))} ({f(g(c, 'publisher.rate_achieved'), 1)})"),
        ("subscriber latency p50 ms", sub("latency_ms.p50")),
        ("subscriber latency p99 ms", sub("latency_ms.p99")),
        ("subscriber latency max ms", sub("latency_ms.max")),
        ("events delivered / expected",
         lambda c: f"{f(g(c, 'subscribers.events_received'))} / {f(g(c, 'subscribers.expected_events'))}"),
        ("events missing", sub("missing", 0)),
        ("subscribers disconnected (close codes)",
         lambda c: f"{f(g(c, 'subscribers.disconnects'))} ({codes(g(c, 'subscribers.closes_by_code'))})"),
        ("edge CPU-s over the window", edge_cpu),
        ("edge RSS MiB at the end of the window (peak)",
         lambda c: f"{f(mib(g(c, 'edge.rss_kb_end')), 1)} ({f(mib(c.get('edge_peak_rss_kb')), 1)})"),
        ("edge: handshake timeouts (window / since start)", cnt("handshake_timeouts_total")),
        ("edge: refused, any status (window / since start)", cnt("refused_total")),
        ("edge: kicks past client_msg_rate, 1008 (window / since start)", cnt("kicks_rate_total")),
        ("edge: kicks for edge_memory_max (window / since start)", cnt("kicks_memory_total")),
        ("edge: slow-consumer kicks, 4008 (window / since start)", cnt("kicks_slow_total")),
        ("edge: channel joins accepted (window / since start)", cnt("joins_total")),
        ("edge restarts", restarts_of),
        ("attack: slowloris", slow),
        ("attack: join flood", flood),
        ("attackers' CPU, % of a core over the window", lambda c: f(g(c, "attack.cpu_percent_in_window"), 0)),
        ("subscriber loadgen CPU, % of a core", lambda c: f(c.get("subscriber_loadgen_cpu_percent"), 0)),
    ]
    out = [f"### hostile clients: {f(p['connections'])} subscribers, {f(p['rate'])} events/s for {p['duration_s']} s, "
           f"{f(p['slowloris'])} slowloris + {f(p['flooders'])} join flooders", "",
           f"Command: `{r['command']}`; result [`{os.path.basename(r['_path'])}`]({rel(r['_path'], md)}), "
           f"{r['date']}. Machine: {machine_line(r)}. "
           f"{r['server'].get('edges')} edge, options {r['server'].get('options')}.", "",
           "Both phases on a fresh cluster. Attack phase: the attackers start "
           f"{p.get('settle_s')} s before the publisher and run until delivery has drained; slowloris sends one "
           f"header byte every {f(p.get('trickle_ms'))} ms and reconnects 100 ms after the edge drops it; each flooder "
           f"sends {f(p.get('joins'))} joins of distinct topics per connection as fast as the socket takes them "
           "and reconnects 1 s after it is closed. The window is the publisher's run until delivery stopped.", ""]
    out += table(rows, cols, ["baseline", "under attack"])
    return out + [""]


def spike_lines(r, md):
    p, ph = r["params"], r["figures"]
    cols = [ph.get("noprep") or {}, ph.get("prep") or {}]

    def ex(k, d=1):
        return lambda c: f(g(c, "existing." + k), d)

    def cpu(c):
        e = c.get("edge_spike")
        return "-" if not e else f"{f(e['cpu_s'], 2)} over {f(e['window_s'], 1)} s ({f(e['cpu_percent'], 0)} % of a core)"

    rows = [
        ("edges during the spike", lambda c: f(c.get("edges_during_spike"))),
        ("accept capacity, connections/s (edges x accept_rate)", lambda c: f(c.get("accept_capacity_per_s"))),
        ("connects/s offered", lambda c: f(c.get("offered_connects_per_s"))),
        ("503s past accept_rate (edge counter)", lambda c: f(c.get("refused_503"))),
        ("refused handshakes the clients saw (then retried)", lambda c: f(g(c, "spike.failed_handshake"))),
        ("connect attempts (first + retries)", lambda c: f(g(c, "spike.attempted"))),
        (f"all {f(p['connections'])} joined after s (first connect to last join)",
         lambda c: f(g(c, "spike.all_joined_after_s"), 2)),
        ("spike clients joined at the end", lambda c: f(g(c, "spike.joined_at_end"))),
        ("spike clients joined per second", lambda c: ", ".join(
            f(v) for v in (g(c, "spike.ready_per_s") or [])[:max(1, 1 + max(
                [i for i, v in enumerate(g(c, 'spike.ready_per_s') or []) if v] or [0]))])),
        ("existing clients: latency p50 ms", ex("latency_ms.p50")),
        ("existing clients: latency p99 ms", ex("latency_ms.p99")),
        ("existing clients: latency max ms", ex("latency_ms.max")),
        ("existing clients: events missing", ex("missing", 0)),
        ("existing clients: disconnected (close codes)",
         lambda c: f"{f(g(c, 'existing.disconnects'))} ({codes(g(c, 'existing.closes_by_code'))})"),
        ("edge CPU-s during the spike", cpu),
        ("edge RSS MiB when all had joined (peak)",
         lambda c: f"{f(mib(g(c, 'edge_spike.rss_kb_end')), 1)} ({f(mib(c.get('edge_peak_rss_kb')), 1)})"),
    ]
    out = [f"### connect spike: {f(p['connections'])} clients within {p['spike_seconds']} s, accept_rate "
           f"{f(p['accept_rate'])}/s per edge, {f(p['existing'])} clients on a {f(p['rate'])} events/s broadcast", "",
           f"Command: `{r['command']}`; result [`{os.path.basename(r['_path'])}`]({rel(r['_path'], md)}), "
           f"{r['date']}. Machine: {machine_line(r)}. Options {r['server'].get('options')}.", "",
           f"Without prep: the cluster's {f(p['base_edges'])} edges. With prep: `./ringcast prep --edges "
           f"{f(p['prep_edges'])} --for {p['prep_for']}` after the existing clients joined, before the spike. "
           f"The spike clients (`loadgen --reconnect`, {f(p['spike_processes'])} processes) retry a 503 on the "
           "Phoenix client's backoff (10, 50, 100, ... 5000 ms) and join topics nobody publishes to; the "
           "existing clients measure what the spike costs the others.", ""]
    out += table(rows, cols, ["default edges", "after prep"])
    return out + [""]


def section(h, s, md, notes):
    out = [BEGIN, "", "## Hostile clients and connect spikes (edge bulkheads)", "",
           "Generated by `bench/lib/hostile.py` from the newest `hostile-*` and `spike-*` results in "
           "`bench/results/` (`bench/run-quick.sh --hostile` runs both scenarios, then this). "
           "No figure is typed by hand.", ""]
    out += [f"- {n}" for n in notes] + ([""] if notes else [])
    if not h and not s:
        out += ["No hostile or spike results yet: run `bench/run-quick.sh --hostile`.", ""]
    if h:
        out += hostile_lines(h, md)
    if s:
        out += spike_lines(s, md)
    return out + [END]


def cmd_tables(a):
    h, s = newest(a.results, "hostile"), newest(a.results, "spike")
    text = open(a.md).read()
    sec = "\n".join(section(h, s, a.md, a.note or []))
    if BEGIN in text and END in text:
        pre, rest = text.split(BEGIN, 1)
        text = pre + sec + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + sec + "\n"
    with open(a.md + ".tmp", "w") as fh:
        fh.write(text)
    os.replace(a.md + ".tmp", a.md)
    print(f"hostile.py: {a.md} section written ({'hostile ' + h['stamp'] if h else 'no hostile'}, "
          f"{'spike ' + s['stamp'] if s else 'no spike'})")


def main():
    bench = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if len(sys.argv) > 1 and sys.argv[1] == "result":
        ap = argparse.ArgumentParser(prog="hostile.py result")
        ap.add_argument("--scenario", required=True, choices=("hostile", "spike"))
        ap.add_argument("--target", required=True)
        ap.add_argument("--stamp", required=True)
        ap.add_argument("--work", required=True)
        ap.add_argument("--out", required=True)
        ap.add_argument("--phases", required=True)
        ap.add_argument("params", nargs="*")
        cmd_result(ap.parse_args(sys.argv[2:]))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", default=os.path.join(bench, "results"))
    ap.add_argument("--md", default=os.path.join(bench, "RESULTS.md"))
    ap.add_argument("--note", action="append")
    cmd_tables(ap.parse_args())


if __name__ == "__main__":
    main()
