#!/usr/bin/env python3
"""Regenerates the load-test section of bench/RESULTS.md from the scenario
JSON files in bench/results/ (never from anything typed by hand), and writes
the data files the gnuplot scripts of bench/plot/ draw.

    tables.py [--results bench/results] [--md bench/RESULTS.md] [--plot-data DIR]
              [--command "make bench"]

For every (scenario, target, connections, topics, rate) the newest JSON is
used. The section lies between the markers <!-- bench:begin --> and
<!-- bench:end --> (appended at the end of the file the first time); the rest
of the file, such as the "## proto" section, is left byte for byte as it is.
"""
import argparse
import glob
import json
import os
import re
import sys

from result import bucket_width

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
TARGETS = ("ringcast", "nchan")


def load_results(d):
    out = []
    for path in glob.glob(os.path.join(d, "*.json")):
        try:
            with open(path) as f:
                r = json.load(f)
        except (OSError, ValueError):
            continue
        if r.get("tool") != "ringcast-bench":
            continue
        r["_path"] = path
        out.append(r)
    return out


def key(r):
    p = r["params"]
    # idle.sh --auth runs are their own series (bench/RESULTS.md, "Auth"), not the idle table's
    scenario = r["scenario"] + ("+auth" if p.get("auth") else "")
    return (scenario, r["target"], p.get("connections"), p.get("topics"), p.get("rate"))


def newest(results, since=None):
    """The newest result per key. With since, a key measured in this run
    (stamp >= since) uses this run's result; a key this run did not measure
    (say idle 100k, run by --full only) keeps its newest earlier result,
    marked r["_earlier"] so the tables say so."""
    best = {}
    for r in results:
        k = key(r)
        if k not in best or r["stamp"] > best[k]["stamp"]:
            best[k] = r
    if since:
        for r in best.values():
            r["_earlier"] = r["stamp"] < since
    return best


def fmt(v, digits=None):
    if v is None:
        return "n/a"
    if isinstance(v, str):
        return v
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    if digits is not None:
        return f"{v:,.{digits}f}"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def ratio(a, b):
    if a is None or b is None or isinstance(a, str) or isinstance(b, str) or b <= 0 or a < 0:
        return "n/a"
    return f"{a / b:.2f}"


def kn(n):
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def get(r, path):
    v = r
    for part in path.split("."):
        if v is None or part not in v:
            return None
        v = v[part]
    return v


def busy(r):
    v = r.get("cpu_busy_before_percent") if r else None
    return v


def load1(r):
    return r["loadavg_before"].split()[0] if r and r.get("loadavg_before") else "n/a"


def compare_table(rows, rc, nc, lines):
    """rows: (label, getter, digits); rc/nc: result or None."""
    head = "| figure | ringcast | nchan | ringcast / nchan |"
    lines += [head, "|---|---:|---:|---:|"]
    for row in rows:
        label, g, digits = row[:3]
        a = g(rc) if rc else None
        b = g(nc) if nc else None
        r = ratio(a, b) if len(row) < 4 else ""
        lines.append(f"| {label} | {fmt(a, digits)} | {fmt(b, digits)} | {r} |")
    lines.append("")


def rel(path, md):
    return os.path.relpath(path, os.path.dirname(os.path.abspath(md)))


def idle_without_heartbeats(nohb, md_path):
    """Idle CPU with heartbeats off and the idle timeout raised: an edge that
    polls anything shows here."""
    lines = []
    for r in sorted(nohb.values(), key=lambda r: r["params"]["connections"]):
        f, p = r["figures"], r["params"]
        if not lines:
            lines += ["### idle without heartbeats: does anything poll? (issue 6)", "",
                      "Clients send no heartbeats and the servers run with a raised idle timeout "
                      f"(`{p.get('server_args') or '-'}`), so nothing at all should wake the server.", "",
                      "| target | connections | window (s) | server CPU-seconds | % of one core | RSS bytes/conn | raw |",
                      "|---|---:|---:|---:|---:|---:|---|"]
        lines.append(f"| {r['target']} | {fmt(p['connections'])} | {fmt(f.get('idle_window_s'), 1)} | "
                     f"{fmt(f.get('idle_cpu_s'), 2)} | {fmt(f.get('idle_cpu_percent'), 3)} | "
                     f"{fmt(f.get('rss_bytes_per_conn'), 0)} | [`{os.path.basename(r['_path'])}`]({rel(r['_path'], md_path)}) |")
    return lines + ([""] if lines else [])


