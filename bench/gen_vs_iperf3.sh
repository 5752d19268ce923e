#!/usr/bin/env bash
# ferry-gen beside iperf3 -u on this machine, in one run, same UDP payload sizes.
#
#   bench/gen_vs_iperf3.sh [BUILD_DIR] [SECONDS]      (defaults: build, 3)
#
# For each size (64 and 1400 bytes of UDP payload) it runs, one after the
# other over loopback, each sender unlimited for SECONDS with its own receiver:
#   ferry-gen send (no GSO)  -> ferry-gen sink
#   ferry-gen send --gso     -> ferry-gen sink (UDP_GRO)
#   iperf3 -u -b 0 -l SIZE   -> iperf3 -s
# and prints a markdown table: sender pps and Gbit/s (UDP payload bits),
# received pps (packets that arrived / sender seconds), and the sender pps as
# a multiple of iperf3's. Then it runs the BM_GenSend Google Benchmark (the
# generator alone, into a socket nobody reads). Sender and receiver share the
# machine's cores; numbers move from run to run, so compare within one run.
set -euo pipefail

build=${1:-build}
secs=${2:-3}
gen=$build/tools/ferry-gen/ferry-gen
bench=$build/bench/gen_bench
for exe in "$gen" "$bench"; do
  [ -x "$exe" ] || { echo "missing $exe (build first: ninja -C $build)" >&2; exit 2; }
done
command -v iperf3 >/dev/null || { echo "iperf3 is not installed" >&2; exit 2; }

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Prints "sender_pps sender_bps received_packets sender_seconds".
run_gen() {
  local size=$1; shift
  local port; port=$(free_port)
  "$gen" sink --listen "127.0.0.1:$port" --expect-from-gen --duration $((secs + 10)) --json \
    >"$tmp/sink.json" 2>"$tmp/sink.err" &
  local sink=$!; pids+=("$sink")
  for _ in $(seq 100); do grep -q listening "$tmp/sink.err" && break; sleep 0.05; done
  "$gen" send --to "127.0.0.1:$port" --duration "$secs" --size "$size" "$@" --json >"$tmp/send.json"
  wait "$sink"
  python3 - "$tmp/send.json" "$tmp/sink.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); r = json.load(open(sys.argv[2]))
print(s["pps"], s["bps"], r["packets"], s["duration_s"])
PY
}

run_iperf3() {
  local size=$1
  local port; port=$(free_port)
  iperf3 -s -1 -p "$port" >/dev/null 2>&1 &
  local server=$!; pids+=("$server")
  sleep 0.5
  iperf3 -u -c 127.0.0.1 -p "$port" -b 0 -l "$size" -t "$secs" --json >"$tmp/iperf3.json"
  wait "$server" || true
  python3 - "$tmp/iperf3.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["end"]["sum"]
print(s["packets"] / s["seconds"], s["bits_per_second"], s["packets"] - s["lost_packets"], s["seconds"])
PY
}

echo "ferry-gen vs iperf3 -u, loopback, ${secs} s per run, $(nproc) CPUs, $(uname -r), iperf3 $(iperf3 --version | head -1 | awk '{print $2}')"
echo
echo "| UDP payload | sender | sender pps | sender Gbit/s | received pps | sender pps / iperf3 |"
echo "|---:|---|---:|---:|---:|---:|"
for size in 64 1400; do
  read -r ip_pps ip_bps ip_rx ip_s < <(run_iperf3 "$size")
  read -r g_pps g_bps g_rx g_s < <(run_gen "$size")
  read -r gg_pps gg_bps gg_rx gg_s < <(run_gen "$size" --gso)
  python3 - "$size" "$ip_pps" "$ip_bps" "$ip_rx" "$ip_s" "$g_pps" "$g_bps" "$g_rx" "$g_s" \
    "$gg_pps" "$gg_bps" "$gg_rx" "$gg_s" <<'PY'
import sys
size = sys.argv[1]
v = list(map(float, sys.argv[2:]))
rows = [("iperf3 -u -b 0", v[0:4]), ("ferry-gen", v[4:8]), ("ferry-gen --gso", v[8:12])]
base = v[0]
for name, (pps, bps, rx, secs) in rows:
    print(f"| {size} B | {name} | {pps/1e3:,.0f} k | {bps/1e9:.2f} | {rx/secs/1e3:,.0f} k | {pps/base:.2f}x |")
PY
done
echo
echo "Google Benchmark, generator alone (BM_GenSend):"
"$bench" --benchmark_filter=BM_GenSend --benchmark_counters_tabular=true 2>/dev/null
