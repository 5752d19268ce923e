#!/usr/bin/env bash
# A TCP transfer through route mode, with ferry's UDP GRO on and off, side by
# side: iperf3 between two socat TUN hosts (real IP-in-UDP endpoints, as in
# tests/integration/route_test.cc) through ferryd in a router namespace.
# The router's ingress veths do GRO as a NIC does (gro + rx-udp-gro-forwarding,
# threaded NAPI), so runs of the tunnel's datagrams can reach ferry as trains.
#
#   bench/tcp_route_gro.sh BUILD_DIR [SECONDS] [ROUNDS]
#   SOCAT_RCVBUF=BYTES bench/tcp_route_gro.sh …   # socat's SO_RCVBUF (default:
#                                                  # the kernel's, rmem_default)
#
# Prints one line per run (gro on / off alternating, ROUNDS each) with the
# throughput, the sender's TCP retransmits, ferry's datagrams per receive
# (rx_packets / rx_gro_trains on the ingress), the datagrams ferry dropped,
# and the datagrams the kernel dropped at each socat's full UDP receive queue
# (the drops column of /proc/net/udp in tg-a and tg-b), the counters that
# moved during the run (see counters() below: the TCP ends' retransmits and
# out-of-order queueing, the TUN devices' drops, the backlog drops), then the
# medians. Namespaces
# tg-a / tg-r / tg-b are removed on exit. Needs root, socat, iperf3, ethtool.
set -euo pipefail
build=${1:?usage: bench/tcp_route_gro.sh BUILD_DIR [SECONDS] [ROUNDS]}
secs=${2:-5}; rounds=${3:-3}
rcvbuf=${SOCAT_RCVBUF:-}
ferryd=$build/src/daemon/ferryd; ctl=$build/tools/ferryctl
work=$(mktemp -d /tmp/tcp-route-gro.XXXXXX)
cleanup() {
  for n in a r b; do
    for p in $(ip netns pids tg-$n 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    ip netns del tg-$n 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

for n in a r b; do ip netns add tg-$n; ip -n tg-$n link set lo up; done
ip -n tg-a link add v0 type veth peer name va netns tg-r
ip -n tg-b link add v0 type veth peer name vb netns tg-r
ip -n tg-a addr add 10.1.0.1/24 dev v0; ip -n tg-a link set v0 up
ip -n tg-b addr add 10.2.0.1/24 dev v0; ip -n tg-b link set v0 up
ip -n tg-r addr add 10.1.0.254/24 dev va; ip -n tg-r link set va up
ip -n tg-r addr add 10.2.0.254/24 dev vb; ip -n tg-r link set vb up
for dev in va vb; do
  ip netns exec tg-r ethtool -K $dev gro on rx-udp-gro-forwarding on >/dev/null
  ip netns exec tg-r sh -c "echo 1 > /sys/class/net/$dev/threaded"
done

tunnel() {  # NS DEV V4 SELF ROUTER
  ip netns exec tg-$1 socat TUN:$3,tun-name=$2,iff-no-pi,up \
    UDP-DATAGRAM:$5:4000,bind=$4:4000${rcvbuf:+,rcvbuf=$rcvbuf} >/dev/null 2>&1 &
  disown
  for _ in $(seq 50); do ip -n tg-$1 link show $2 >/dev/null 2>&1 && break; sleep 0.1; done
  ip -n tg-$1 link set $2 mtu 1400
  ip -n tg-$1 route add 10.9.0.0/16 dev $2
}
tunnel a tunA 10.9.1.1/24 10.1.0.1 10.1.0.254
tunnel b tunB 10.9.2.1/24 10.2.0.1 10.2.0.254
ip netns exec tg-b iperf3 -s -D -1 --logfile "$work/iperf3-s.log" >/dev/null 2>&1 || true
# What the kernel granted socat (SO_RCVBUF is capped at net.core.rmem_max);
# ss shows it doubled, as the kernel keeps it.
echo "socat receive buffer: ${rcvbuf:-default} asked, $(ip netns exec tg-b ss -uamn 'sport = :4000' \
  | grep -o 'rb[0-9]*' | head -1) granted (net.core.rmem_max $(sysctl -n net.core.rmem_max))"

socat_drops() {  # NS -> the drops of its UDP sockets on port 4000 (0FA0)
  ip netns exec tg-$1 awk '$2 ~ /:0FA0$/ { d += $NF } END { print d + 0 }' /proc/net/udp
}

# Where else a segment can be lost or reordered, as NAME=VALUE lines: the TCP
# counters of the sender (a) and the receiver (b), the TUN devices' drops,
# and the kernel's per-CPU backlog drops (softnet_stat, all namespaces).
counters() {
  for n in a b; do
    ip netns exec tg-$n nstat -az | awk -v n=$n '$1 ~ /^(TcpRetransSegs|TcpExtTCPSACKReorder|TcpExtTCPTSReorder|TcpExtTCPDSACKRecv|TcpExtTCPSpuriousRTOs|TcpExtTCPOFOQueue|TcpExtTCPLossProbes)$/ { print n "." $1 "=" $2 }'
  done
  for t in a:tunA b:tunB; do
    ip -n tg-${t%%:*} -s -j link show ${t#*:} | python3 -c '
import json, sys
s, dev = json.load(sys.stdin)[0]["stats64"], sys.argv[1]
for way in ("rx", "tx"):
    print(dev + "." + way + "_dropped=" + str(s[way]["dropped"]))' ${t#*:}
  done
  python3 -c '
print("softnet_dropped=" + str(sum(int(l.split()[1], 16) for l in open("/proc/net/softnet_stat"))))'
}

run() {  # GRO(true|false) -> prints "gro=… mbps=… retransmits=… per_train=… …"
  cat >"$work/ferry.yaml" <<YAML
dataplanes: 1
mode: route
control_socket: $work/ferry.sock
tuning: { gro: $1 }
interfaces:
  - { name: a, bind: "10.1.0.254:4000", peer: "10.1.0.1:4000" }
  - { name: b, bind: "10.2.0.254:4000", peer: "10.2.0.1:4000" }
routes:
  - { prefix: "10.9.1.0/24", via: [a] }
  - { prefix: "10.9.2.0/24", via: [b] }
YAML
  ip netns exec tg-r "$ferryd" run --config "$work/ferry.yaml" >"$work/ferryd.log" 2>&1 &
  local pid=$!
  for _ in $(seq 50); do [ -S "$work/ferry.sock" ] && break; sleep 0.1; done
  ip netns exec tg-b sh -c "pkill -x iperf3 || true"
  ip netns exec tg-b iperf3 -s -D -1 >/dev/null 2>&1
  sleep 0.3
  local drops_a drops_b; drops_a=$(socat_drops a); drops_b=$(socat_drops b)
  counters >"$work/before"
  ip netns exec tg-a iperf3 -c 10.9.2.1 -t "$secs" -J >"$work/iperf3.json" 2>/dev/null || true
  local stats; stats=$("$ctl" --socket "$work/ferry.sock" show stats --json)
  drops_a=$(( $(socat_drops a) - drops_a )); drops_b=$(( $(socat_drops b) - drops_b ))
  counters >"$work/after"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  python3 - "$1" "$work/iperf3.json" "$stats" "$drops_a" "$drops_b" "$work/before" "$work/after" <<'PY'
import json, sys
gro, path, stats = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
drops_a, drops_b = int(sys.argv[4]), int(sys.argv[5])
def load(f):
    return {k: int(v) for k, v in (l.strip().split("=") for l in open(f) if "=" in l)}
before, after = load(sys.argv[6]), load(sys.argv[7])
moved = " ".join(f"{k}={after[k] - before.get(k, 0)}" for k in sorted(after)
                 if after[k] != before.get(k, 0))
try:
    end = json.load(open(path))["end"]
    mbps = end["sum_received"]["bits_per_second"] / 1e6
    retr = end["sum_sent"].get("retransmits", -1)
except Exception:
    mbps, retr = 0.0, -1
a = stats["interfaces"][0]
trains = a["rx_gro_trains"]
per = a["rx_packets"] / trains if trains else 1.0
dropped = sum(i["dropped"] for i in stats["interfaces"])
reasons = ",".join(f'{i["name"]}.{k}' for i in stats["interfaces"] for k, v in i["drops"].items() if v)
print(f"gro={gro} mbps={mbps:.0f} retransmits={retr} per_train={per:.2f} "
      f"ferry_dropped={dropped}{'(' + reasons + ')' if reasons else ''} socat_a_drops={drops_a} socat_b_drops={drops_b}"
      + (" " + moved if moved else ""))
PY
}

results=()
for _ in $(seq "$rounds"); do
  for gro in true false; do
    line=$(run $gro); echo "$line"; results+=("$line")
  done
done
printf '%s\n' "${results[@]}" >"$work/results.txt"
python3 - "$work/results.txt" <<'PY'
import statistics, sys
rows = [dict(kv.split("=") for kv in l.split()) for l in open(sys.argv[1]) if l.strip()]
for gro in ("true", "false"):
    r = [x for x in rows if x["gro"] == gro]
    mbps = statistics.median(float(x["mbps"]) for x in r)
    retr = statistics.median(int(x["retransmits"]) for x in r)
    drops = statistics.median(int(x["socat_b_drops"]) for x in r)
    print(f"median gro={gro}: {mbps:.0f} Mbit/s, retransmits {retr:.0f}, "
          f"drops at the receiving socat {drops:.0f}")
PY