def section(best, md_path, command, notes, nohb=None):
    res = list(best.values())
    if not res:
        return [BEGIN, "", "## load tests (issue 5)", "", "No scenario results in bench/results/ yet: run `make bench`.",
                "", END]
    lines = [BEGIN, "", "## load tests: ringcast vs nginx + nchan (issue 5)", ""]
    lines += [
        "Generated by [`lib/tables.py`](lib/tables.py) from the JSON files listed at the end of this",
        "section (the newest per scenario, server and parameters); `make bench` rewrites everything",
        "between the `bench:begin`/`bench:end` markers, so no figure here is typed by hand.",
        "",
        f"Command: `{command}` (the quick suite of [`run-quick.sh`](run-quick.sh)); each scenario's",
        "own command line is in its JSON (`command`) and in the list at the end.",
        "",
    ]
    m = res[0]["machine"]
    dates = sorted(r["date"] for r in res)
    lines += [
        f"- Machine: `{m['cpu']}` (as /proc/cpuinfo names it), {m['cores']} cores online, kernel "
        f"`{m['kernel']}`, {m['mem_total_kb'] // 1024} MiB RAM; shared with other engineers' work, so",
        "  each scenario first waits (up to 20 s in the suite) for the CPUs to be under 25 % busy, and",
        "  shows what it saw just before it started (CPU busy over 1 s, and the 1-minute load average).",
        f"- Dates: {dates[0]} to {dates[-1]}.",
    ]
    servers = {}
    for r in res:
        servers.setdefault(r["target"], r["server"])
    if "nchan" in servers:
        s = servers["nchan"]
        lines.append(f"- nchan: Debian nginx {s.get('nginx')} + libnginx-mod-nchan {s.get('nchan')}, config "
                     "[`peers/nchan.conf`](peers/nchan.conf), started by [`peers/nchan.sh`](peers/nchan.sh).")
    else:
        lines.append("- nchan: **no nchan result in this run** (not installed or failed to start): ringcast alone.")
    for n in notes:
        lines.append(f"- **{n}**")
    lines += [
        "- Method: client ([`loadgen`](loadgen/README.md)) and server run on the same cores; every",
        "  figure is server-side where it says so. Memory per connection = (RSS or PSS of all server",
        "  processes with N connections ready, 2 s settled) - (the same just before connecting), / N",
        "  (`/proc/PID/smaps_rollup`). Kernel TCP memory is the change of `/proc/net/sockstat` `TCP mem`",
        "  pages, which counts both ends of each loopback connection. CPU-s per million frames =",
        "  utime + stime (`/proc/PID/stat`) of every server process (ringcast: broker + edges; nchan:",
        "  nginx master + workers) from just before the publisher starts until delivery stops, / frames",
        "  delivered. Latency = subscriber receive time - the publisher's send timestamp in the event,",
        "  from the loadgen's histogram (merged over its processes). Ringcast subscribers are Phoenix V2",
        "  clients (join, heartbeat every 30 s); nchan subscribers are plain WebSocket subscribers of",
        "  `/sub/<topic>` (no heartbeats). Frames differ in size: ringcast sends the Phoenix array",
        "  `[null,\"@seq\",topic,event,data]`, nchan the data alone (bytes per frame shown).",
        "- Publisher: `loadgen --mode publish`, to the broker's `POST /api/push` and to nchan's",
        "  `POST /pub/<topic>`. Broadcast uses one publisher connection so events arrive in sequence",
        "  order; it waits for each answer, so a server that answers slowly receives fewer events than",
        "  the target rate: the rate achieved is shown.",
        "",
    ]

    # idle
    idle = sorted({r["params"]["connections"] for r in res if r["scenario"] == "idle"})
    if idle:
        lines += ["### idle: N connections joined, no events", ""]
        for n in idle:
            rc = best.get(("idle", "ringcast", n, get_topics(best, "idle", n), None))
            nc = best.get(("idle", "nchan", n, get_topics(best, "idle", n), None))
            t = (rc or nc)["params"]["topics"]
            srv = describe_servers(rc, nc)
            lines += [f"**{kn(n)} connections** over {t} topics ({srv}){earlier(rc, nc)}:", ""]
            compare_table([
                ("user-space bytes per connection, RSS", lambda r: get(r, "figures.rss_bytes_per_conn"), 0),
                ("user-space bytes per connection, PSS", lambda r: get(r, "figures.pss_bytes_per_conn"), 0),
                ("kernel TCP memory bytes per connection (sockstat `TCP mem`: every TCP socket of the machine, both ends)",
                 lambda r: get(r, "figures.kernel_tcp_mem_bytes_per_conn_both_ends"), 0),
                ("kernel slab growth per connection (whole machine: both ends, loadgen included)",
                 lambda r: get(r, "figures.kernel_slab_bytes_per_conn_machine"), 0),
                ("connections ready", lambda r: get(r, "figures.ready"), 0, False),
                ("connect rate (connections/s; paced by the loadgen)", lambda r: get(r, "figures.connect_rate_per_s"), 0),
                ("server CPU while idle (% of one core)", lambda r: get(r, "figures.idle_cpu_percent"), 2),
                ("server RSS after (MiB)", lambda r: kib_to_mib(get(r, "figures.server_rss_kb_after")), 1),
                ("machine CPU busy just before (%) / load average", lambda r: f"{busy(r)} / {load1(r)}", None, False),
            ], rc, nc, lines)
            if rc and get(rc, "figures.heartbeats_answered"):
                hb_s = (rc["params"].get("heartbeat_ms") or 30000) / 1000
                lines += [f"During the idle window ringcast also answers Phoenix heartbeats (each client sends one every "
                          f"{fmt(hb_s, 0)} s: {fmt(get(rc, 'figures.heartbeats_answered'))} answered during the run); nchan's "
                          "subscribers send nothing.", ""]
                hold, cpu = rc["params"].get("hold_s") or 0, get(rc, "figures.idle_cpu_s")
                if hold >= 2 * hb_s and cpu is not None:
                    # every client heartbeats hold/interval times inside the window
                    per_k = cpu / (n * hold / hb_s) * 1000
                    lines += [f"Heartbeat cost: {fmt(cpu, 2)} server CPU-seconds in the {fmt(hold, 0)} s window, "
                              f"which holds about {fmt(n * hold / hb_s, 0)} heartbeats: **{fmt(per_k * 1000, 1)} ms "
                              "of CPU per 1,000 heartbeats**.", ""]
    lines += idle_without_heartbeats(nohb or {}, md_path)

    # broadcast and topics
    for scen, title in (("broadcast", "broadcast: one topic, N subscribers"),
                        ("topics", "topics: N connections over T topics")):
        keys = sorted({(r["params"]["connections"], r["params"]["topics"], r["params"]["rate"])
                       for r in res if r["scenario"] == scen})
        if not keys:
            continue
        lines += [f"### {title}", ""]
        for n, t, rate in keys:
            rc = best.get((scen, "ringcast", n, t, rate))
            nc = best.get((scen, "nchan", n, t, rate))
            any_r = rc or nc
            dur = any_r["params"]["duration_s"]
            lines += [f"**{kn(n)} subscribers" + (f" over {t} topics" if t > 1 else "") +
                      f", {fmt(rate)} events/s for {fmt(dur)} s** ({describe_servers(rc, nc)}; "
                      f"{any_r['params']['pub_conns']} publisher connection(s)){earlier(rc, nc)}:", ""]
            compare_table([
                ("events published/s (target " + fmt(rate) + ")", lambda r: get(r, "figures.publish_rate_achieved"), 1),
                ("publisher answer p99 (ms)", lambda r: get(r, "figures.publish_response_ms_p99"), None),
                ("frames delivered", lambda r: get(r, "figures.delivered_frames"), 0),
                ("frames expected (every subscriber, every event of its topic)",
                 lambda r: get(r, "figures.expected_frames"), 0, False),
                ("delivered frames/s", lambda r: get(r, "figures.delivered_per_s"), 0),
                ("latency p50 (ms)", lambda r: get(r, "figures.latency_ms.p50"), None),
                ("latency p90 (ms)", lambda r: get(r, "figures.latency_ms.p90"), None),
                ("latency p99 (ms)", lambda r: get(r, "figures.latency_ms.p99"), None),
                ("latency p99.9 (ms)", lambda r: get(r, "figures.latency_ms.p999"), None),
                ("latency max (ms)", lambda r: get(r, "figures.latency_ms.max"), None),
                ("missing", lambda r: get(r, "figures.missing"), 0, False),
                ("duplicated", lambda r: get(r, "figures.duplicated"), 0, False),
                ("out of order", lambda r: get(r, "figures.out_of_order"), 0, False),
                ("connections with a loss", lambda r: get(r, "figures.connections_with_loss"), 0, False),
                ("**server CPU-s per million frames**", lambda r: get(r, "figures.cpu_s_per_million_frames"), 2),
                ("server CPU over the window (% of one core)", lambda r: get(r, "figures.server_cpu_percent"), 0),
                ("loadgen subscribers' CPU over the window (% of one core)",
                 lambda r: get(r, "figures.client_cpu_percent"), 0, False),
                ("bytes per frame received (payload + header)", lambda r: get(r, "figures.bytes_per_frame"), 1),
                ("machine CPU busy just before (%) / load average", lambda r: f"{busy(r)} / {load1(r)}", None, False),
            ], rc, nc, lines)
            lines += fanout_notes(rc, nc, rate)

    # storm
    storms = sorted((r["params"]["connections"], r["target"]) for r in res if r["scenario"] == "storm")
    for n, target in storms:
        r = best[("storm", target, n, get_topics(best, "storm", n, target), None)]
        f = r["figures"]
        rj = f["rejoin_ms"]
        label = "edge" if target == "ringcast" else "nginx worker"
        srv = describe_servers(r if target == "ringcast" else None, r if target == "nchan" else None)
        lines += [f"### storm: kill -9 one {label} under {kn(n)} connections ({target}; {srv})", ""]
        if r.get("_earlier"):
            lines += [earlier(r, None).strip(" ,") + ".", ""]
        lines += [
            "| figure | value |", "|---|---:|",
            f"| connections the killed {label} held (ss) | {fmt(f['killed_edge_connections'], 0)} |",
            f"| connections lost (clients saw the close) | {fmt(f['lost'], 0)} |",
            f"| reconnected and joined again | {fmt(f['rejoined'], 0)} |",
            f"| ready at the end | {fmt(f['ready_at_end'] if 'ready_at_end' in f else f.get('joined_at_end'), 0)} of {fmt(n, 0)} |",
            f"| **time until every client was back** (slowest loss -> joined, ms) | **{fmt(f['recovery_ms'])}** |",
            f"| reconnect time p50 / p90 / p99 (ms) | {fmt(rj['p50_worst_process'])} / "
            f"{fmt(rj['p90_worst_process'])} / {fmt(rj['p99_worst_process'])} |",
            f"| failed reconnect attempts | {fmt(f['failed_attempts'], 0)} |",
            f"| machine CPU busy just before (%) / load average | {busy(r)} / {load1(r)} |",
            "",
        ]
        if f.get("after_kill_ready_per_s") is not None:
            ready, lost = f["after_kill_ready_per_s"], f["after_kill_lost_per_s"]
            last = max([i for i, v in enumerate(ready) if v] + [i for i, v in enumerate(lost) if v] + [0])
            cols = list(range(last + 2))
            lines += ["Reconnects per second after the kill (second 0 holds the kill; the loadgen",
                      "counts whole seconds, the percentiles above are exact):", "",
                      "| second | " + " | ".join(str(c) for c in cols) + " |",
                      "|---|" + "---:|" * len(cols),
                      "| connections lost | " + " | ".join(str(lost[c]) if c < len(lost) else "0" for c in cols) + " |",
                      "| connections back (joined) | " + " | ".join(str(ready[c]) if c < len(ready) else "0" for c in cols) + " |",
                      ""]

    lines += goals(best, res)
    lines += [
        "### plots",
        "",
        "`make bench` also draws, with gnuplot ([`plot/`](plot/)), into `bench/out/` (not committed):",
        "`latency-cdf-<scenario>-<N>-<rate>.png` (latency CDF, ringcast vs nchan, from the histogram",
        "buckets in the JSON) and `mem-per-conn.png` (user-space bytes per idle connection vs N).",
        "",
        "### raw output",
        "",
    ]
    for r in sorted(res, key=lambda r: (r["scenario"], r["params"].get("connections", 0), r["target"], r["stamp"])):
        lines.append(f"- [`{os.path.basename(r['_path'])}`]({rel(r['_path'], md_path)}): `{r['command']}`")
    lines += ["", END]
    return lines


