#!/usr/bin/env bash
# A region larger than /dev/shm is refused at start with the sizes and the
# fix, never a SIGBUS later: the broker runs in a mount namespace of its own
# whose /dev/shm is a 12 MiB tmpfs (a container's /dev/shm is 64 MiB by
# default), asked for a 64 MiB log. Then the same with a log that fits.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${RINGCAST_BIN:-$PWD/build/bin}
if ! unshare -m true 2>/dev/null; then
    echo "SKIP: needs a mount namespace (root)"; exit 0
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
inst="space$$"
set +e
unshare -m bash -c "mount -t tmpfs -o size=12M tmpfs /dev/shm && exec timeout 10 '$bin/broker' --instance $inst --broker_port 0 --log_size 64M" >"$out" 2>&1
rc=$?
set -e
cat "$out"
[ $rc -eq 1 ] || { echo "broker exited $rc, want 1 (refused)"; exit 1; }
grep -q "needs 73 MiB but /dev/shm has 12 MiB free" "$out" || { echo "no message naming the sizes"; exit 1; }
grep -q -- "--log_size" "$out" && grep -q -- "--shm-size" "$out" || { echo "no message naming the fix"; exit 1; }
if grep -q "SIGBUS\|Bus error" "$out"; then echo "died of SIGBUS"; exit 1; fi
# A log that fits starts (and is stopped by the timeout).
set +e
unshare -m bash -c "mount -t tmpfs -o size=12M tmpfs /dev/shm && exec timeout -s TERM 1 '$bin/broker' --instance $inst --broker_port 0 --log_size 1M" >"$out" 2>&1
rc=$?
set -e
grep -q 'msg="log created"' "$out" || { cat "$out"; echo "a 1M log in 12 MiB did not start (exit $rc)"; exit 1; }
echo "region space: 64M log refused in a 12 MiB /dev/shm with the sizes and the fix; 1M log created"
