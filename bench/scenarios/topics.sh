#!/usr/bin/env bash
# topics: N connections over T topics (connection i joins bench:<i % T>), a
# publisher at RATE events/s round robin over the topics.
#
#   bench/scenarios/topics.sh [--target ringcast|nchan] [--pub-conns C] N T RATE DURATION
#       [--servers K] [--clients P] [--src-ips K] [--max-seconds S]
#
# Same figures as broadcast.sh. The publisher uses 4 connections by default:
# consecutive events of one topic are T events apart, so they are never in
# flight together unless RATE / T is very high.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"
# shellcheck source=../lib/fanout.sh
source "$here/../lib/fanout.sh"

bench_init topics "$@"
fanout_main 4 "topics.sh [--target T] [--pub-conns C] N T RATE DURATION" "${POS[@]}"
