#!/usr/bin/env bash
# No polling: an idle cluster (broker + 2 edges, a few idle WebSocket
# clients with heartbeats off) uses no measurable CPU. The edges' timing
# wheel ticks once a second while they hold connections; nothing else may
# wake them. Measured from /proc/PID/stat (utime+stime, clock ticks).
set -euo pipefail
cd "$(dirname "$0")/../.."
inst="idlecpu-$$"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ep=$(port) bp=$(port)
cleanup() { ./ringcast stop --instance "$inst" >/dev/null 2>&1 || true; rm -rf "/tmp/ringcast-$inst" "/dev/shm/ringcast-$inst"; kill "${holders[@]}" 2>/dev/null || true; }
holders=()
trap cleanup EXIT
./ringcast start --instance "$inst" --edges 2 --edge_host 127.0.0.1 --edge_port "$ep" --broker_port "$bp" --log_size 16M ${RINGCAST_TEST_IO_BACKEND:+--io_backend "$RINGCAST_TEST_IO_BACKEND"} >/dev/null
# Four idle WebSocket connections (handshake done, then silence).
for i in 1 2 3 4; do
    python3 - "$ep" <<'PY' &
import socket, sys, time, base64, os
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(f"GET /socket/websocket?vsn=2.0.0 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\r\n".encode())
assert s.recv(4096).startswith(b"HTTP/1.1 101"), "handshake"
time.sleep(30)
PY
    holders+=($!)
done
sleep 1
ticks() { local t=0 p; for p in $(cat "/tmp/ringcast-$inst"/*.pid); do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $t; }
conns=$(curl -s "http://127.0.0.1:$bp/healthz" | python3 -c 'import json,sys; print(sum(e["connections"] for e in json.load(sys.stdin)["edges"]))')
[ "$conns" = 4 ] || { echo "expected 4 connections, healthz says $conns"; exit 1; }
before=$(ticks)
sleep 10
after=$(ticks)
hz=$(getconf CLK_TCK)
used=$((after - before))
echo "idle cluster (broker + 2 edges, 4 idle connections): $used ticks of 1/$hz s CPU over 10 s"
# 1 tick = 10 ms = 0.1% of one core over 10 s; allow 3 for ASan builds.
[ "$used" -le 3 ] || { echo "idle cluster is burning CPU"; exit 1; }
