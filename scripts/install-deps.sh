#!/usr/bin/env bash
# Installs what ringcast needs to build, run and test, if it is missing:
# Debian packages, and (with --test) the npm modules of the integration
# tests into tests/node/node_modules; --bench adds the load tools. Never installs Debian's nodejs/npm over
# an existing Node. Quiet and fast when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0 want_bench=0
[ "${1:-}" = "--test" ] && want_test=1
[ "${1:-}" = "--bench" ] && want_bench=1

pkgs=(gcc make pkg-config liburing-dev libevent-dev libjansson-dev libssl-dev libmsgpack-dev libsodium-dev libjwt-dev libcurl4-openssl-dev check curl)
[ $want_test -eq 1 ] && pkgs+=(clang libclang-rt-dev procps python3 libseccomp-dev util-linux)
# the load tools of bench/ (nginx + nchan, the peer, installs itself: bench/peers/nchan.sh)
[ $want_bench -eq 1 ] && pkgs+=(wrk procps python3 gnuplot-nox)

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ $want_test -eq 1 ] && ! command -v node >/dev/null; then
    missing+=(nodejs npm) # only where no Node exists at all
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    sudo_cmd=()
    [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get update -qq
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ $want_test -eq 1 ]; then
    # The phoenix client is pinned (1.8.16) in tests/node/package.json.
    if ! node -e 'process.exit(require("./tests/node/node_modules/phoenix/package.json").version === "1.8.16" ? 0 : 1)' 2>/dev/null ||
       [ ! -d tests/node/node_modules/ws ] || [ ! -d tests/node/node_modules/pushex ]; then
        echo "deps: npm install (tests/node)"
        (cd tests/node && npm install --no-audit --no-fund --loglevel=error >/dev/null)
    fi
fi
