# bench/lib/common.sh — sourced by bench/scenarios/*.sh.
#
# What every scenario shares: its options (--target ringcast|nchan,
# --servers K, --clients P, --src-ips K, --max-seconds S), a work directory
# bench/out/<scenario>-<target>-<stamp>/ for logs and the loadgen's raw JSON,
# starting and stopping the server under test, the loadgen processes, server
# snapshots (bench/lib/procstat.py) and the final result JSON
# (bench/lib/result.py) in bench/results/.
#
# Cleanup: every process a scenario starts is recorded by pid (track);
# an EXIT trap signals each of them (TERM, then KILL after 5 s) and stops the
# server (ringcast: `./ringcast stop` with the instance's own pid files;
# nchan: bench/peers/nchan.sh stop, by its pid file). A watchdog ends the
# scenario with TERM after --max-seconds, so every run is bounded even when
# something hangs. Nothing is ever killed by name.

set -euo pipefail

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${RINGCAST_BIN:-$BENCH_ROOT/build/bin}
LOADGEN=$BIN/loadgen
RESULTS_DIR=${BENCH_RESULTS_DIR:-$BENCH_ROOT/bench/results}
OUT_ROOT=${BENCH_OUT_DIR:-$BENCH_ROOT/bench/out}
PER_PROCESS=18000        # connections per loadgen process / edge / nginx worker (20,000 fds each)
CONNECT_RATE=${BENCH_CONNECT_RATE:-5000} # connects per second, all loadgen processes together

SCENARIO=""
TARGET=ringcast
SERVERS=""               # edges / nginx workers; "" = default of the scenario
CLIENTS=""               # loadgen processes; "" = ceil(N / PER_PROCESS)
SRC_IPS=16
MAX_SECONDS=300
POS=()                   # positional arguments left for the scenario
COMMAND_LINE=""

TRACKED=()
CLIENT_PIDS=()
CLIENT_JSONS=()
CLIENT_LOGS=()
SERVER_KIND=""           # set once a server is started (for cleanup)
WATCHDOG_PID=""
WORK=""
STAMP=""

log() { printf '[%s %s/%s] %s\n' "$(date -u +%H:%M:%S)" "$SCENARIO" "$TARGET" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

pid_alive() {
    local st
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

track() { TRACKED+=("$1"); }

# Forgets a pid once it has been reaped (its number may then be reused).
untrack() {
    local p keep=()
    for p in "${TRACKED[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    TRACKED=("${keep[@]}")
}

# sleep that a signal interrupts (a foreground sleep would delay the traps).
nap() {
    sleep "$1" &
    local p=$!
    track "$p"
    wait "$p" 2>/dev/null || true
    untrack "$p"
}

need_python() {
    command -v python3 >/dev/null && return 0
    log "installing python3 (Debian package)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 >/dev/null ||
        die "python3 is missing and could not be installed"
}

# Parses the shared options; the rest stays in POS. Sets up the work
# directory, the traps and the watchdog.
bench_init() {
    SCENARIO=$1
    shift
    COMMAND_LINE="bench/scenarios/$SCENARIO.sh $*"
    while [ $# -gt 0 ]; do
        case "$1" in
            --target) TARGET=${2:?--target needs ringcast or nchan}; shift 2 ;;
            --servers) SERVERS=${2:?--servers needs a number}; shift 2 ;;
            --clients) CLIENTS=${2:?--clients needs a number}; shift 2 ;;
            --src-ips) SRC_IPS=${2:?--src-ips needs a number}; shift 2 ;;
            --max-seconds) MAX_SECONDS=${2:?--max-seconds needs a number}; shift 2 ;;
            --*) POS+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
            *) POS+=("$1"); shift ;;
        esac
    done
    case "$TARGET" in ringcast | nchan) ;; *) die "--target must be ringcast or nchan" ;; esac
    [ -x "$LOADGEN" ] || die "$LOADGEN not found (run make)"
    if [ "$TARGET" = ringcast ] && { [ ! -x "$BIN/broker" ] || [ ! -x "$BIN/edge" ]; }; then
        die "ringcast binaries not found in $BIN (run make)"
    fi
    need_python
    STAMP=$(date -u +%Y%m%dT%H%M%SZ)
    WORK=$OUT_ROOT/$SCENARIO-$TARGET-$STAMP
    mkdir -p "$WORK" "$RESULTS_DIR"
    trap bench_cleanup EXIT
    trap 'log "interrupted"; exit 130' INT
    trap 'log "terminated (watchdog after ${MAX_SECONDS}s, or TERM)"; exit 143' TERM
    (
        trap 'kill "$sp" 2>/dev/null; exit 0' TERM
        sleep "$MAX_SECONDS" &
        sp=$!
        wait "$sp"
        kill -TERM $$ 2>/dev/null
    ) &
    WATCHDOG_PID=$!
    log "work dir $WORK (bounded to ${MAX_SECONDS}s)"
    wait_quiet
}

