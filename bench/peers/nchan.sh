#!/usr/bin/env bash
# nginx + nchan, the benchmarks' peer: install, start, stop, list processes.
#
#   bench/peers/nchan.sh install              Debian nginx + libnginx-mod-nchan if missing
#   bench/peers/nchan.sh start DIR PORT CONNECTIONS [WORKERS]
#   bench/peers/nchan.sh pids DIR             master and workers, one per line
#   bench/peers/nchan.sh stop DIR
#
# start writes DIR/nginx.conf from bench/peers/nchan.conf and runs
# `nginx -p DIR -c DIR/nginx.conf -e DIR/error.log` in the foreground mode
# (daemon off) as a background child, pid file DIR/nginx.pid, listening on
# 127.0.0.1:PORT only; it prints the master's pid once /healthz answers.
# WORKERS defaults to enough workers for CONNECTIONS at ~18,000 each (the
# 20,000-descriptor limit of a process), and at least one per core. The
# system's nginx (/etc/nginx, its service) is never read, started or stopped.
#
# stop signals the master (TERM: fast shutdown), waits up to 10 s for the
# master and the workers it had, then KILLs whatever of those pids is left.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MODULE=/usr/lib/nginx/modules/ngx_nchan_module.so
PER_WORKER=18000

die() { echo "nchan.sh: $*" >&2; exit 1; }

pid_alive() {
    local st
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

install() {
    if command -v nginx >/dev/null && [ -f "$MODULE" ]; then return 0; fi
    echo "nchan.sh: installing nginx + libnginx-mod-nchan (Debian packages)" >&2
    local sudo_cmd=()
    [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get update -qq >&2 || true
    # nginx's postinst may start the system service where an init system
    # runs; we never use it (other ports, own prefix) and leave it alone.
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends nginx libnginx-mod-nchan >&2 ||
        die "apt-get install nginx libnginx-mod-nchan failed"
    command -v nginx >/dev/null && [ -f "$MODULE" ] || die "nginx or $MODULE missing after install"
}

workers_for() { # connections
    local n=$1 cores w
    cores=$(nproc)
    w=$(((n + PER_WORKER - 1) / PER_WORKER))
    [ "$w" -lt "$cores" ] && w=$cores
    echo "$w"
}

master_pid() { [ -f "$1/nginx.pid" ] && cat "$1/nginx.pid"; }

pids() {
    local dir=$1 m
    m=$(master_pid "$dir") || return 0
    pid_alive "$m" || return 0
    echo "$m"
    pgrep -P "$m" || true
}

start() {
    local dir=$1 port=$2 conns=$3 workers=${4:-}
    [ -n "$workers" ] || workers=$(workers_for "$conns")
    install
    mkdir -p "$dir/tmp"
    chmod 755 "$dir" "$dir/tmp"
    sed -e "s|@PORT@|$port|g" -e "s|@WORKERS@|$workers|g" -e "s|@PREFIX@|$dir|g" \
        "$here/nchan.conf" >"$dir/nginx.conf"
    nginx -t -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" >"$dir/configtest.log" 2>&1 ||
        { cat "$dir/configtest.log" >&2; die "nginx -t refused $dir/nginx.conf"; }
    nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" >>"$dir/nginx.out" 2>&1 </dev/null &
    local m=$! i
    echo "$m" >"$dir/master.pid" # the pid we started, in case nginx.pid never appears
    for ((i = 0; i < 100; i++)); do
        if curl -sf --max-time 1 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 &&
            [ "$(pgrep -c -P "$m" || true)" -ge "$workers" ]; then
            echo "$m"
            return 0
        fi
        pid_alive "$m" || { cat "$dir/error.log" "$dir/nginx.out" >&2 2>/dev/null; die "nginx exited at start"; }
        sleep 0.1
    done
    stop "$dir"
    die "nginx did not answer on 127.0.0.1:$port within 10 s"
}

stop() {
    local dir=$1 m all=() p i
    m=$(master_pid "$dir" || cat "$dir/master.pid" 2>/dev/null || true)
    [ -n "$m" ] || return 0
    pid_alive "$m" || { rm -f "$dir/nginx.pid"; return 0; }
    mapfile -t all < <(pids "$dir")
    kill -TERM "$m" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        local left=0
        for p in "${all[@]}"; do pid_alive "$p" && left=1; done
        [ $left -eq 0 ] && break
        sleep 0.1
    done
    for p in "${all[@]}"; do pid_alive "$p" && kill -KILL "$p" 2>/dev/null; done
    rm -f "$dir/nginx.pid"
    return 0
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
    install) install ;;
    start) [ $# -ge 3 ] || die "usage: start DIR PORT CONNECTIONS [WORKERS]"; start "$@" ;;
    pids) [ $# -eq 1 ] || die "usage: pids DIR"; pids "$1" ;;
    stop) [ $# -eq 1 ] || die "usage: stop DIR"; stop "$1" ;;
    workers) workers_for "${1:?connections}" ;;
    *) echo "usage: $0 install | start DIR PORT CONNECTIONS [WORKERS] | pids DIR | stop DIR" >&2; exit 2 ;;
esac
