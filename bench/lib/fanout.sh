# bench/lib/fanout.sh — the body of broadcast.sh and topics.sh (sourced
# after common.sh and bench_init): N subscribers over T topics, a publisher
# at RATE events/s for DURATION s, then the figures.
#
#   fanout_run N T RATE DURATION PUB_CONNS
#
# Order of a run: server up; N subscribers connect and join (bounded wait);
# snapshot pub_start; the publisher runs (`loadgen --mode publish`, to the
# broker's /api/push for ringcast, to nchan's /pub/<topic> for nchan); the
# subscribers' event count is drained until it stops growing; snapshot
# pub_end; the subscribers end (TERM) and check their sequence against the
# publisher's per-topic counts (--expect-from), so an event that never
# arrived counts as missing.

# The command line both scenarios share: [--pub-conns C] then the
# positional arguments; broadcast.sh has no T (one topic).
#
#   fanout_main DEFAULT_PUB_CONNS USAGE ARGS...   (after bench_init)
fanout_main() {
    local pub_conns=$1 usage=$2
    shift 2
    local args=()
    while [ $# -gt 0 ]; do
        case "$1" in
            --pub-conns) pub_conns=$2; shift 2 ;;
            *) args+=("$1"); shift ;;
        esac
    done
    case ${#args[@]} in
        3) [ "$SCENARIO" = broadcast ] || die "usage: $usage"
           fanout_run "${args[0]}" 1 "${args[1]}" "${args[2]}" "$pub_conns" ;;
        4) [ "$SCENARIO" = topics ] || die "usage: $usage"
           fanout_run "${args[0]}" "${args[1]}" "${args[2]}" "${args[3]}" "$pub_conns" ;;
        *) die "usage: $usage" ;;
    esac
}

fanout_run() {
    local n=$1 topics=$2 rate=$3 dur=$4 pub_conns=$5
    [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -gt 0 ] || die "N must be a positive number"
    [[ "$topics" =~ ^[0-9]+$ ]] && [ "$topics" -gt 0 ] || die "T must be a positive number"
    [ "$topics" -le "$n" ] || die "T ($topics) must not exceed N ($n)"
    server_start "$n"
    nap 1
    snapshot before
    local connect_budget
    connect_budget=$(($(ceil_div "$n" "$CONNECT_RATE") + 30))
    # The subscribers' own duration is only an upper bound: they are ended
    # with TERM once the publisher is done and delivery has drained.
    clients_start "$n" "$topics" $((connect_budget + ${dur%.*} + 60)) --heartbeat-ms 30000 \
        --expect-from "$WORK/pub.json"
    clients_wait_ready "$n" "$connect_budget" || log "continuing with the connections that are ready"
    nap 1
    snapshot pub_start
    publisher_run "$topics" "$rate" "$dur" "$pub_conns"
    local sent
    sent=$(python3 -c "import json; print(json.load(open('$WORK/pub.json'))['ok'])")
    clients_drain $((sent * n / topics)) 15
    snapshot pub_end
    clients_stop || true
    write_result connections="$n" topics="$topics" rate="$rate" duration_s="$dur" pub_conns="$pub_conns" server_args="${BENCH_RINGCAST_ARGS:-}" \
        connect_rate_target="$CONNECT_RATE"
}
