#!/usr/bin/env python3
"""Where a router's CPU time goes, from `perf record -e cpu-clock -g` data.

    bench/perf_summary.py PERF.DATA [--binary-name ferryd] [--top 3]

Reads `perf script` output (perf must be installed) and sorts every sample
of the recorded processes into one category by its call chain:

  user: <binary>          the sample's instruction is in the router's own code
  user: libraries         libc, liburing, libstdc++ …
  kernel: softirq receive network input processing (net_rx_action: IP and UDP
                          receive, socket enqueue, waking the reader) of
                          arriving datagrams, wherever it ran in the router's
                          context — its own ingress (RPS) and, since a veth
                          hands a datagram to the next namespace's stack on
                          the sending CPU, the next hop's, inline in the
                          router's own sends
  kernel: recvmsg         the receive system call side: dequeue, copy to user
                          space, control messages, freeing the skb
  kernel: sendmsg         the send side down to the veth (udp_sendmsg, route
                          lookup, skb allocation, IP output)
  kernel: io_uring        io_uring submission, completion and task work outside
                          the two above
  kernel: sched/other     scheduler, system call entry, timers, the rest

Then the largest symbols inside the router's own code. With -e cpu-clock on a
VM, samples that fall while interrupts are disabled are charged to the point
where they are re-enabled (e.g. _raw_spin_unlock_irqrestore); the categories
use the whole call chain, so this skews symbols, not categories.
"""
import argparse
import collections
import subprocess
import sys

SEND = ("udp_sendmsg", "udpv6_sendmsg", "__sys_sendmsg_sock", "io_sendmsg", "____sys_sendmsg",
        "__sys_sendmmsg", "ip_finish_output2", "__dev_queue_xmit")
SOFTIRQ = ("net_rx_action", "process_backlog", "__netif_receive_skb_one_core")
RECV = ("udp_recvmsg", "udpv6_recvmsg", "io_recvmsg", "__sys_recvmmsg", "sock_recvmsg",
        "__skb_recv_udp", "skb_copy_datagram_iter", "__sock_recv_cmsgs", "io_recvmsg_multishot",
        "do_recvmmsg", "____sys_recvmsg")
IOURING = ("io_uring", "io_submit_sqes", "io_issue_sqe", "io_cqring_wait", "io_run_local_work",
           "__io_", "io_req_", "io_poll", "io_")


def samples(path):
    out = subprocess.run(["perf", "script", "-i", path, "-F", "comm,tid,ip,sym,dso"],
                         capture_output=True, text=True, check=True).stdout
    chain = []
    for line in out.splitlines() + [""]:
        if not line.strip():
            if chain:
                yield chain
            chain = []
            continue
        if not line.startswith((" ", "\t")):
            chain = []  # header line of a sample
            continue
        parts = line.split(None, 1)
        if len(parts) < 2:
            continue
        rest = parts[1]
        # "sym+0x12 (dso)"
        dso = rest[rest.rfind("(") + 1:rest.rfind(")")] if "(" in rest else ""
        sym = rest[:rest.rfind("(")].strip() if "(" in rest else rest.strip()
        sym = sym.split("+0x")[0]
        chain.append((sym, dso))


def classify(chain, binary):
    sym, dso = chain[0]  # innermost frame first in perf script output
    if dso.endswith("/" + binary) or dso == binary:
        return "user: " + binary
    if not dso.startswith("[kernel"):
        return "user: libraries"
    names = [s for s, _ in chain]
    if any(n in SOFTIRQ for n in names):
        return "kernel: softirq receive"
    if any(n in SEND for n in names):
        return "kernel: sendmsg"
    if any(n in RECV for n in names):
        return "kernel: recvmsg"
    if any(n.startswith(IOURING) for n in names):
        return "kernel: io_uring"
    return "kernel: sched/other"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data")
    ap.add_argument("--binary-name", default="ferryd")
    ap.add_argument("--top", type=int, default=3)
    a = ap.parse_args()
    cats = collections.Counter()
    own = collections.Counter()
    total = 0
    for chain in samples(a.data):
        total += 1
        c = classify(chain, a.binary_name)
        cats[c] += 1
        if c == "user: " + a.binary_name:
            own[chain[0][0]] += 1
    if total == 0:
        sys.exit("no samples")
    print(f"{total} samples")
    order = ["kernel: softirq receive", "kernel: recvmsg", "kernel: sendmsg", "kernel: io_uring",
             "kernel: sched/other", "user: " + a.binary_name, "user: libraries"]
    for c in order:
        print(f"  {c:24} {100 * cats[c] / total:5.1f}%")
    print(f"largest in {a.binary_name}'s own code:")
    for sym, n in own.most_common(a.top):
        print(f"  {sym:60} {100 * n / total:5.2f}%")


if __name__ == "__main__":
    main()
