#!/usr/bin/env bash
# The `tools/dev demo` walk-through: ferryd relaying on loopback with 2
# dataplanes, traffic from ferry-gen through it, then what arrived and the
# daemon's counters; then a quick benchmark run. Everything started here is stopped on exit, also on
# Ctrl-C or failure. Usage: tools/demo.sh BUILD_DIR
set -euo pipefail

build=${1:?usage: tools/demo.sh BUILD_DIR}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
config=$root/configs/relay-loopback.yaml
ferryd=$build/src/daemon/ferryd
ferryctl=$build/tools/ferryctl
gen=$build/tools/ferry-gen/ferry-gen
socket=/tmp/ferry-demo/ferry.sock
work=$(mktemp -d /tmp/ferry-demo-run.XXXXXX)
pids=()

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "config: $config"
"$ferryd" check-config "$config"

say "starting ferryd (2 dataplanes, relay in -> out)"
"$ferryd" run --config "$config" >"$work/ferryd.out" 2>"$work/ferryd.err" &
pids+=($!)
for _ in $(seq 100); do
  grep -q "dataplanes started" "$work/ferryd.err" && break
  sleep 0.05
done
cat "$work/ferryd.err"

say "ss -ulpn: one socket per dataplane per interface, on the same address"
ss -ulpn | grep -E '127\.0\.0\.1:4000[12]' || true

say "sink on 127.0.0.1:40003, sender 16 flows at 20,000 pps for 3 s into 127.0.0.1:40001"
"$gen" sink --listen 127.0.0.1:40003 --idle 2 --quiet >"$work/sink.out" 2>&1 &
sink=$!
pids+=($sink)
sleep 0.3
"$gen" send --to 127.0.0.1:40001 --flows 16 --rate 20000 --duration 3 --sizes 64,512,1400 --quiet
wait "$sink" || true

say "what the sink received"
cat "$work/sink.out"

say "ferryctl show stats"
"$ferryctl" --socket "$socket" show stats

say "stopping ferryd (SIGTERM)"
kill -TERM "${pids[0]}"
wait "${pids[0]}" && echo "ferryd exited 0"
pids=("${pids[@]:1}")
tail -n 3 "$work/ferryd.err"

if [ "$(id -u)" -eq 0 ]; then
  say "benchmark mode, reduced matrix (ferryd bench --quick: ferry vs a recvmmsg/sendmmsg relay, ~30 s)"
  "$ferryd" bench --quick
else
  say "skipping ferryd bench --quick (it builds network namespaces: needs root)"
fi
