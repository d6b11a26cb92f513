#!/usr/bin/env bash
# Runs every test against one build tree (make test passes build/asan):
# unit tests (Check), fuzz corpus replays, integration tests (shell and the
# official phoenix client under node's test runner). Each test is one line
# PASS/FAIL; a failure prints its output. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: run-tests.sh BUILD_DIR}
export RINGCAST_BIN=$PWD/$build/bin
# The tests find a cluster's run directory at /tmp/ringcast-<instance>, the
# default when XDG_RUNTIME_DIR is not set (a desktop session sets it).
unset XDG_RUNTIME_DIR
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
logdir=$(mktemp -d /tmp/ringcast-tests.XXXXXX)
pass=0 fail=0 failed=()

run() { # name command...
    local name=$1 log
    shift
    log="$logdir/$(echo "$name" | tr '/ ' '__').log"
    local t0=$SECONDS
    if "$@" >"$log" 2>&1; then
        pass=$((pass + 1))
        printf 'PASS %-48s %3ss  %s\n' "$name" $((SECONDS - t0)) "$(grep -E '^[0-9]+%: Checks|^# pass|^replayed|records/s|^idle cluster|^option table|^region space|^docs:' "$log" | tr '\n' ' ')"
    else
        fail=$((fail + 1))
        failed+=("$name")
        printf 'FAIL %-48s %3ss\n' "$name" $((SECONDS - t0))
        sed 's/^/    | /' "$log" | tail -n 80
    fi
}

for t in "$build"/tests/test_*; do
    [ -x "$t" ] && run "unit/$(basename "$t")" "$t"
done
# The shm log under stress: real processes on real shared memory (ASan),
# a writer killed with SIGKILL mid-stream, and the same with threads under
# ThreadSanitizer (it cannot see races across processes).
if [ -x "$build/tests/stress_log_stress" ]; then
    run "stress/log-fork-4-readers" "$build/tests/stress_log_stress" --mode fork --records 3000000 --readers 4
    run "stress/log-writer-killed" "$build/tests/stress_log_stress" --mode fork --records 300000 --readers 2 --crash
fi
tsan=${TSAN_BUILD:-}
if [ -n "$tsan" ]; then
    export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:exitcode=66}
    for t in log region topic_index wake futex upring doorbell slots log_watch user_conns hydrate_cap hpool; do
        [ -x "$tsan/tests/test_$t" ] && run "tsan/test_$t" env CK_FORK=no "$tsan/tests/test_$t"
    done
    [ -x "$tsan/tests/stress_log_stress" ] &&
        run "tsan/stress-log-threads" "$tsan/tests/stress_log_stress" --mode threads --records 200000 --readers 4
fi
for r in build/fuzz/replay_*; do
    [ -x "$r" ] || continue
    n=${r##*/replay_}
    run "fuzz-replay/$n" "$r" "tests/fuzz/corpus/$n"
done
# A unit test that fails inside a Check fixture never reaches its teardown,
# so its region stays in /dev/shm: remove those whose process is gone
# (names are ringcast-unit-<suite>-<pid>-<n>).
for f in /dev/shm/ringcast-unit-*; do
    [ -e "$f" ] || continue
    p=$(basename "$f" | awk -F- '{print $(NF-1)}')
    [ -d "/proc/$p" ] || rm -f "$f"
done
# The integration suite runs once per edge I/O backend (tests/node/lib/cluster.js
# passes it to every edge and checks the edges run on it).
for io in uring epoll; do
    export RINGCAST_TEST_IO_BACKEND=$io
    for t in tests/integration/test_*.sh; do
        [ -f "$t" ] && run "integration/$io/$(basename "$t" .sh)" bash "$t"
    done
    for t in tests/node/*.test.js; do
        [ -f "$t" ] && run "node/$io/$(basename "$t" .test.js)" node --test --test-reporter=tap "$t"
    done
done
unset RINGCAST_TEST_IO_BACKEND

rm -rf "$logdir"
echo
[ $fail -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
