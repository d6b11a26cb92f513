#!/usr/bin/env bash
# The README's option table is the one the code prints: no option missing,
# none stale, defaults the same.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${RINGCAST_BIN:-build/bin}
readme=$(sed -n '/<!-- options:begin -->/,/<!-- options:end -->/p' README.md | sed '1d;$d')
code=$("$bin/broker" --print-options)
edge=$("$bin/edge" --print-options)
[ "$code" = "$edge" ] || { echo "broker and edge print different option tables"; exit 1; }
if [ "$readme" != "$code" ]; then
    echo "README option table differs from the code (update README.md from 'build/bin/broker --print-options'):"
    diff <(echo "$readme") <(echo "$code") || true
    exit 1
fi
# Unknown options are refused by both programs.
if "$bin/broker" --no_such_option 1 2>/dev/null; then echo "broker accepted an unknown option"; exit 1; fi
if "$bin/edge" --no_such_option 1 2>/dev/null; then echo "edge accepted an unknown option"; exit 1; fi
echo "option table: $(echo "$code" | tail -n +3 | wc -l) options, README in sync"
