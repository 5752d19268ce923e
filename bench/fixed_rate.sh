#!/usr/bin/env bash
# One relay at one fixed offered rate in the bench's split layout, with the
# counters that explain a throughput difference: how busy the router's CPU
# was, how many datagrams each loop turn / recvmmsg batch handled, and how
# often the router woke the sink. Used for the ferry-vs-mmsg analysis in
# bench/RESULTS.md.
#
#   bench/fixed_rate.sh BUILD_DIR ferry|mmsg RATE_PPS [SECONDS]
#   FERRY_TUNING="batch_wait_us: 50" bench/fixed_rate.sh …   # extra ferry tuning keys
#
# Namespaces fr-gen / fr-rtr / fr-snk (removed on exit), 64 B datagrams from
# 64 flows; the router is pinned to CPU 0 with RPS putting its receive
# processing there, generator and sink on CPU 1; no UDP segmentation offload
# on the router's egress and no GRO at the sink, as in ferryd bench. Needs
# root, perf, ethtool.
set -euo pipefail
build=${1:?usage: bench/fixed_rate.sh BUILD_DIR ferry|mmsg RATE_PPS [SECONDS]}
impl=${2:?}; rate=${3:?}; secs=${4:-4}
ferryd=$build/src/daemon/ferryd; gen=$build/tools/ferry-gen/ferry-gen; ctl=$build/tools/ferryctl
work=$(mktemp -d /tmp/fixed-rate.XXXXXX)
cleanup() {
  for n in gen rtr snk; do
    for p in $(ip netns pids fr-$n 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    ip netns del fr-$n 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

for n in gen rtr snk; do ip netns add fr-$n; ip -n fr-$n link set lo up; done
ip -n fr-gen link add gen0 mtu 9000 type veth peer name rtr0 netns fr-rtr mtu 9000
ip -n fr-rtr link add rtr1 mtu 9000 type veth peer name snk0 netns fr-snk mtu 9000
ip -n fr-gen addr add 10.201.1.1/24 dev gen0; ip -n fr-gen link set gen0 up
ip -n fr-rtr addr add 10.201.1.2/24 dev rtr0; ip -n fr-rtr link set rtr0 up
ip -n fr-rtr addr add 10.201.2.1/24 dev rtr1; ip -n fr-rtr link set rtr1 up
ip -n fr-snk addr add 10.201.2.2/24 dev snk0; ip -n fr-snk link set snk0 up
ip netns exec fr-rtr sh -c 'echo 1 > /sys/class/net/rtr0/queues/rx-0/rps_cpus'
ip netns exec fr-rtr ethtool -K rtr1 tx-udp-segmentation off   # as ferryd bench does

cat >"$work/ferry.yaml" <<YAML
dataplanes: 1
control_socket: $work/ferry.sock
interfaces:
  - { name: in, bind: "10.201.1.2:5000" }
  - { name: out, bind: "10.201.2.1:5001", peer: "10.201.2.2:6000" }
relay:
  - { from: in, to: out }
${FERRY_TUNING:+tuning: { $FERRY_TUNING \}}
YAML
if [ "$impl" = ferry ]; then
  ip netns exec fr-rtr "$ferryd" run --config "$work/ferry.yaml" >"$work/router.out" 2>&1 &
else
  ip netns exec fr-rtr "$ferryd" bench peer-mmsg --listen 10.201.1.2:5000 --bind 10.201.2.1:5001 \
    --to 10.201.2.2:6000 --threads 1 >"$work/router.out" 2>&1 &
fi
router=$!
sleep 0.5
ip netns exec fr-snk taskset -c 1 "$gen" sink --listen 10.201.2.2:6000 --idle 1 --no-gro --json \
  >"$work/sink.json" 2>/dev/null &
sink=$!
sleep 0.3

cpu0() { awk '/^cpu0 /{print $2+$3+$4+$7+$8, $5+$6}' /proc/stat; }
ticks() { awk '{print $14+$15}' /proc/"$router"/stat; }
read -r b0 i0 < <(cpu0); t0=$(ticks)
perf stat -a -e sched:sched_wakeup --filter 'comm == "ferry-gen"' -o "$work/wakeups.txt" \
  -- sleep "$secs" &
perfpid=$!
ip netns exec fr-gen taskset -c 1 "$gen" send --to 10.201.1.2:5000 --from 10.201.1.1:20000 \
  --flows 64 --rate "$rate" --duration "$secs" --json >"$work/send.json"
read -r b1 i1 < <(cpu0); t1=$(ticks)
wait "$perfpid" "$sink" || true
loops=""
[ "$impl" = ferry ] && loops=$("$ctl" --socket "$work/ferry.sock" show stats --json)
kill "$router"; wait "$router" 2>/dev/null || true

python3 - "$impl" "$secs" "$b0" "$i0" "$b1" "$i1" "$t0" "$t1" "$work" "$loops" <<'PY'
import json, re, sys
impl, secs, b0, i0, b1, i1, t0, t1, work, loops = sys.argv[1:11]
secs = float(secs)
sent = json.load(open(f"{work}/send.json"))
got = json.load(open(f"{work}/sink.json"))
busy = (int(b1) - int(b0)) / max(1, (int(b1) - int(b0)) + (int(i1) - int(i0)))
proc = (int(t1) - int(t0)) / 100 / secs
wake = int(re.search(r"([\d,]+)\s+sched:sched_wakeup", open(f"{work}/wakeups.txt").read())
           .group(1).replace(",", ""))
packets = got["packets"]
if loops:
    j = json.loads(loops)
    turns = sum(d["loops"] for d in j["dataplanes"])
    rx = j["totals"]["rx_packets"]
    batch = f"{rx / max(1, turns):.1f} datagrams per loop turn"
else:
    j = json.loads(open(f"{work}/router.out").read().splitlines()[-1])
    batch = f"{j['rx_packets'] / max(1, j['batches']):.1f} datagrams per recvmmsg"
print(f"{impl}: offered {sent['pps'] / 1e3:.1f} kpps, received {packets / secs / 1e3:.1f} kpps, "
      f"loss {1 - packets / max(1, sent['packets']):.4%}; CPU 0 busy {busy:.1%} "
      f"(router process {proc:.1%}); {batch}; sink wake-ups {wake / secs / 1e3:.1f} k/s "
      f"({packets / max(1, wake):.1f} datagrams per wake-up)")
PY