def fanout_notes(rc, nc, rate):
    out = []
    for r in (rc, nc):
        if not r:
            continue
        f, name = r["figures"], r["target"]
        if f["publish_rate_achieved"] < 0.9 * rate:
            out.append(f"- {name} received {fmt(f['publish_rate_achieved'])} of the {fmt(rate)} events/s offered: it "
                       f"answered a publish in {fmt(f['publish_response_ms_p50'])} ms (p50) and the publisher's "
                       f"{r['params']['pub_conns']} connection(s) wait for each answer. The two columns are then "
                       "measured at different loads (delivered frames/s shows how different).")
        if (f.get("client_cpu_percent") or 0) > 85 * r["clients"]["processes"]:
            out.append(f"- {name}: the loadgen subscriber process(es) were busy {fmt(f['client_cpu_percent'])} % of a "
                       "core over the window: the client reading its sockets one after another is part of the "
                       "latency shown.")
    return out + [""] if out else []


def earlier(*rs):
    old = [r for r in rs if r and r.get("_earlier")]
    if not old:
        return ""
    return ", " + "; ".join(f"*{r['target']}: from an earlier run, {r['date']}*" for r in old)


def kib_to_mib(v):
    return None if v is None else v / 1024


def get_topics(best, scen, n, target=None):
    for k in best:
        if k[0] == scen and k[2] == n and (target is None or k[1] == target):
            return k[3]
    return None


