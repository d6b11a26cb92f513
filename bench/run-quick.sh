#!/usr/bin/env bash
# The load-test suite of bench/: ringcast and nginx + nchan side by side,
# then bench/RESULTS.md's tables and the plots, regenerated from the JSON.
#
#   bench/run-quick.sh            the quick suite (`make bench`; under 10 minutes on 2 cores)
#   bench/run-quick.sh --full     the quick suite, then idle at 50k and 100k connections and a
#                                 broadcast to 100k subscribers at 1 event/s for 20 s (6 edges /
#                                 6 nginx workers, 3 to 6 loadgen processes); about 8 more minutes
#   bench/run-quick.sh --tables   only regenerate RESULTS.md and the plots from bench/results/
#   bench/run-quick.sh --backends the edge's two I/O backends side by side (io_uring, epoll): idle 10k,
#                                 broadcast to 10k at 10 and 100 events/s, storm 5k, and the send
#                                 floor (bench/micro/send_floor.c); about 5 minutes (with --full: idle 100k)
#   bench/run-quick.sh --hostile  hostile clients and connect spikes (ringcast alone), then their section of
#                                 RESULTS.md (bench/lib/hostile.py): hostile.sh (5,000 subscribers on a
#                                 10 events/s broadcast for 20 s, alone and next to 1,000 slowloris
#                                 connections + 200 join flooders) and spike.sh (15,000 clients within 2 s
#                                 at accept_rate 2,000/s per edge, 500 on a broadcast meanwhile; default
#                                 edges, then after ./ringcast prep); about 5 minutes. With --tables: only
#                                 that section, from the newest hostile-* and spike-* results
#   options: --no-nchan (ringcast alone)
#
# Quick suite: idle 10k; broadcast to 10k subscribers at 10 and 100 events/s
# for 20 s each; topics, 10k connections over 1,000 topics at 1,000
# events/s for 20 s (all for ringcast and nchan); storm 5k (ringcast).
# Each scenario is bounded (--max-seconds) and cleans up after itself; a
# scenario that fails is reported, the others still run, and RESULTS.md
# says which failed. Expects the build in build/bin (`make bench` does
# `make deps all micro` first). RESULTS.md shows this run's results; what
# it did not measure (the --full sizes after a quick run) keeps the newest
# earlier result, marked with its date.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1
sc=bench/scenarios
full=0 nchan=1 tables_only=0 backends=0 hostile=0
for a in "$@"; do
    case "$a" in
        --full) full=1 ;;
        --no-nchan) nchan=0 ;;
        --tables) tables_only=1 ;;
        --backends) backends=1 ;;
        --hostile) hostile=1 ;;
        *) echo "usage: $0 [--full] [--no-nchan] [--tables] [--backends] [--hostile]" >&2; exit 2 ;;
    esac
done

# The suite waits less for a quiet machine than a lone scenario does.
export BENCH_QUIET_WAIT=${BENCH_QUIET_WAIT:-20}
t0=$(date +%s)
since=$(date -u +%Y%m%dT%H%M%SZ)
notes=()
failed=0

say() { printf '== %s (%ss)\n' "$*" $(($(date +%s) - t0)); }

run() { # description, then the scenario command
    local what=$1
    shift
    say "$what"
    "$@"
    local rc=$?
    if [ $rc -ne 0 ]; then
        notes+=("failed in this run: \`$*\` (exit status $rc; logs in bench/out/)")
        failed=$((failed + 1))
        say "FAILED: $what"
    fi
}

if [ $hostile -eq 1 ]; then
    if [ $tables_only -eq 0 ]; then
        [ -x build/bin/loadgen ] && [ -x build/bin/edge ] || { echo "run make first" >&2; exit 1; }
        echo "bench: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc) cores," \
            "kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
        run "hostile: 5,000 subscribers, 1,000 slowloris + 200 join flooders" \
            $sc/hostile.sh --max-seconds 300 --slowloris 1000 --flooders 200 --joins 500 5000 10 20
        run "spike: 15,000 clients within 2 s, accept_rate 2,000/s per edge, without and with prep" \
            $sc/spike.sh --max-seconds 420 --accept-rate 2000 --existing 500 --spike-seconds 2 15000
    fi
    say "hostile section of RESULTS.md"
    hargs=()
    for n in "${notes[@]}"; do hargs+=(--note "$n"); done
    python3 bench/lib/hostile.py "${hargs[@]}" || { echo "hostile.py failed" >&2; exit 1; }
    say "done: $failed scenario(s) failed; the hostile section of bench/RESULTS.md regenerated"
    [ $failed -eq 0 ]
    exit
fi

