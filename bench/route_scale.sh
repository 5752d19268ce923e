#!/usr/bin/env bash
# A full routing table in route mode: how long ferryd takes to be ready with
# 1,000,000 IPv4 + 200,000 IPv6 routes (a routes file shaped like the
# Internet table, bench/make_routes), its resident memory with 2 dataplanes,
# and a reload of the same table while traffic crosses it and an in-band BFD
# session runs: the reload's time and peak memory, datagrams lost, BFD
# transitions.
#
#   bench/route_scale.sh BUILD_DIR [V4_ROUTES [V6_ROUTES [ROUNDS]]]
#
# Everything runs on the loopback of a network namespace the script creates
# (rs-bench, removed on exit):
#
#   ferry-gen send --encap ipv4 -> ferryd A (route mode, the table; egress
#   "out" with in-band BFD) -> ferryd B (relay, BFD peer) -> ferry-gen sink
#
# Ready: from starting ferryd until its control socket answers. Steady RSS:
# VmRSS 1 s later. Reload peak: VmHWM after `ferryctl reload`, with the peak
# reset (/proc/PID/clear_refs) just before it. Traffic: 20 kpps of 64 flows
# for the whole reload; the sink's loss counts every datagram sent and not
# received. Needs root.
set -euo pipefail
build=${1:?usage: bench/route_scale.sh BUILD_DIR [V4_ROUTES [V6_ROUTES [ROUNDS]]]}
v4=${2:-1000000}; v6=${3:-200000}; rounds=${4:-3}
ferryd=$build/src/daemon/ferryd; gen=$build/tools/ferry-gen/ferry-gen; ctl=$build/tools/ferryctl
ns=rs-bench
work=$(mktemp -d /tmp/route-scale.XXXXXX)
cleanup() {
  for p in $(ip netns pids $ns 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
  ip netns del $ns 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
in_ns() { ip netns exec $ns "$@"; }
now() { date +%s.%N; }
kib() { awk -v k="$1" '$1 == k":" { print $2 }' "/proc/$2/status"; }

ip netns add $ns
ip -n $ns link set lo up

"$build/bench/make_routes" "$v4" "$v6" out >"$work/routes.txt"
echo "0.0.0.0/0 out" >>"$work/routes.txt"  # the generator's inner destinations
cat >"$work/a.yaml" <<YAML
dataplanes: 2
mode: route
control_socket: $work/a.sock
interfaces:
  - { name: in, bind: "127.0.0.1:7100" }
  - { name: out, bind: "127.0.0.1:7101", peer: "127.0.0.1:7201", bfd: { interval_ms: 100, detect_mult: 3 } }
routes_file: routes.txt
YAML
cat >"$work/b.yaml" <<YAML
dataplanes: 1
control_socket: $work/b.sock
interfaces:
  - { name: in, bind: "127.0.0.1:7201", peer: "127.0.0.1:7101", bfd: { interval_ms: 100, detect_mult: 3 } }
  - { name: to, bind: "127.0.0.1:7202", peer: "127.0.0.1:7300" }
relay:
  - { from: in, to: to }
YAML
in_ns "$ferryd" run --config "$work/b.yaml" >"$work/b.log" 2>&1 &

transitions() {  # BFD transitions of A's and B's sessions, summed
  local sum=0 n
  for s in a b; do
    n=$(in_ns "$ctl" --socket "$work/$s.sock" show bfd --json |
        python3 -c 'import json,sys; print(sum(s["transitions"] for s in json.load(sys.stdin)["sessions"]))')
    sum=$((sum + n))
  done
  echo $sum
}

printf '%-5s %-9s %-10s %-9s %-13s %-7s %-6s %-8s %-6s\n' round ready_s steady_MiB reload_s reload_peak_MiB peak_x sent lost bfd_flaps
for round in $(seq 1 "$rounds"); do
  rm -f "$work/a.sock"
  t0=$(now)
  ip netns exec $ns "$ferryd" run --config "$work/a.yaml" >"$work/a.log" 2>&1 &
  a=$!  # ip netns exec execs ferryd: the same process
  until in_ns "$ctl" --socket "$work/a.sock" show stats >/dev/null 2>&1; do
    kill -0 $a 2>/dev/null || { cat "$work/a.log"; exit 1; }
    sleep 0.01
  done
  ready=$(echo "$(now) - $t0" | bc)
  # BFD up before the traffic and the reload.
  up=0
  for _ in $(seq 100); do
    in_ns "$ctl" --socket "$work/a.sock" show bfd --json | grep -q '"state": *"up"' && { up=1; break; }
    sleep 0.05
  done
  [ $up = 1 ] || { echo "BFD session did not come up" >&2; exit 1; }
  sleep 1
  steady=$(kib VmRSS $a)
  before=$(transitions)
  in_ns "$gen" sink --listen 127.0.0.1:7300 --decap --expect-from-gen --duration 30 --json \
    >"$work/sink.json" 2>/dev/null &
  sink=$!
  sleep 0.2
  in_ns "$gen" send --to 127.0.0.1:7100 --encap ipv4 --flows 64 --rate 20k --duration 6 --json \
    >"$work/send.json" 2>/dev/null &
  send=$!
  sleep 2
  echo 5 >"/proc/$a/clear_refs"
  t0=$(now)
  in_ns "$ctl" --socket "$work/a.sock" reload >/dev/null
  reload=$(echo "$(now) - $t0" | bc)
  peak=$(kib VmHWM $a)
  wait $send
  wait $sink || true
  after=$(transitions)
  sent=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["packets"])' "$work/send.json")
  got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["packets"])' "$work/sink.json")
  printf '%-5s %-9.2f %-10.1f %-9.2f %-15.1f %-7.2f %-6s %-8s %-6s\n' "$round" "$ready" \
    "$(echo "$steady / 1024" | bc -l)" "$reload" "$(echo "$peak / 1024" | bc -l)" \
    "$(echo "$peak / $steady" | bc -l)" "$sent" "$((sent - got))" "$((after - before))"
  kill $a
  wait $a || true
done
