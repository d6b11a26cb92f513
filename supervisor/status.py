"""`ringcast status`: the broker's /healthz, and the supervisor's status as a
table or as JSON."""
import json
import urllib.request


def fmt_s(s):
    if s is None:
        return "-"
    s = int(s)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def broker_health(broker_url):
    """The broker's /healthz document; None if it does not answer."""
    health = None
    try:
        with urllib.request.urlopen(broker_url + "/healthz", timeout=2) as r:
            health = json.load(r)
    except (OSError, ValueError):
        pass
    return health


def show(st, health, as_json):
    """Prints the status (st: the supervisor's reply); returns the exit code:
    1 if a process crash-looped, else 0."""
    by_pid = {e["pid"]: e for e in (health or {}).get("edges", [])}
    if as_json:
        st["healthz"] = health
        print(json.dumps(st, indent=1))
        return 0 if all(p["state"] != "failed" for p in st["processes"]) else 1
    print(f"ringcast '{st['instance']}' {st['phase']}: supervisor pid {st['supervisor_pid']}, up {fmt_s(st['uptime_s'])}, "
          f"{st['want_edges']} edge(s) wanted" + (f"; prep: back to {st['prep']['back_to']} edge(s) in "
                                                   f"{fmt_s(st['prep']['in_s'])}" if st["prep"] else "")
          + (f"; rolling restart: {st['rolling']['left']} edge(s) left" if st["rolling"] else ""))
    print(f"{'process':<9} {'state':<10} {'pid':>8} {'uptime':>8} {'restarts':>8} {'connections':>11} {'lag':>6} {'io':>6}")
    failed = []
    for p in st["processes"]:
        h = by_pid.get(p["pid"]) if p["kind"] == "edge" else None
        state = p["state"].upper() if p["state"] == "failed" else p["state"]
        note = ""
        if p["state"] == "backoff":
            note = f"  restarting in {p['restart_in_s']}s (last: {p['last_exit']})"
        if p["state"] == "failed":
            note = f"  CRASH LOOP: died after {st['restart_limit']} restarts in {fmt_s(st['restart_window_s'])}" \
                   f" (last: {p['last_exit']}); not restarted"
            failed.append(p["name"])
        print(f"{p['name']:<9} {state:<10} {p['pid'] or '-':>8} {fmt_s(p['uptime_s']):>8} {p['restarts']:>8} "
              f"{h['connections'] if h else '-':>11} {h['lag'] if h else '-':>6} "
              f"{h.get('io_backend', '-') if h else '-':>6}{note}")
    if health:
        print(f"log seq {health.get('seq')}, broker healthz {health.get('status')}"
              + (f", {health['dead_slots']} dead edge slot(s)" if health.get("dead_slots") else ""))
    else:
        print(f"broker healthz: no answer from {st['broker_url']}")
    if failed:
        print(f"ATTENTION: {', '.join(failed)} crash-looped and is no longer restarted; "
              f"see {st['run_dir']}/<name>.log and supervisor.log")
        return 1
    return 0
