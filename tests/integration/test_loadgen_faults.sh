#!/usr/bin/env bash
# The loadgen catches faults: bench/fake_server/fake_server.py drops
# (n = 10, 11), duplicates (n = 20) and reorders (31 before 30) the events
# of every connection; the loadgen, told to expect n = 1..100, must report
# exactly that many missing / duplicated / out_of_order events per
# connection (times the connections), in phoenix and raw mode, and a clean
# run must report zeros. Also checked on the way: joins, pongs to the
# server's ping, heartbeat replies, a fragmented event, the server's close
# code. Uses $RINGCAST_BIN/loadgen.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${RINGCAST_BIN:-$PWD/build/bin}
lg=$bin/loadgen
[ -x "$lg" ] || { echo "loadgen not built: $lg"; exit 1; }
tmp=$(mktemp -d /tmp/loadgen-faults.XXXXXX)
fake_pid=""
stop_fake() {
    if [ -n "$fake_pid" ]; then
        kill "$fake_pid" 2>/dev/null || true
        wait "$fake_pid" 2>/dev/null || true
        fake_pid=""
    fi
}
cleanup() { stop_fake; rm -rf "$tmp"; }
trap cleanup EXIT

start_fake() { # name fake-server-args...
    local name=$1 i
    shift
    python3 bench/fake_server/fake_server.py --port 0 --events 100 --close-after 0.3 --close-code 1001 "$@" \
        >"$tmp/$name.fake.out" 2>"$tmp/$name.fake.err" &
    fake_pid=$!
    for ((i = 0; i < 100; i++)); do
        grep -q '^listening' "$tmp/$name.fake.out" 2>/dev/null && break
        kill -0 "$fake_pid" 2>/dev/null || break
        sleep 0.05
    done
    port=$(sed -n 's/^listening [0-9.]*:\([0-9]*\) .*/\1/p' "$tmp/$name.fake.out")
    [ -n "$port" ] || { echo "fake server did not start"; cat "$tmp/$name.fake.err"; exit 1; }
    injected=$(sed -n 's/^listening [^ ]* per-connection //p' "$tmp/$name.fake.out")
}

# check NAME JSON CONNS INJECTED_JSON MODE: compares the loadgen's report
# with what the fake server injected on each connection.
check() {
    python3 - "$@" <<'PY'
import json, sys
name, path, conns, injected, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4]), sys.argv[5]
r = json.load(open(path))
fails = []
def want(what, got, exp):
    if got != exp:
        fails.append("%s: got %r, want %r" % (what, got, exp))
for k in ("missing", "duplicated", "out_of_order"):
    want(k, r[k], injected[k] * conns)
want("late_beyond_window", r["late_beyond_window"], 0)
want("connections.established", r["connections"]["established"], conns)
want("connections.failed", r["connections"]["failed"], 0)
# 100 events minus the dropped, plus the duplicate, on every connection
want("events_received", r["events_received"], (100 - injected["missing"] + injected["duplicated"]) * conns)
want("pings", r["pings"], conns)
want("closes_by_code", r["closes_by_code"], {"1001": conns})
want("protocol_errors", r["protocol_errors"], 0)
want("connections_with_loss", r["connections_with_loss"], conns if any(injected.values()) else 0)
if mode == "phoenix":
    want("joins.ok", r["joins"]["ok"], conns)
    want("joins.failed", r["joins"]["failed"], 0)
    if r["heartbeats"]["replies"] < conns:
        fails.append("heartbeats.replies: got %d, want >= %d" % (r["heartbeats"]["replies"], conns))
lat = r["latency_us"]
if not (lat["count"] == r["events_received"] and 0 < lat["p50"] <= lat["p99"] <= lat["max"] < 5e6):
    fails.append("latency_us not sane: %r" % lat)
for f in fails:
    print("%s: %s" % (name, f))
print("%s: %s (missing=%d duplicated=%d out_of_order=%d events=%d p50=%.0fus)" % (
    name, "FAIL" if fails else "ok", r["missing"], r["duplicated"], r["out_of_order"],
    r["events_received"], lat["p50"]))
sys.exit(1 if fails else 0)
PY
}

run_case() { # name conns mode path fake-args...
    local name=$1 conns=$2 mode=$3 path=$4
    shift 4
    start_fake "$name" "$@"
    if ! "$lg" --mode "$mode" --host 127.0.0.1 --port "$port" --path "$path" --connections "$conns" \
        --rate 200 --topics 2 --heartbeat-ms 200 --duration 2 --src-ips 2 --expect-events 100 \
        --json "$tmp/$name.json" 2>"$tmp/$name.lg.err"; then
        echo "$name: loadgen failed"
        cat "$tmp/$name.lg.err"
        exit 1
    fi
    stop_fake
    if ! check "$name" "$tmp/$name.json" "$conns" "$injected" "$mode"; then
        tail -n 3 "$tmp/$name.lg.err"
        cat "$tmp/$name.fake.err"
        exit 1
    fi
    # The server saw a pong from every connection.
    local pongs
    pongs=$(grep -c 'pongs=1 ' "$tmp/$name.fake.err" || true)
    [ "$pongs" = "$conns" ] || { echo "$name: $pongs of $conns connections answered the ping"; exit 1; }
}

run_case phoenix-faults 4 phoenix /socket/websocket
run_case phoenix-clean 4 phoenix /socket/websocket --clean
run_case raw-faults 3 raw "/sub/bench:%d"
echo "loadgen fault detection: ok"
