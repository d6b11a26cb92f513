#!/usr/bin/env bash
# resume: N clients rejoin T topics at once with `since` B events back (the
# topics hold exactly B events each, published beforehand): how fast the
# edges replay, and what it costs them. ringcast only (nchan has no
# positions to resume from).
#
#   bench/scenarios/resume.sh [--back B] N T
#       [--servers K] [--clients P] [--src-ips K] [--max-seconds S]
#
# Order: server up (max_replay = B); B*T events published (loadgen's
# publisher, one connection, so each topic's events are committed in the
# order of their n); each topic's epoch read from /api/history; snapshot;
# the N clients connect at BENCH_CONNECT_RATE and join with since {epoch,
# offset 0}, each expecting B events; when every client has its B-th event
# (loadgen's all-caught-up), snapshot again.
#
# Figures (printed as a Markdown table row, and in the result JSON):
# replayed events/s over the run (N*B / time from the first connect to the
# last client caught up), per-client catch-up time (join sent -> B-th
# event) p50/p99/max, losses, and server CPU-seconds per million replayed
# events (utime + stime of the broker and edges between the snapshots).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"

bench_init resume "$@"
set -- "${POS[@]}"
BACK=1000 N="" T=""
while [ $# -gt 0 ]; do
    case "$1" in
        --back) BACK=$2; shift 2 ;;
        *) if [ -z "$N" ]; then N=$1; elif [ -z "$T" ]; then T=$1; else die "unexpected argument '$1'"; fi; shift ;;
    esac
done
[[ "$N" =~ ^[0-9]+$ && "$T" =~ ^[0-9]+$ && "$BACK" =~ ^[0-9]+$ ]] && [ "$N" -gt 0 ] && [ "$T" -gt 0 ] &&
    [ "$T" -le "$N" ] || die "usage: resume.sh [--back B] N T (T <= N)"
[ "$TARGET" = ringcast ] || die "resume measures ringcast only: nchan has no positions"

BENCH_RINGCAST_ARGS="--max_replay $((BACK + BACK / 10 + 10)) ${BENCH_RINGCAST_ARGS:-}"
server_start "$N"
nap 1
# About BACK events per topic (the publisher's rate times its duration; its
# JSON says exactly how many each topic got).
rate=20000
dur=$(python3 -c "print(max(0.5, $BACK * $T / $rate))")
publisher_run "$T" "$rate" "$dur" 1
# One since per topic: its epoch, offset 0 (replay everything it holds).
python3 - "$PUB_PORT" "$T" >"$WORK/join-params" <<'PY' || die "could not read the topics' epochs"
import json, sys, urllib.request
port, t = sys.argv[1], int(sys.argv[2])
for i in range(t):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/history?topic=bench:{i}&limit=1") as r:
        h = json.load(r)
    assert h["oldest"] == 1, f"bench:{i}: the log no longer holds its first event"
    print(json.dumps({"since": {"epoch": h["epoch"], "offset": 0}}))
PY
expect=$(python3 -c "import json; print(min(json.load(open('$WORK/pub.json'))['per_topic'].values()))")
replayed=$(python3 -c "
import json
pt = json.load(open('$WORK/pub.json'))['per_topic']
print(sum(pt['bench:%d' % (i % $T)] for i in range($N)))")
log "each topic holds >= $expect events; $N clients will replay $replayed in all"
wait_quiet
snapshot before
budget=$(($(ceil_div "$N" "$CONNECT_RATE") + 120))
clients_start "$N" "$T" "$budget" --heartbeat-ms 30000 --join-params "$WORK/join-params" --expect-events "$expect"
caught=""
for ((i = 0; i < budget * 10; i++)); do
    n=0
    for f in "${CLIENT_LOGS[@]}"; do grep -q 'all-caught-up' "$f" 2>/dev/null && n=$((n + 1)); done
    [ "$n" -ge "${#CLIENT_LOGS[@]}" ] && { caught=1; break; }
    clients_alive || break
    sleep 0.1
done
snapshot after
[ -n "$caught" ] || log "not every client caught up"
clients_stop || true
python3 - "$WORK" "$N" "$T" "$replayed" "$COMMAND_LINE" <<'PY'
import json, glob, sys
work, n, t, replayed, cmd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
snaps = {}
for line in open(f"{work}/snaps.jsonl"):
    s = json.loads(line); snaps[s["name"]] = s
after_s, events, missing, dup, ooo, cu = 0.0, 0, 0, 0, 0, []
for log in glob.glob(f"{work}/client.*.log"):
    for line in open(log):
        if line.startswith("loadgen all-caught-up"):
            after_s = max(after_s, float(line.split("after_s=")[1].split()[0]))
for js in glob.glob(f"{work}/client.*.json"):
    j = json.load(open(js))
    events += j["events_received"]
    cu.append(j["caught_up_ms"])
    missing += j["missing"]; dup += j["duplicated"]; ooo += j["out_of_order"]
cpu_s = (snaps["after"]["ticks"] - snaps["before"]["ticks"]) / snaps["before"]["clk_tck"]
ccpu = (snaps["after"]["client_ticks"] - snaps["before"]["client_ticks"]) / snaps["before"]["clk_tck"]
p = lambda k: max(c.get(k, 0) for c in cu)
row = (f"| {n} | {t} | {replayed} | {after_s:.2f} | {replayed / after_s:,.0f} | {p('p50'):.0f} / {p('p99'):.0f} / {p('max'):.0f} "
       f"| {missing} / {dup} / {ooo} | {cpu_s:.2f} ({cpu_s / replayed * 1e6:.2f} per M) | {ccpu:.2f} |")
print("| clients | topics | events replayed | all caught up after (s) | replayed/s | catch-up ms p50 / p99 / max | missing / dup / out of order | server CPU-s | loadgen CPU-s |")
print("|---|---|---|---|---|---|---|---|---|")
print(row)
json.dump({"command": cmd, "clients": n, "topics": t, "replayed": replayed, "all_caught_up_s": after_s,
           "replayed_per_s": replayed / after_s, "caught_up_ms": cu, "missing": missing, "duplicated": dup,
           "out_of_order": ooo, "server_cpu_s": cpu_s, "loadgen_cpu_s": ccpu}, open(f"{work}/resume.json", "w"))
PY
