#!/usr/bin/env bash
# history: the cost of a history page by its depth, end to end through the
# broker's GET /api/history (the same page function an edge answers a
# client's `history` push with; bench/micro/feed_bench.c times the function
# alone). ringcast only.
#
#   bench/scenarios/history.sh [--events E] [--max-seconds S]
#
# Publishes E events over 5 topics (about E/5 each, one connection), then
# times R keep-alive requests of pages of 100 before depths 0, 1000, 10000
# and the deepest the topic allows, with GET /healthz as the HTTP floor.
# Prints a Markdown table: mean and p99 microseconds per request.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"

bench_init history "$@"
set -- "${POS[@]}"
EVENTS=100000
while [ $# -gt 0 ]; do
    case "$1" in
        --events) EVENTS=$2; shift 2 ;;
        *) die "unexpected argument '$1'" ;;
    esac
done
[ "$TARGET" = ringcast ] || die "history measures ringcast only: nchan has no pages"
server_start 1
nap 1
rate=20000
publisher_run 5 "$rate" "$(python3 -c "print($EVENTS / $rate)")" 1
wait_quiet
python3 - "$PUB_PORT" "$COMMAND_LINE" <<'PY'
import http.client, json, sys, time
port, cmd = int(sys.argv[1]), sys.argv[2]
conn = http.client.HTTPConnection("127.0.0.1", port)
def get(path):
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    assert r.status == 200, (r.status, body[:200])
    return body
head = json.loads(get("/api/history?topic=bench:0&limit=1"))
top = head["offset"]
def timed(path, reps=2000):
    get(path)
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter_ns(); get(path); ts.append(time.perf_counter_ns() - t0)
    ts.sort()
    return sum(ts) / len(ts) / 1e3, ts[int(len(ts) * 0.99)] / 1e3
print(f"topic bench:0 holds offsets {head['oldest']}..{top} among {top * 5} events; pages of 100 events")
print("| request | depth | mean us | p99 us |")
print("|---|---|---|---|")
m, p = timed("/healthz")
print(f"| GET /healthz (HTTP floor) | | {m:.0f} | {p:.0f} |")
for depth in (0, 1000, 10000, top - 101):
    before = top + 1 - depth
    body = get(f"/api/history?topic=bench:0&before={before}&limit=100")
    page = json.loads(body)
    assert len(page["events"]) == 100 and page["events"][-1]["offset"] == before - 1, page["events"][-1]
    m, p = timed(f"/api/history?topic=bench:0&before={before}&limit=100")
    print(f"| GET /api/history, limit 100 ({len(body)} bytes) | {depth} | {m:.0f} | {p:.0f} |")
PY
