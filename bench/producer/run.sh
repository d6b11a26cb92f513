#!/usr/bin/env bash
# Producer API throughput (issue 7): single JSON pushes over keep-alive HTTP
# and msgpack batches of 100 events, each driven by wrk for a fixed time
# against a broker and one edge (the edge follows the log as in production;
# it has no clients). Prints one JSON object per form and writes them to
# bench/results/producer-<stamp>.json.
#
#   bench/producer/run.sh [--seconds S] [--conns C]
#
# Every event is acknowledged only after it is in the shm log, so requests/s
# x events per request is events/s into the log. A run with any non-200
# answer or socket error fails. Only the processes started here are
# stopped, by pid.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=${RINGCAST_BIN:-$root/build/bin}
seconds=10 conns=32
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds=$2; shift 2 ;;
        --conns) conns=$2; shift 2 ;;
        *) echo "usage: $0 [--seconds S] [--conns C]" >&2; exit 2 ;;
    esac
done
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk (make deps installs it)" >&2; exit 1; }

stamp=$(date -u +%Y%m%dT%H%M%SZ)
work=$(mktemp -d /tmp/ringcast-producer.XXXXXX)
inst=benchpush$$
port=$((20000 + $$ % 20000)) eport=$((port + 1))
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -f "/dev/shm/ringcast-$inst"
}
trap cleanup EXIT

python3 "$root/bench/producer/make_bodies.py" "$work"
"$bin/broker" --instance "$inst" --run_dir "$work" --broker_port "$port" --recreate_log 1 >"$work/broker.log" 2>&1 &
broker=$!
pids+=("$broker")
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.05; done
"$bin/edge" --instance "$inst" --run_dir "$work" --edge_host 127.0.0.1 --edge_port "$eport" >"$work/edge.log" 2>&1 &
pids+=("$!")
sleep 0.5

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

results=()
bench() { # name body content-type events-per-request
    local name=$1 body=$2 ct=$3 per=$4 t0 t1 line
    t0=$(cpu_ticks "$broker")
    line=$(BODY=$body CT=$ct wrk -t1 -c"$conns" -d"${seconds}s" --latency -s "$root/bench/producer/post.lua" \
        "http://127.0.0.1:$port/api/push${5:-}" | grep '^RESULT')
    t1=$(cpu_ticks "$broker")
    eval "$(echo "${line#RESULT }" | tr ' ' '\n' | sed 's/^/local /')"
    if [ "$non200" -ne 0 ] || [ "$errors" -ne 0 ]; then
        echo "producer bench $name: $non200 non-200 answers, $errors socket errors" >&2
        exit 1
    fi
    local json
    json=$(python3 -c '
import json, sys
n, per, secs, p50, p99, ticks, hz = sys.argv[2:9]
rps = int(n) / float(secs)
print(json.dumps({"form": sys.argv[1], "requests": int(n), "seconds": float(secs),
  "requests_per_s": round(rps), "events_per_request": int(per), "events_per_s": round(rps * int(per)),
  "latency_p50_us": int(p50), "latency_p99_us": int(p99),
  "broker_cpu_s": int(ticks) / int(hz)}))' "$name" "$requests" "$per" "$seconds" "$p50_us" "$p99_us" $((t1 - t0)) "$(getconf CLK_TCK)")
    echo "$json"
    results+=("$json")
}

bench single-json "$work/single.json" application/json 1
bench batch100-msgpack "$work/batch100.msgpack" application/msgpack 100 /batch
seq_now=$(curl -fs "http://127.0.0.1:$port/healthz" || true)

mkdir -p "$root/bench/results"
out="$root/bench/results/producer-$stamp.json"
python3 - "$out" "$conns" "$seconds" "$seq_now" "${results[@]}" <<'PY'
import json, os, platform, sys
out, conns, secs, health = sys.argv[1:5]
rows = [json.loads(r) for r in sys.argv[5:]]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
json.dump({"date": os.path.basename(out)[9:-5], "kernel": platform.release(), "cpu": cpu,
           "cores": os.cpu_count(), "load_avg": os.getloadavg()[0], "tool": "wrk -t1 -c%s -d%ss" % (conns, secs),
           "broker_healthz_after": health, "results": rows}, open(out, "w"), indent=1)
print("wrote", out)
PY