if [ $tables_only -eq 0 ]; then
    [ -x build/bin/loadgen ] && [ -x build/bin/edge ] || { echo "run make first" >&2; exit 1; }
    if [ $nchan -eq 1 ] && ! bench/peers/nchan.sh install; then
        notes+=("nginx + libnginx-mod-nchan could not be installed: ringcast alone")
        nchan=0
    fi
    targets=(ringcast)
    [ $nchan -eq 1 ] && targets+=(nchan)
    echo "bench: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc) cores," \
        "kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"

    if [ $backends -eq 1 ]; then
        for io in uring epoll; do
            export BENCH_RINGCAST_ARGS="--io_backend $io"
            run "idle 10k ($io)" $sc/idle.sh --target ringcast --max-seconds 120 10000
            for rate in 10 100; do
                run "broadcast 10k subscribers, $rate events/s ($io)" \
                    $sc/broadcast.sh --target ringcast --max-seconds 150 10000 "$rate" 20
            done
            run "storm 5k ($io)" $sc/storm.sh --target ringcast --max-seconds 120 5000
            [ $full -eq 1 ] && run "idle 100k ($io)" $sc/idle.sh --target ringcast --servers 6 --max-seconds 300 100000
        done
        unset BENCH_RINGCAST_ARGS
        run "send floor" build/bin/send_floor --conns 5000 --rounds 200 \
            --json "bench/results/send-floor-$(date -u +%Y%m%dT%H%M%SZ).json"
        full=0 targets=()
    fi
    for t in "${targets[@]}"; do
        run "idle 10k ($t)" $sc/idle.sh --target "$t" --max-seconds 120 10000
    done
    for rate in 10 100; do
        for t in "${targets[@]}"; do
            run "broadcast 10k subscribers, $rate events/s ($t)" \
                $sc/broadcast.sh --target "$t" --max-seconds 150 10000 "$rate" 20
        done
    done
    for t in "${targets[@]}"; do
        run "topics 10k connections over 1,000 topics ($t)" \
            $sc/topics.sh --target "$t" --max-seconds 150 10000 1000 1000 20
    done
    [ ${#targets[@]} -gt 0 ] && run "storm 5k (ringcast)" $sc/storm.sh --target ringcast --max-seconds 120 5000

    if [ $full -eq 1 ]; then
        for n in 50000 100000; do
            for t in "${targets[@]}"; do
                run "idle $((n / 1000))k ($t)" $sc/idle.sh --target "$t" --servers 6 --max-seconds 300 "$n"
            done
        done
        for t in "${targets[@]}"; do
            run "broadcast 100k subscribers, 1 event/s ($t)" \
                $sc/broadcast.sh --target "$t" --servers 6 --max-seconds 300 100000 1 20
        done
    fi
fi

say "tables and plots"
cmd="make bench"
[ $full -eq 1 ] && cmd="make all && bench/run-quick.sh --full"
[ $tables_only -eq 1 ] && cmd="bench/run-quick.sh --tables (tables redrawn from the newest JSON of each scenario)"
targs=(--command "$cmd" --plot-data bench/out/plot)
[ $tables_only -eq 0 ] && targs+=(--since "$since")
for n in "${notes[@]}"; do targs+=(--note "$n"); done
python3 bench/lib/tables.py "${targs[@]}" || { echo "tables.py failed" >&2; exit 1; }
python3 bench/lib/backends.py || { echo "backends.py failed" >&2; exit 1; }

if ! command -v gnuplot >/dev/null; then
    echo "bench: installing gnuplot-nox (Debian package)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gnuplot-nox >/dev/null 2>&1 ||
        echo "bench: gnuplot-nox could not be installed: no plots" >&2
fi
if command -v gnuplot >/dev/null; then
    shopt -s nullglob
    for rc in bench/out/plot/cdf-*-ringcast.dat; do
        base=${rc%-ringcast.dat}
        nc=$base-nchan.dat
        [ -f "$nc" ] || nc=""
        name=$(basename "$base")
        ttl="latency CDF: $(sed -n '1s/^# latency CDF of //; 1s/ ringcast (.*//p' "$rc")"
        gnuplot -e "rc='$rc'; nc='$nc'; out='bench/out/latency-cdf-${name#cdf-}.png'; ttl='$ttl'" \
            bench/plot/latency_cdf.gp && echo "  bench/out/latency-cdf-${name#cdf-}.png"
    done
    if [ -s bench/out/plot/mem.dat ]; then
        gnuplot -e "dat='bench/out/plot/mem.dat'; out='bench/out/mem-per-conn.png'" bench/plot/mem_per_conn.gp \
            2>/dev/null && echo "  bench/out/mem-per-conn.png"
    fi
fi
say "done: $failed scenario(s) failed; bench/RESULTS.md regenerated"
[ $failed -eq 0 ]