# The machine is shared: before measuring, wait (at most BENCH_QUIET_WAIT s,
# default 30) until the CPUs were less than 25 % busy over one second, and
# record what was seen (it goes into the result as cpu_busy_before_percent).
CPU_BUSY_BEFORE="" QUIET_WAITED=0
cpu_busy_1s() {
    local a b
    a=$(awk '/^cpu / {print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6; exit}' /proc/stat)
    sleep 1
    b=$(awk '/^cpu / {print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6; exit}' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ");
        t = y[1] - x[1]; i = y[2] - x[2]; printf "%.0f\n", (t > 0 ? 100 * (t - i) / t : 0) }'
}
wait_quiet() {
    local limit=${BENCH_QUIET_WAIT:-30} busy="" i
    for ((i = 0; i < limit; i++)); do
        busy=$(cpu_busy_1s)
        [ "$busy" -lt 25 ] && break
        [ $i -eq 0 ] && log "machine busy (${busy}% CPU); waiting up to ${limit}s for it to calm down"
    done
    [ -n "$busy" ] || busy=$(cpu_busy_1s) # BENCH_QUIET_WAIT=0: measure once, do not wait
    CPU_BUSY_BEFORE=$busy QUIET_WAITED=$i
    log "CPU busy before the run: ${busy}% (waited ${i}s); load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

# Waits for pid to exit for at most secs seconds; 0 if it did (reaped), 1 if not.
wait_pid() {
    local pid=$1 secs=$2 i
    for ((i = 0; i < secs * 10; i++)); do
        pid_alive "$pid" || { wait "$pid" 2>/dev/null || true; untrack "$pid"; return 0; }
        sleep 0.1
    done
    return 1
}

stop_pids() { # TERM each pid, wait up to 5 s in all, KILL the ones left
    local p i left
    [ $# -eq 0 ] && return 0
    for p in "$@"; do pid_alive "$p" && kill -TERM "$p" 2>/dev/null; done
    for ((i = 0; i < 50; i++)); do
        left=0
        for p in "$@"; do pid_alive "$p" && left=1; done
        [ $left -eq 0 ] && break
        sleep 0.1
    done
    for p in "$@"; do pid_alive "$p" && kill -KILL "$p" 2>/dev/null; done
    for p in "$@"; do wait "$p" 2>/dev/null || true; done
    return 0  # callers untrack what they no longer own
}

bench_cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +e
    [ ${#TRACKED[@]} -gt 0 ] && stop_pids "${TRACKED[@]}"
    server_stop
    if [ -n "$WATCHDOG_PID" ]; then
        kill -TERM "$WATCHDOG_PID" 2>/dev/null
        wait "$WATCHDOG_PID" 2>/dev/null
    fi
    [ $rc -ne 0 ] && log "exit status $rc; logs in $WORK"
    exit $rc
}

# A TCP port nothing listens on, below the ephemeral range (so no client
# socket of the run can take it meanwhile).
free_port() {
    local p i
    for ((i = 0; i < 200; i++)); do
        p=$((20000 + RANDOM % 12000))
        if ! ss -Htln "sport = :$p" 2>/dev/null | grep -q .; then
            echo "$p"
            return 0
        fi
    done
    die "no free port found"
}

ceil_div() { echo $((($1 + $2 - 1) / $2)); }

# Server processes for connections: ceil(N / 18000), at least one per core;
# +extra when some of them will be killed (storm).
default_servers() { # connections [extra]
    local n=$1 extra=${2:-0} s cores
    cores=$(nproc)
    s=$(($(ceil_div "$n" $PER_PROCESS) + extra))
    [ "$s" -lt "$cores" ] && s=$cores
    echo "$s"
}

# ---- the server under test -------------------------------------------------

RC_INSTANCE="" RC_RUN_DIR="" NCHAN_DIR=""
WS_PORT="" PUB_PORT=""

server_start() { # connections
    local n=$1
    [ -n "$SERVERS" ] || SERVERS=$(default_servers "$n")
    WS_PORT=$(free_port)
    if [ "$TARGET" = ringcast ]; then
        PUB_PORT=$(free_port)
        while [ "$PUB_PORT" = "$WS_PORT" ]; do PUB_PORT=$(free_port); done
        RC_INSTANCE=bench-$SCENARIO-$$
        RC_RUN_DIR=$WORK/ringcast
        SERVER_KIND=ringcast
        log "starting ringcast: $SERVERS edges on 127.0.0.1:$WS_PORT, broker on 127.0.0.1:$PUB_PORT"
        "$BENCH_ROOT/ringcast" start --instance "$RC_INSTANCE" --run_dir "$RC_RUN_DIR" --edges "$SERVERS" \
            --edge_host 127.0.0.1 --edge_port "$WS_PORT" --broker_port "$PUB_PORT" ${BENCH_RINGCAST_ARGS:-} \
            >"$WORK/ringcast-start.log" 2>&1 || { cat "$WORK/ringcast-start.log" >&2; die "ringcast did not start"; }
    else
        NCHAN_DIR=$WORK/nchan
        mkdir -p "$NCHAN_DIR"
        SERVER_KIND=nchan
        log "starting nginx + nchan: $SERVERS workers on 127.0.0.1:$WS_PORT"
        local m
        m=$("$BENCH_ROOT/bench/peers/nchan.sh" start "$NCHAN_DIR" "$WS_PORT" "$n" "$SERVERS") ||
            die "nginx + nchan did not start (see $NCHAN_DIR)"
        log "nginx master pid $m"
    fi
}

server_pids() {
    if [ "$SERVER_KIND" = ringcast ]; then
        local f
        for f in "$RC_RUN_DIR"/broker.pid "$RC_RUN_DIR"/edge.*.pid; do
            [ -f "$f" ] && pid_alive "$(cat "$f")" && cat "$f"
        done
    elif [ "$SERVER_KIND" = nchan ]; then
        "$BENCH_ROOT/bench/peers/nchan.sh" pids "$NCHAN_DIR"
    fi
    return 0
}

server_stop() {
    if [ "$SERVER_KIND" = ringcast ]; then
        "$BENCH_ROOT/ringcast" stop --instance "$RC_INSTANCE" --run_dir "$RC_RUN_DIR" >/dev/null 2>&1 ||
            log "ringcast stop reported an error"
    elif [ "$SERVER_KIND" = nchan ]; then
        "$BENCH_ROOT/bench/peers/nchan.sh" stop "$NCHAN_DIR" || log "nchan stop reported an error"
    fi
    SERVER_KIND=""
}

server_describe() { # one JSON object: what ran, with what settings
    if [ "$TARGET" = ringcast ]; then
        printf '{"name":"ringcast","edges":%s,"edge_port":%s,"broker_port":%s,"options":"defaults (max_connections 19000 per edge)"}' \
            "$SERVERS" "$WS_PORT" "$PUB_PORT"
    else
        printf '{"name":"nginx+nchan","workers":%s,"port":%s,"nginx":"%s","nchan":"%s","config":"bench/peers/nchan.conf"}' \
            "$SERVERS" "$WS_PORT" "$(nginx -v 2>&1 | sed 's/.*nginx\///')" \
            "$(dpkg-query -W -f='${Version}' libnginx-mod-nchan 2>/dev/null)"
    fi
}

# One line of server + machine figures appended to $WORK/snaps.jsonl.
snapshot() { # name
    # shellcheck disable=SC2046
    python3 "$BENCH_ROOT/bench/lib/procstat.py" "$1" $(server_pids) -- "${CLIENT_PIDS[@]}" >>"$WORK/snaps.jsonl"
}

# ---- loadgen ----------------------------------------------------------------

# Starts the subscribers: connections over topics, in P processes of at most
# 18,000 each, numbered continuously (--first-index) so topics and source
# addresses spread the same way whatever P is. Extra loadgen flags follow.
clients_start() { # connections topics duration_s [loadgen flags...]
    local n=$1 topics=$2 dur=$3 procs per i first cnt rate
    shift 3
    procs=${CLIENTS:-$(ceil_div "$n" $PER_PROCESS)}
    CLIENTS=$procs
    per=$(ceil_div "$n" "$procs")
    rate=$(python3 -c "print(max(1.0, $CONNECT_RATE / $procs))")
    local mode=()
    if [ "$TARGET" = ringcast ]; then
        mode=(--mode phoenix --port "$WS_PORT" --path /socket/websocket --topic-prefix bench:)
    else
        mode=(--mode raw --port "$WS_PORT" --path '/sub/bench:%d')
    fi
    log "starting $procs loadgen process(es) for $n connections over $topics topic(s) at $CONNECT_RATE connects/s"
    for ((i = 0; i < procs; i++)); do
        first=$((i * per))
        cnt=$((n - first < per ? n - first : per))
        [ "$cnt" -gt 0 ] || break
        CLIENT_JSONS+=("$WORK/client.$i.json")
        CLIENT_LOGS+=("$WORK/client.$i.log")
        "$LOADGEN" "${mode[@]}" --host 127.0.0.1 --connections "$cnt" --first-index "$first" --topics "$topics" \
            --rate "$rate" --src-ips "$SRC_IPS" --duration "$dur" --json "$WORK/client.$i.json" "$@" \
            >"$WORK/client.$i.log" 2>&1 &
        CLIENT_PIDS+=($!)
        track $!
    done
}

# Sums a field of the last progress line of every loadgen log.
clients_sum() { # field (open, joined, events, attempted, failed)
    local f total=0 v
    for f in "${CLIENT_LOGS[@]}"; do
        v=$(grep '^loadgen t=' "$f" 2>/dev/null | tail -n 1 | sed -n "s/.* $1=\([0-9]*\).*/\1/p")
        total=$((total + ${v:-0}))
    done
    echo "$total"
}

clients_ready() { # connections ready: joined (phoenix) or open (raw)
    if [ "$TARGET" = ringcast ]; then clients_sum joined; else clients_sum open; fi
}

clients_alive() {
    local p
    for p in "${CLIENT_PIDS[@]}"; do pid_alive "$p" && return 0; done
    return 1
}

# Waits until want connections are ready; 0 when they are, 1 on timeout or
# when every loadgen has exited.
clients_wait_ready() { # want timeout_s
    local want=$1 secs=$2 i r=0
    for ((i = 0; i < secs * 5; i++)); do
        r=$(clients_ready)
        [ "$r" -ge "$want" ] && { log "$r connections ready"; return 0; }
        clients_alive || { log "every loadgen exited with $r ready"; return 1; }
        sleep 0.2
    done
    log "timeout: $r of $want connections ready after ${secs}s"
    return 1
}

# Ends the subscribers (TERM: each closes its connections and writes its JSON).
clients_stop() {
    local p rc=0
    for p in "${CLIENT_PIDS[@]}"; do pid_alive "$p" && kill -TERM "$p" 2>/dev/null; done
    for p in "${CLIENT_PIDS[@]}"; do
        wait_pid "$p" 30 || { log "loadgen $p did not finish in 30 s; killing it"; kill -KILL "$p" 2>/dev/null; rc=1; }
    done
    return $rc
}

# Runs the publisher in the foreground (bounded): rate events/s for dur s.
publisher_run() { # topics rate duration_s pub_conns
    local topics=$1 rate=$2 dur=$3 conns=$4 pid
    local fmt=()
    if [ "$TARGET" = ringcast ]; then
        fmt=(--url "http://127.0.0.1:$PUB_PORT/api/push")
    else
        fmt=(--format nchan --nchan-url "http://127.0.0.1:$WS_PORT/pub/%s")
    fi
    log "publishing $rate events/s over $topics topic(s) for ${dur}s ($conns connection(s))"
    "$LOADGEN" --mode publish "${fmt[@]}" --topics "$topics" --topic-prefix bench: --rate "$rate" \
        --duration "$dur" --pub-conns "$conns" --json "$WORK/pub.json" >"$WORK/pub.log" 2>&1 &
    pid=$!
    track "$pid"
    wait_pid "$pid" $(($(printf '%.0f' "$dur") + 15)) || die "publisher did not finish"
    tail -n 1 "$WORK/pub.log" >&2
    [ -s "$WORK/pub.json" ] || die "publisher wrote no JSON (see $WORK/pub.log)"
}

# Waits until the subscribers' event count stops growing (or reaches want):
# the frames still in flight when the publisher stops.
clients_drain() { # want_events max_s
    local want=$1 secs=$2 i last=-1 same=0 e
    for ((i = 0; i < secs * 4; i++)); do
        e=$(clients_sum events)
        [ "$e" -ge "$want" ] && return 0
        if [ "$e" -eq "$last" ]; then
            same=$((same + 1))
            [ $same -ge 6 ] && return 0 # unchanged over 1.5 s (progress lines come every 1 s)
        else
            same=0
        fi
        last=$e
        sleep 0.25
    done
    return 0
}

machine_json() {
    printf '{"cpu":"%s","cores":%s,"kernel":"%s","mem_total_kb":%s}' \
        "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" "$(nproc)" "$(uname -r)" \
        "$(awk '/^MemTotal/ {print $2}' /proc/meminfo)"
}

# Writes the scenario's result: bench/results/<scenario>-<target>-<stamp>.json.
# Extra "key=value" arguments become params (numbers when they look like one).
write_result() { # key=value...
    local out=$RESULTS_DIR/$SCENARIO-$TARGET-$STAMP.json
    printf '{"command":"%s","machine":%s,"server":%s,"clients":%s,"src_ips":%s,"cpu_busy_before_percent":%s,"quiet_waited_s":%s}\n' \
        "$COMMAND_LINE" "$(machine_json)" "$(server_describe)" "${CLIENTS:-0}" "$SRC_IPS" \
        "${CPU_BUSY_BEFORE:-null}" "$QUIET_WAITED" >"$WORK/meta.json"
    python3 "$BENCH_ROOT/bench/lib/result.py" --scenario "$SCENARIO" --target "$TARGET" --stamp "$STAMP" \
        --work "$WORK" --out "$out" "$@" || die "could not write the result"
    log "result: ${out#"$BENCH_ROOT"/}"
}