def describe_servers(rc, nc):
    parts = []
    if rc:
        parts.append(f"ringcast {rc['server'].get('edges')} edges")
    if nc:
        parts.append(f"nchan {nc['server'].get('workers')} workers")
    return ", ".join(parts) + f", {(rc or nc)['clients']['processes']} loadgen process(es)"


def goals(best, res):
    out = ["### goals of issue 5", "", "| goal | result | met? |", "|---|---|---|"]
    idle_rc = sorted((r for r in res if r["scenario"] == "idle" and r["target"] == "ringcast"
                      and not r["params"].get("auth")),
                     key=lambda r: r["params"]["connections"])
    if idle_rc:
        parts, met = [], []
        for r in idle_rc:
            rss, pss = r["figures"].get("rss_bytes_per_conn"), r["figures"].get("pss_bytes_per_conn")
            n = kn(r["params"]["connections"])
            parts.append(f"{n}: RSS {fmt(rss, 0)} B, PSS {fmt(pss, 0)} B")
            met.append(f"{'**yes**' if rss is not None and rss <= 1024 else '**no**'} at {n}")
        out.append(f"| <= 1 KiB user space per idle connection (RSS) | {'; '.join(parts)} | {', '.join(met)} |")
    else:
        out.append("| <= 1 KiB user space per idle connection | not measured | n/a |")
    big = [r for r in res if r["scenario"] == "broadcast" and r["target"] == "ringcast"
           and r["params"]["connections"] >= 100000]
    if big:
        r = max(big, key=lambda r: r["stamp"])
        p99 = r["figures"]["latency_ms"]["p99"]
        out.append(f"| 100k subscribers of one topic: p99 <= 250 ms | p99 {fmt(p99)} ms at "
                   f"{kn(r['params']['connections'])} | {'**yes**' if p99 <= 250 else '**no**'} |")
    else:
        out.append("| 100k subscribers of one topic: p99 <= 250 ms | not measured (the quick suite stops at 10k "
                   "subscribers; `bench/run-quick.sh --full` adds 100k) | not shown |")
    pairs = []
    for k, r in best.items():
        if k[0] in ("broadcast", "topics") and k[1] == "ringcast":
            nk = (k[0], "nchan") + k[2:]
            if nk in best:
                a = r["figures"]["cpu_s_per_million_frames"]
                nf = best[nk]["figures"]
                b = nf["cpu_s_per_million_frames"]
                # Equal load: both servers received (nearly) the offered rate.
                same = all(f["publish_rate_achieved"] >= 0.9 * k[4] for f in (r["figures"], nf))
                if a and b:
                    pairs.append((k, a, b, same, nf["publish_rate_achieved"]))
    if pairs:
        pairs.sort(key=lambda x: (x[0][0], x[0][2], x[0][4]))
        txt = "; ".join(f"{k[0]} {kn(k[2])} @ {fmt(k[4])}/s: {fmt(a, 2)} vs {fmt(b, 2)} ({b / a:.1f}x)"
                        + ("" if same else f" *(unequal load: nchan received {fmt(got)} events/s)*")
                        for k, a, b, same, got in pairs)
        equal = [(a, b) for _, a, b, same, _ in pairs if same]
        if not equal:
            verdict = "not shown (no equal-load comparison)"
        elif all(b / a >= 3 for a, b in equal):
            verdict = "**yes**"
        elif any(b / a >= 3 for a, b in equal):
            verdict = "**partly** (at equal load)"
        else:
            verdict = "**no** at equal load"
        out.append(f"| >= 3x fewer server CPU-s per million frames than nchan | {txt} | {verdict} |")
    else:
        out.append("| >= 3x fewer server CPU-s per million frames than nchan | no nchan result to compare | n/a |")
    out.append("")
    return out


