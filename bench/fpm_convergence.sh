#!/usr/bin/env bash
# FPM convergence: a BGP peer announces N routes (default 100,000 IPv4 /24s)
# to FRR bgpd beside ferryd; zebra streams them to ferry over FPM. Measures
# the time from the first FPM route message ferry receives until its
# forwarding table holds all N (and a sample of them forwards), and the same
# for their withdrawal when the peer goes away.
#
#   bench/fpm_convergence.sh BUILD_DIR [ROUTES [BATCH_MS]]
#
# Namespaces (created here, removed on exit): fc-r runs ferryd (route mode,
# `fpm:`), zebra (-M dplane_fpm_nl) and bgpd (AS 65000); fc-p runs the peer's
# bgpd (AS 65001, no zebra, `network` statements). They share a veth,
# 10.99.0.1/24 - 10.99.0.2/24; 10.99.0.2 is the peer of ferry's interface
# "west", so every route maps to it.
#
# Times are ferry's own (show routes' fpm object): from burst_start_unix_ms
# (the first route message after a second without any; a rebuild that keeps
# ferry from reading for over a second starts a new burst, so at a full
# table the figure from the peer's start or SIGTERM is the one to compare) to
# last_publish_unix_ms of the publish whose table has all N routes (or
# none, for the withdrawal); dataplanes take a new table at their next batch.
# `ferryctl show routes --json` is polled back to back to see that publish.
# Needs root and FRR (Debian package frr).
set -euo pipefail
build=${1:?usage: bench/fpm_convergence.sh BUILD_DIR [ROUTES [BATCH_MS]]}
n=${2:-100000}; batch_ms=${3:-100}
ferryd=$build/src/daemon/ferryd; gen=$build/tools/ferry-gen/ferry-gen; ctl=$build/tools/ferryctl
r=fc-r; p=fc-p
work=$(mktemp -d /tmp/fpm-conv.XXXXXX)
chmod 755 "$work"  # FRR runs as user frr: its directories below must be reachable
cleanup() {
  for ns in $r $p; do
    for pid in $(ip netns pids $ns 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del $ns 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
ms() { date +%s%3N; }
show() { ip netns exec $r "$ctl" --socket "$work/ferry.sock" show routes --json 2>/dev/null | jq -c "$1"; }

ip netns add $r; ip netns add $p
ip link add fcw netns $r type veth peer name fcp netns $p
ip -n $r addr add 10.99.0.1/24 dev fcw; ip -n $r link set fcw up; ip -n $r link set lo up
ip -n $p addr add 10.99.0.2/24 dev fcp; ip -n $p link set fcp up; ip -n $p link set lo up

cat > "$work/ferry.yaml" <<EOF
dataplanes: 2
mode: route
control_socket: $work/ferry.sock
interfaces:
  - { name: in, bind: "10.99.0.1:5000" }
  - { name: west, bind: "10.99.0.1:5001", peer: "10.99.0.2:6001" }
fpm: { listen: "127.0.0.1:2620", batch_ms: $batch_ms }
EOF
ip netns exec $r "$ferryd" run --config "$work/ferry.yaml" 2> "$work/ferryd.log" &
mkdir -p "$work/r" "$work/p"
printf 'hostname fc-r\nfpm address 127.0.0.1 port 2620\n!\n' > "$work/r/zebra.conf"
cat > "$work/r/bgpd.conf" <<EOF
hostname fc-r
router bgp 65000
 bgp router-id 10.99.0.1
 no bgp ebgp-requires-policy
 neighbor 10.99.0.2 remote-as 65001
 neighbor 10.99.0.2 timers 1 3
 neighbor 10.99.0.2 timers connect 1
!
EOF
{
  printf 'hostname fc-p\nrouter bgp 65001\n bgp router-id 10.99.0.2\n no bgp ebgp-requires-policy\n'
  printf ' no bgp network import-check\n neighbor 10.99.0.1 remote-as 65000\n'
  printf ' neighbor 10.99.0.1 timers 1 3\n neighbor 10.99.0.1 timers connect 1\n neighbor 10.99.0.1 advertisement-interval 0\n'
  printf ' address-family ipv4 unicast\n'
  awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf "  network %d.%d.%d.0/24\n", 20 + int(i / 65536), int(i / 256) % 256, i % 256 }'
  printf ' exit-address-family\n!\n'
} > "$work/p/bgpd.conf"
chown -R frr:frr "$work/r" "$work/p"
d=$work/r
ip netns exec $r /usr/lib/frr/zebra -f $d/zebra.conf -i $d/zebra.pid -z $d/zserv.api --vty_socket $d \
  -A 127.0.0.1 -M dplane_fpm_nl > "$work/zebra.log" 2>&1 &
for _ in $(seq 100); do [ -S $d/zserv.api ] && break; sleep 0.1; done
ip netns exec $r /usr/lib/frr/bgpd -f $d/bgpd.conf -i $d/bgpd.pid -z $d/zserv.api --vty_socket $d \
  -A 127.0.0.1 > "$work/bgpd.log" 2>&1 &
for _ in $(seq 200); do [ "$(show .fpm.state)" = '"connected"' ] && break; sleep 0.1; done
[ "$(show .fpm.state)" = '"connected"' ] || { echo "zebra never connected to ferry"; cat "$work/ferryd.log"; exit 1; }
sleep 1

# Announce: start the peer.
d=$work/p
started=$(ms)
ip netns exec $p /usr/lib/frr/bgpd -Z -f $d/bgpd.conf -i $d/bgpd.pid --vty_socket $d -A 127.0.0.1 \
  > "$work/peer.log" 2>&1 &
peer=$!
deadline=$(( $(ms) + 300000 ))
while [ "$(ms)" -lt $deadline ]; do
  doc=$(ip netns exec $r "$ctl" --socket "$work/ferry.sock" show routes --json 2>/dev/null | jq -c '{f: .sources.fpm, p: .fpm.last_publish_unix_ms, b: .fpm.burst_start_unix_ms, l: .fpm.last_update_unix_ms}')
  [ "$(jq .f <<< "$doc")" -ge "$n" ] && { all=$(jq .p <<< "$doc"); first=$(jq .b <<< "$doc"); last=$(jq .l <<< "$doc"); break; }
done
[ -n "${all:-}" ] || { echo "ferry never had all $n routes: $(show .fpm)"; exit 1; }
summary=$(show '{batches: .fpm.batches, max_build_ms: .fpm.max_build_ms, last_build_ms: .fpm.last_build_ms, messages: .fpm.messages, errors: .fpm.errors}')

# Forwarding on them: 1,000 datagrams to addresses spread over the first 256 routes.
ip netns exec $p "$gen" send --to 10.99.0.1:5000 --encap ipv4 --inner-dst 20.0.0.0/16 --flows 64 \
  --count 1000 --rate 20000 --json --quiet > "$work/send.json"
sleep 0.5
stats=$(ip netns exec $r "$ctl" --socket "$work/ferry.sock" show stats --json)
tx=$(jq '.interfaces[] | select(.name == "west") | .tx_packets' <<< "$stats")
no_route=$(jq '.interfaces[] | select(.name == "in") | .drops.no_route' <<< "$stats")
rss=$(awk '$1 == "VmRSS:" { print $2 }' /proc/$(pgrep -f "ferryd run --config $work/ferry.yaml" | head -1)/status)

# One change at a time at that table: the peer announces one more /24
# after a quiet spell (a lone change is published at once), $CHURN times
# (default 5). Per change: ferry's own latency (zebra's message -> the
# publish with the route) and the whole path (the peer's vtysh command ->
# that publish), and the batch's build time.
lone=""
for i in $(seq 1 "${CHURN:-5}"); do
  sleep 2
  net="40.0.$i.0/24"  # beyond the announced 20.0.0.0-35.255.255.0
  t0=$(ms)
  ip netns exec $p vtysh --vty_socket "$work/p" -d bgpd -c 'configure terminal' -c 'router bgp 65001' \
    -c 'address-family ipv4 unicast' -c "network $net" > /dev/null
  deadline=$(( $(ms) + 30000 ))
  until [ "$(ip netns exec $r "$ctl" --socket "$work/ferry.sock" show routes "40.0.$i.1" --json 2>/dev/null | jq -r '.route.prefix // empty')" = "$net" ]; do
    [ "$(ms)" -lt $deadline ] || { echo "ferry never had $net: $(show .fpm)"; exit 1; }
    sleep 0.02  # the times are ferry's own: polling slower only spares the CPUs
  done
  doc=$(show '{p: .fpm.last_publish_unix_ms, l: .fpm.last_update_unix_ms, b: .fpm.last_build_ms}')
  lone+="$((  $(jq .p <<< "$doc") - $(jq .l <<< "$doc") )) ms / $(( $(jq .p <<< "$doc") - t0 )) ms (build $(jq .b <<< "$doc") ms); "
done

# Withdraw: the peer goes away with a Cease notification (SIGTERM).
killed=$(ms)
kill -TERM $peer
deadline=$(( $(ms) + 300000 ))
while [ "$(ms)" -lt $deadline ]; do
  doc=$(ip netns exec $r "$ctl" --socket "$work/ferry.sock" show routes --json 2>/dev/null | jq -c '{f: .sources.fpm, p: .fpm.last_publish_unix_ms, b: .fpm.burst_start_unix_ms, l: .fpm.last_update_unix_ms}')
  [ "$(jq .f <<< "$doc")" -eq 0 ] && { wall=$(jq .p <<< "$doc"); wfirst=$(jq .b <<< "$doc"); wlast=$(jq .l <<< "$doc"); break; }
done
[ -n "${wall:-}" ] || { echo "the routes were never withdrawn: $(show .fpm)"; exit 1; }
wsummary=$(show '{batches: .fpm.batches, max_build_ms: .fpm.max_build_ms}')

echo "routes: $n IPv4 /24 from a BGP peer, batch_ms $batch_ms"
echo "announce: first FPM route message -> all $n in ferry's table: $((all - first)) ms; zebra's last message -> published: $((all - last)) ms ($summary); the peer's start -> all: $((all - started)) ms"
echo "forwarding: $(jq .packets "$work/send.json") datagrams sent (+ ferry-gen's end markers), $tx out of west, no_route $no_route; ferryd RSS $((rss / 1024)) MiB"
echo "one more route at a time: zebra's message -> published / the peer's command -> published: $lone"
echo "withdraw: first FPM delete -> none left: $((wall - wfirst)) ms; zebra's last message -> published: $((wall - wlast)) ms ($wsummary); the peer's SIGTERM -> none left: $((wall - killed)) ms"
