// Where the benchmark's traffic flows.
//
// netns: three network namespaces joined by veth pairs, all MTU 9000 so that
// 3000-byte datagrams are not fragmented, with static neighbour entries (no
// ARP during trials):
//
//   gen  10.201.1.1/24 ─veth─ 10.201.1.2/24  router  10.201.2.1/24 ─veth─ 10.201.2.2/24  sink
//        (generator)          (relay ingress :5000)  (relay egress :5001)               (:6000)
//
// UDP segmentation offload is off on rtr1, so a router's UDP GSO sends are
// segmented on its own CPU, as for a NIC without USO. IPv6 is off in the
// three namespaces (no neighbour discovery on the links), so the veths carry
// the bench's datagrams and nothing else.
//
// The tunnel traffic profile (options.h) adds, as on links between routers:
//   gen0  UDP and TCP segmentation offload off, so the generator's UDP GSO
//         sends are segmented in software before the veth (separate
//         datagrams on the wire, as a neighbour's NIC sends them), and a
//         pfifo qdisc (10000 packets) that holds them while rtr0's receive
//         ring (256) is full, as a sender's own queue does, instead of
//         dropping them at the veth;
//   rtr0  NAPI with GRO, as a NIC: `gro on rx-udp-gro-forwarding on` and
//         threaded NAPI (/sys/class/net/rtr0/threaded = 1). Runs of one flow
//         are coalesced for sockets with UDP_GRO (ferry with tuning.gro) and,
//         with rx-udp-gro-forwarding, for the kernel's own forwarding; a
//         socket without UDP_GRO gets them one by one. The NAPI thread is
//         pinned with the router's receive CPUs (setReceiveCpus).
//
// The generator sends from 10.201.1.1, flow f from port 20000+f. A relay
// under test listens on 10.201.1.2:5000 and sends from 10.201.2.1:5001 to the
// sink at 10.201.2.2:6000. For kernel forwarding the generator sends straight
// to the sink's address and the router namespace routes (ip_forward=1).
//
// Where the kernel work runs is set per dataplane count with
// setReceiveCpus() (options.h, --cpu-layout).
//
// loopback: all of it on 127.0.0.1 in the bench's own namespace, on free ports
// (no kernel forwarding there).
//
// Namespaces are named ferrybench-PID-{gen,rtr,snk}; remove() (also run by
// the destructor) kills every process inside them and deletes them.
// removeStale() deletes those of bench processes that no longer exist.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ferry/bench/options.h"
#include "ferry/net/address.h"

namespace ferry::bench {

class BenchTopology {
 public:
  // nullptr with `error` set when it cannot be built (what was built is removed).
  // `egress_uso`: rtr1 keeps UDP segmentation offload (options.h, --egress-uso).
  static std::unique_ptr<BenchTopology> create(Topology kind, Traffic traffic, bool egress_uso,
                                               std::string* error);
  ~BenchTopology();
  BenchTopology(const BenchTopology&) = delete;
  BenchTopology& operator=(const BenchTopology&) = delete;

  Topology kind() const noexcept { return kind_; }
  Traffic traffic() const noexcept { return traffic_; }
  bool egressUso() const noexcept { return egress_uso_; }
  // Namespaces ("" in loopback).
  const std::string& genNs() const noexcept { return gen_ns_; }
  const std::string& routerNs() const noexcept { return router_ns_; }
  const std::string& sinkNs() const noexcept { return sink_ns_; }

  const SockAddr& generatorSource() const noexcept { return gen_src_; }  // port = first flow's
  const SockAddr& routerIngress() const noexcept { return router_in_; }
  const SockAddr& routerEgress() const noexcept { return router_out_; }
  const SockAddr& sink() const noexcept { return sink_; }

  bool supportsKernelForwarding() const noexcept { return kind_ == Topology::kNetns; }
  // Kernel forwarding in the router namespace (ip_forward) on or off. "" on success.
  std::string setKernelForwarding(bool on);
  // Where each namespace's receive processing (IP, UDP, socket enqueue) runs:
  // RPS on the router's ingress veth (rtr0) and on the sink's (snk0), as a
  // NIC's receive queues put that work on the receiving machine's own cores.
  // Without it a veth hands a datagram to the receiver's stack on the
  // sending CPU, so the generator would pay for the router's receive path and
  // the router for the sink's. An empty list turns RPS off there (the veth
  // default). With tunnel traffic, rtr0's NAPI thread is pinned to `router`
  // too (all CPUs when empty). "" on success; a no-op on loopback.
  std::string setReceiveCpus(const std::vector<int>& router, const std::vector<int>& sink);

  // Packets the generator's veth (gen0) has transmitted: every datagram that
  // crossed to the router, a GSO super-packet counting once. nullopt on
  // loopback or when it cannot be read.
  std::optional<uint64_t> generatorTxPackets() const;
  // Requeues of gen0's qdisc so far (tunnel traffic): times rtr0's receive
  // ring was full and the generator's queue held datagrams back. nullopt
  // without that qdisc.
  std::optional<uint64_t> generatorRequeues() const;

  // The link settings that shape the traffic, read back from the kernel:
  // device → setting → value, e.g. rtr0 → rx-udp-gro-forwarding → "on",
  // rtr0 → threaded → "1", gen0 → qdisc → "pfifo". Empty on loopback.
  std::map<std::string, std::map<std::string, std::string>> linkSettings() const;
  // The kernel threads of rtr0's NAPI (tunnel traffic), "napi/rtr0-ID".
  const std::vector<pid_t>& napiThreads() const noexcept { return napi_threads_; }

  // Kills every process in the namespaces, deletes them. Idempotent.
  void remove();
  // Namespaces left by bench processes that died without cleaning up.
  static void removeStale();
  // Whether namespaces can be used here (root, `ip netns` works).
  static bool netnsAvailable();

 private:
  BenchTopology() = default;
  std::string buildNetns();
  std::string buildTunnelLinks();
  std::string buildLoopback();

  Topology kind_ = Topology::kLoopback;
  Traffic traffic_ = Traffic::kSpread;
  bool egress_uso_ = false;
  std::vector<pid_t> napi_threads_;
  std::string gen_ns_, router_ns_, sink_ns_;
  SockAddr gen_src_, router_in_, router_out_, sink_;
  bool removed_ = false;
};

}  // namespace ferry::bench
