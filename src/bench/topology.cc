#include "ferry/bench/topology.h"

#include <dirent.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/sysinfo.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <tuple>

#include "ferry/process/child.h"
#include "ferry/process/netns.h"

namespace ferry::bench {

using process::runChecked;
using process::runCommand;

namespace {

constexpr const char* kPrefix = "ferrybench-";
constexpr uint16_t kGenPort = 20000;

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// The MAC address of `dev` in `netns` ("" with `error` set when unknown).
std::string macOf(const std::string& netns, const std::string& dev, std::string* error) {
  std::string out;
  if (runCommand({"ip", "-n", netns, "-o", "link", "show", "dev", dev}, &out) != 0) {
    *error = "ip -n " + netns + " link show dev " + dev + ": " + trim(out);
    return "";
  }
  const auto at = out.find("link/ether ");
  if (at == std::string::npos || out.size() < at + 11 + 17) {
    *error = "no MAC address for " + dev + " in " + netns;
    return "";
  }
  return out.substr(at + 11, 17);
}

// A UDP port free on 127.0.0.1 right now.
uint16_t freeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  uint16_t port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

}  // namespace

bool BenchTopology::netnsAvailable() {
  return process::netnsUsable(kPrefix + std::to_string(getpid()) + "-probe");
}

void BenchTopology::removeStale() {
  DIR* dir = opendir("/run/netns");
  if (dir == nullptr) return;
  std::vector<std::string> stale;
  while (const dirent* e = readdir(dir)) {
    const std::string name = e->d_name;
    if (name.rfind(kPrefix, 0) != 0) continue;
    const std::string rest = name.substr(std::string(kPrefix).size());
    const auto dash = rest.find('-');
    if (dash == std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::atol(rest.substr(0, dash).c_str()));
    struct stat st;
    if (pid > 0 && pid != getpid() && stat(("/proc/" + std::to_string(pid)).c_str(), &st) != 0)
      stale.push_back(name);
  }
  closedir(dir);
  for (const auto& ns : stale) process::deleteNetns(ns);
}

std::unique_ptr<BenchTopology> BenchTopology::create(Topology kind, Traffic traffic,
                                                     bool egress_uso, std::string* error) {
  std::unique_ptr<BenchTopology> t(new BenchTopology());
  t->kind_ = kind;
  t->traffic_ = traffic;
  t->egress_uso_ = egress_uso;
  if (egress_uso && kind != Topology::kNetns) {
    *error = "--egress-uso needs the netns topology (the router's egress veth)";
    return nullptr;
  }
  if (traffic == Traffic::kTunnel && kind != Topology::kNetns) {
    *error = "tunnel traffic needs the netns topology (GRO on the router's ingress veth)";
    return nullptr;
  }
  const std::string why = kind == Topology::kNetns ? t->buildNetns() : t->buildLoopback();
  if (!why.empty()) {
    *error = why;
    t->remove();
    return nullptr;
  }
  return t;
}

std::string BenchTopology::buildLoopback() {
  const uint16_t in = freeLoopbackPort(), out = freeLoopbackPort(), sink = freeLoopbackPort();
  if (!in || !out || !sink || in == out || out == sink || in == sink)
    return "could not find free UDP ports on 127.0.0.1";
  gen_src_ = *SockAddr::parse("127.0.0.1:1");
  gen_src_.setPort(0);  // the kernel picks the flows' ports
  router_in_ = *SockAddr::parse("127.0.0.1:" + std::to_string(in));
  router_out_ = *SockAddr::parse("127.0.0.1:" + std::to_string(out));
  sink_ = *SockAddr::parse("127.0.0.1:" + std::to_string(sink));
  return "";
}

std::string BenchTopology::buildNetns() {
  const std::string base = kPrefix + std::to_string(getpid());
  gen_ns_ = base + "-gen";
  router_ns_ = base + "-rtr";
  sink_ns_ = base + "-snk";
  gen_src_ = *SockAddr::parse("10.201.1.1:" + std::to_string(kGenPort));
  router_in_ = *SockAddr::parse("10.201.1.2:5000");
  router_out_ = *SockAddr::parse("10.201.2.1:5001");
  sink_ = *SockAddr::parse("10.201.2.2:6000");

  using Cmd = std::vector<std::string>;
  for (const auto* ns : {&gen_ns_, &router_ns_, &sink_ns_}) {
    if (auto why = runChecked({"ip", "netns", "add", *ns}); !why.empty())
      return "netns topology: " + why;
    // No IPv6 on the links (no neighbour discovery): the veths carry the
    // bench's datagrams only. Best effort: without IPv6 there is none anyway.
    runCommand({"sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1"},
               nullptr, *ns);
  }
  const std::vector<std::pair<Cmd, std::string>> steps = {
      {{"ip", "-n", gen_ns_, "link", "add", "gen0", "mtu", "9000", "type", "veth", "peer", "name",
        "rtr0", "netns", router_ns_, "mtu", "9000"},
       ""},
      {{"ip", "-n", router_ns_, "link", "add", "rtr1", "mtu", "9000", "type", "veth", "peer",
        "name", "snk0", "netns", sink_ns_, "mtu", "9000"},
       ""},
      {{"ip", "-n", gen_ns_, "addr", "add", "10.201.1.1/24", "dev", "gen0"}, ""},
      {{"ip", "-n", router_ns_, "addr", "add", "10.201.1.2/24", "dev", "rtr0"}, ""},
      {{"ip", "-n", router_ns_, "addr", "add", "10.201.2.1/24", "dev", "rtr1"}, ""},
      {{"ip", "-n", sink_ns_, "addr", "add", "10.201.2.2/24", "dev", "snk0"}, ""},
      {{"ip", "-n", gen_ns_, "link", "set", "lo", "up"}, ""},
      {{"ip", "-n", router_ns_, "link", "set", "lo", "up"}, ""},
      {{"ip", "-n", sink_ns_, "link", "set", "lo", "up"}, ""},
      {{"ip", "-n", gen_ns_, "link", "set", "gen0", "up"}, ""},
      {{"ip", "-n", router_ns_, "link", "set", "rtr0", "up"}, ""},
      {{"ip", "-n", router_ns_, "link", "set", "rtr1", "up"}, ""},
      {{"ip", "-n", sink_ns_, "link", "set", "snk0", "up"}, ""},
      {{"ip", "-n", gen_ns_, "route", "add", "default", "via", "10.201.1.2"}, ""},
      {{"ip", "-n", sink_ns_, "route", "add", "default", "via", "10.201.2.1"}, ""},
  };
  for (const auto& [cmd, ns] : steps)
    if (auto why = runChecked(cmd, ns); !why.empty()) return "netns topology: " + why;
  // A veth would carry a UDP GSO send (ferry's tuning.gso) to the sink whole;
  // without UDP segmentation offload on the router's egress, the kernel
  // segments it on the router's CPU before it leaves, as for a NIC without
  // USO, so every router delivers plain datagrams. With --egress-uso it
  // stays on, as on a NIC with USO: no router segments.
  if (auto why = runChecked(
          {"ethtool", "-K", "rtr1", "tx-udp-segmentation", egress_uso_ ? "on" : "off"}, router_ns_);
      !why.empty())
    return "netns topology: " + why;

  // Static neighbours: no ARP resolution (and its queue limit) mid-trial.
  std::string error;
  const std::string gen_mac = macOf(gen_ns_, "gen0", &error);
  const std::string rtr0_mac = macOf(router_ns_, "rtr0", &error);
  const std::string rtr1_mac = macOf(router_ns_, "rtr1", &error);
  const std::string snk_mac = macOf(sink_ns_, "snk0", &error);
  if (!error.empty()) return "netns topology: " + error;
  const std::vector<Cmd> neighbours = {
      {"ip", "-n", gen_ns_, "neigh", "replace", "10.201.1.2", "lladdr", rtr0_mac, "dev", "gen0",
       "nud", "permanent"},
      {"ip", "-n", router_ns_, "neigh", "replace", "10.201.1.1", "lladdr", gen_mac, "dev", "rtr0",
       "nud", "permanent"},
      {"ip", "-n", router_ns_, "neigh", "replace", "10.201.2.2", "lladdr", snk_mac, "dev", "rtr1",
       "nud", "permanent"},
      {"ip", "-n", sink_ns_, "neigh", "replace", "10.201.2.1", "lladdr", rtr1_mac, "dev", "snk0",
       "nud", "permanent"},
  };
  for (const auto& cmd : neighbours)
    if (auto why = runChecked(cmd); !why.empty()) return "netns topology: " + why;
  if (traffic_ == Traffic::kTunnel)
    if (auto why = buildTunnelLinks(); !why.empty()) return "netns topology (tunnel): " + why;
  return "";
}

namespace {

// Threaded NAPI kernel threads of devices named `dev` (any namespace):
// "napi/DEV-ID".
std::vector<pid_t> napiThreadsOf(const std::string& dev) {
  std::vector<pid_t> out;
  DIR* dir = opendir("/proc");
  if (dir == nullptr) return out;
  const std::string prefix = "napi/" + dev + "-";
  while (const dirent* e = readdir(dir)) {
    const pid_t pid = static_cast<pid_t>(std::atol(e->d_name));
    if (pid <= 0) continue;
    std::string comm;
    if (std::ifstream in("/proc/" + std::to_string(pid) + "/comm"); !std::getline(in, comm))
      continue;
    if (comm.rfind(prefix, 0) == 0) out.push_back(pid);
  }
  closedir(dir);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::string BenchTopology::buildTunnelLinks() {
  // The generator's side: its GSO sends segmented before the wire, and held
  // in a queue (not dropped) while the router's receive ring is full.
  for (const auto& cmd : std::vector<std::vector<std::string>>{
           {"ethtool", "-K", "gen0", "tx-udp-segmentation", "off", "tso", "off"},
           {"tc", "qdisc", "replace", "dev", "gen0", "root", "pfifo", "limit", "10000"}})
    if (auto why = runChecked(cmd, gen_ns_); !why.empty()) return why;
  // The router's ingress as a NIC: NAPI with GRO, also for forwarding; the
  // NAPI thread is the one `threaded` creates now.
  if (auto why = runChecked(
          {"ethtool", "-K", "rtr0", "gro", "on", "rx-udp-gro-forwarding", "on"}, router_ns_);
      !why.empty())
    return why;
  const std::vector<pid_t> before = napiThreadsOf("rtr0");
  if (auto why = runChecked({"ip", "netns", "exec", router_ns_, "sh", "-c",
                             "echo 1 > /sys/class/net/rtr0/threaded"});
      !why.empty())
    return why;
  for (pid_t pid : napiThreadsOf("rtr0"))
    if (!std::binary_search(before.begin(), before.end(), pid)) napi_threads_.push_back(pid);
  if (napi_threads_.empty()) return "no NAPI thread appeared for rtr0 after threaded=1";
  return "";
}

std::optional<uint64_t> BenchTopology::generatorTxPackets() const {
  if (kind_ != Topology::kNetns) return std::nullopt;
  std::string out;
  if (runCommand({"ip", "-n", gen_ns_, "-s", "-j", "link", "show", "dev", "gen0"}, &out) != 0)
    return std::nullopt;
  try {
    return nlohmann::json::parse(out).at(0).at("stats64").at("tx").at("packets").get<uint64_t>();
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<uint64_t> BenchTopology::generatorRequeues() const {
  if (kind_ != Topology::kNetns || traffic_ != Traffic::kTunnel) return std::nullopt;
  std::string out;
  if (runCommand({"tc", "-s", "-j", "qdisc", "show", "dev", "gen0", "root"}, &out, gen_ns_) != 0)
    return std::nullopt;
  try {
    return nlohmann::json::parse(out).at(0).at("requeues").get<uint64_t>();
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::map<std::string, std::map<std::string, std::string>> BenchTopology::linkSettings() const {
  std::map<std::string, std::map<std::string, std::string>> out;
  if (kind_ != Topology::kNetns) return out;
  const std::vector<std::string> features = {
      "generic-receive-offload", "rx-udp-gro-forwarding", "tx-udp-segmentation",
      "tcp-segmentation-offload"};
  for (const auto& [ns, dev] : {std::pair{gen_ns_, "gen0"}, std::pair{router_ns_, "rtr0"},
                                std::pair{router_ns_, "rtr1"}, std::pair{sink_ns_, "snk0"}}) {
    std::string text;
    if (runCommand({"ethtool", "-k", dev}, &text, ns) == 0) {
      std::istringstream in(text);
      for (std::string line; std::getline(in, line);) {
        const auto colon = line.find(": ");
        if (colon == std::string::npos) continue;
        std::string key = line.substr(0, colon);
        key.erase(0, key.find_first_not_of(" \t"));
        if (std::find(features.begin(), features.end(), key) == features.end()) continue;
        std::string value = trim(line.substr(colon + 2));
        value = value.substr(0, value.find(' '));  // "off [fixed]" → "off"
        out[dev][key] = value;
      }
    }
    if (runCommand({"ip", "netns", "exec", ns, "cat",
                    std::string("/sys/class/net/") + dev + "/threaded"},
                   &text) == 0)
      out[dev]["threaded"] = trim(text);
    if (runCommand({"tc", "qdisc", "show", "dev", dev, "root"}, &text, ns) == 0) {
      std::istringstream in(text);
      std::string word, kind;
      in >> word >> kind;  // "qdisc pfifo 8001: root …"
      if (word == "qdisc") out[dev]["qdisc"] = kind;
    }
  }
  return out;
}

std::string BenchTopology::setKernelForwarding(bool on) {
  if (kind_ != Topology::kNetns) return "kernel forwarding needs the netns topology";
  return runChecked({"sysctl", "-q", "-w", std::string("net.ipv4.ip_forward=") + (on ? "1" : "0")},
                    router_ns_);
}

namespace {

// rps_cpus takes a hex mask, CPU 0 in the lowest bit, in 32-bit groups
// separated by commas, highest first; "0" turns RPS off.
std::string rpsMask(const std::vector<int>& cpus) {
  if (cpus.empty()) return "0";
  int top = 0;
  for (int c : cpus) top = std::max(top, c);
  std::vector<uint32_t> words(static_cast<size_t>(top / 32 + 1), 0);
  for (int c : cpus) words[static_cast<size_t>(c / 32)] |= 1u << (c % 32);
  std::string mask;
  for (size_t i = words.size(); i-- > 0;) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "%08x", words[i]);
    mask += (mask.empty() ? "" : ",") + std::string(hex);
  }
  return mask;
}

}  // namespace

std::string BenchTopology::setReceiveCpus(const std::vector<int>& router,
                                          const std::vector<int>& sink) {
  if (kind_ != Topology::kNetns) return "";
  // rtr0's NAPI thread (tunnel traffic) goes with its receive processing.
  if (!napi_threads_.empty()) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (router.empty()) {
      for (int c = 0; c < CPU_SETSIZE && c < get_nprocs_conf(); ++c) CPU_SET(c, &set);
    } else {
      for (int c : router) CPU_SET(c, &set);
    }
    for (pid_t pid : napi_threads_)
      if (sched_setaffinity(pid, sizeof set, &set) != 0)
        return "cannot pin rtr0's NAPI thread " + std::to_string(pid) + ": " + std::strerror(errno);
  }
  // `ip netns exec` mounts the namespace's own /sys.
  for (const auto& [ns, dev, cpus] :
       {std::tuple{router_ns_, "rtr0", router}, std::tuple{sink_ns_, "snk0", sink}}) {
    if (auto why = runChecked(
            {"ip", "netns", "exec", ns, "sh", "-c",
             "echo " + rpsMask(cpus) + " > /sys/class/net/" + dev + "/queues/rx-0/rps_cpus"});
        !why.empty())
      return why;
  }
  return "";
}

void BenchTopology::remove() {
  if (removed_) return;
  removed_ = true;
  for (const auto* ns : {&gen_ns_, &router_ns_, &sink_ns_})
    if (!ns->empty()) process::deleteNetns(*ns);
}

BenchTopology::~BenchTopology() { remove(); }

}  // namespace ferry::bench