def plot_data(best, d):
    os.makedirs(d, exist_ok=True)
    for f in glob.glob(os.path.join(d, "*.dat")):
        os.remove(f)
    for k, r in best.items():
        if k[0] not in ("broadcast", "topics") or not r.get("latency_hist_ns"):
            continue
        total = sum(c for _, c in r["latency_hist_ns"])
        name = f"cdf-{k[0]}-{kn(k[2])}-{k[4]:g}-{k[1]}.dat"
        with open(os.path.join(d, name), "w") as f:
            f.write(f"# latency CDF of {k[0]} N={k[2]} topics={k[3]} rate={k[4]} {k[1]} ({r['stamp']})\n")
            f.write("# latency_ms fraction_at_or_below\n")
            seen = 0
            for low, c in r["latency_hist_ns"]:
                seen += c
                # the fraction of frames at or below the bucket's highest value
                f.write(f"{(low + bucket_width(low) - 1) / 1e6:.6f} {seen / total:.6f}\n")
    with open(os.path.join(d, "mem.dat"), "w") as f:
        f.write("# N ringcast_rss ringcast_pss nchan_rss nchan_pss (bytes per idle connection; ? = not measured)\n")
        ns = sorted({k[2] for k in best if k[0] == "idle"})
        for n in ns:
            row = [str(n)]
            for t in TARGETS:
                r = next((v for k, v in best.items() if k[0] == "idle" and k[1] == t and k[2] == n), None)
                for fld in ("rss_bytes_per_conn", "pss_bytes_per_conn"):
                    v = get(r, "figures." + fld) if r else None
                    row.append("?" if v is None else f"{v:.1f}")
            f.write(" ".join(row) + "\n")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    bench = os.path.dirname(here)
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", default=os.path.join(bench, "results"))
    ap.add_argument("--md", default=os.path.join(bench, "RESULTS.md"))
    ap.add_argument("--plot-data")
    ap.add_argument("--command", default="make bench")
    ap.add_argument("--since", help="start of this run (UTC stamp YYYYmmddTHHMMSSZ): results before it are "
                    "shown only for what this run did not measure, and marked as earlier")
    ap.add_argument("--note", action="append", default=[], help="a line for the section (failures of the run)")
    a = ap.parse_args()
    # Runs with an explicit --io_backend are the backends' comparison
    # (bench/lib/backends.py); the main tables show the default.
    results = [r for r in load_results(a.results) if "--io_backend" not in (r["params"].get("server_args") or "")]
    # Idle runs without heartbeats answer a different question (does an idle
    # edge poll?) and get their own table; they never replace the main ones.
    nohb = [r for r in results if r["scenario"] == "idle" and r["params"].get("heartbeat_ms") == 0]
    best = newest([r for r in results if r not in nohb], a.since)
    nohb_best = newest(nohb)
    text = open(a.md).read() if os.path.exists(a.md) else "# ringcast benchmark results\n"
    sec = "\n".join(section(best, a.md, a.command, a.note, nohb_best))
    if BEGIN in text and END in text:
        pre, rest = text.split(BEGIN, 1)
        post = rest.split(END, 1)[1]
        text = pre + sec + post
    else:
        text = text.rstrip("\n") + "\n\n" + sec + "\n"
    tmp = a.md + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, a.md)
    if a.plot_data:
        plot_data(best, a.plot_data)
    print(f"tables.py: {len(best)} result(s) -> {a.md}", file=sys.stderr)


if __name__ == "__main__":
    main()
