#!/usr/bin/env bash
# broadcast: one topic, N subscribers, a publisher at RATE events/s.
#
#   bench/scenarios/broadcast.sh [--target ringcast|nchan] [--pub-conns C] N RATE DURATION
#       [--servers K] [--clients P] [--src-ips K] [--max-seconds S]
#
# Figures: delivered frames/s, latency p50/p90/p99/p999/max (publisher's
# send time -> subscriber's receive time, merged histogram of all loadgen
# processes), losses (missing, duplicated, out of order), server CPU-seconds
# per million delivered frames (utime + stime of every server process:
# ringcast's broker and edges, nginx's master and workers).
#
# The publisher uses one connection by default (--pub-conns 1) so events
# reach the server in the order of their sequence numbers; with more, two
# events in flight at once may be committed in either order, which the
# subscribers would count as out of order although no server reordered
# anything. One connection also means the publisher waits for each answer:
# a server that answers slowly gets fewer events per second than RATE (the
# result shows the rate achieved).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"
# shellcheck source=../lib/fanout.sh
source "$here/../lib/fanout.sh"

bench_init broadcast "$@"
fanout_main 1 "broadcast.sh [--target T] [--pub-conns C] N RATE DURATION" "${POS[@]}"
