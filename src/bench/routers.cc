#include "ferry/bench/routers.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "ferry/bench/peer_configs.h"
#include "ferry/process/child.h"

namespace ferry::bench {

using process::Child;

namespace {

using namespace std::chrono_literals;

bool writeFile(const std::string& path, const std::string& content) {
  std::ofstream out(path);
  out << content;
  return static_cast<bool>(out);
}

RelayPath relayPath(const BenchTopology& t) {
  return {t.routerIngress(), t.routerEgress(), t.sink()};
}

// A router that is a process tree: ferryd, the mmsg relay, nginx.
class ProcessRouter final : public RouterUnderTest {
 public:
  ProcessRouter(std::string impl, Child child, SockAddr target, int stop_signal)
      : impl_(std::move(impl)),
        child_(std::move(child)),
        target_(target),
        stop_signal_(stop_signal) {}
  ~ProcessRouter() override { shutdown(); }

  SockAddr target() const override { return target_; }
  pid_t pid() const override { return child_.pid(); }

  std::string health() override {
    if (child_.running()) return "";
    const auto status = child_.wait(0ms);
    return impl_ + " exited (status " + (status ? std::to_string(*status) : "?") +
           "): " + child_.stdoutText(2000);
  }

  void stop() override { shutdown(); }

  // Waits until the output holds `needle`, the child exits, or `timeout`.
  std::string waitReady(const std::string& needle, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!needle.empty() && child_.stdoutText(1 << 16).find(needle) != std::string::npos)
        return "";
      if (!child_.running()) return health();
      std::this_thread::sleep_for(10ms);
    }
    if (needle.empty()) return "";
    return impl_ + " did not become ready within " + std::to_string(timeout.count()) +
           " ms: " + child_.stdoutText(2000);
  }

 private:
  // Non-virtual, so the destructor may call it too.
  void shutdown() {
    if (child_.pid() <= 0) return;
    if (child_.running()) {
      child_.signal(stop_signal_);
      if (!child_.wait(3s)) child_.stop(100ms);
    }
  }

  std::string impl_;
  Child child_;
  SockAddr target_;
  int stop_signal_;
};

class KernelRouter final : public RouterUnderTest {
 public:
  explicit KernelRouter(BenchTopology& t) : topology_(t) {}
  ~KernelRouter() override { shutdown(); }
  SockAddr target() const override { return topology_.sink(); }
  pid_t pid() const override { return -1; }
  std::string health() override { return ""; }
  void stop() override { shutdown(); }
  std::string start() {
    on_ = true;
    return topology_.setKernelForwarding(true);
  }

 private:
  void shutdown() {
    if (on_) topology_.setKernelForwarding(false);
    on_ = false;
  }

  BenchTopology& topology_;
  bool on_ = false;
};

std::unique_ptr<RouterUnderTest> spawnRouter(const std::string& impl,
                                             const std::vector<std::string>& argv,
                                             const RouterSetup& setup, const std::string& ready,
                                             int stop_signal, std::string* error) {
  const std::string out = setup.work_dir + "/" + impl + ".out";
  auto child = Child::spawn(
      argv, {.netns = setup.topology->routerNs(), .stdout_path = out, .stderr_path = out});
  if (!child) {
    *error = child.error();
    return nullptr;
  }
  auto router = std::make_unique<ProcessRouter>(impl, std::move(*child),
                                                setup.topology->routerIngress(), stop_signal);
  if (auto why = router->waitReady(ready, 10s); !why.empty()) {
    *error = why;
    return nullptr;
  }
  return router;
}

}  // namespace

std::unique_ptr<RouterUnderTest> startRouter(const std::string& impl, unsigned dataplanes,
                                             const RouterSetup& setup, std::string* error) {
  const RelayPath path = relayPath(*setup.topology);
  if (impl == "ferry" || impl == "ferry-nogro") {
    const std::string config = setup.work_dir + "/" + impl + ".yaml";
    std::string yaml = ferryConfig(path, setup.mode, dataplanes, setup.max_datagram,
                                   setup.work_dir + "/" + impl + ".sock", /*gro=*/impl == "ferry");
    // Experiments: FERRY_BENCH_TUNING="socket_buffer: 33554432, gro_buffers: 512"
    // adds tuning keys to both ferry configs (ferryd then checks them).
    if (const char* extra = std::getenv("FERRY_BENCH_TUNING"); extra != nullptr) {
      std::string keys = extra;
      size_t start = 0;
      while (start <= keys.size()) {
        size_t comma = keys.find(',', start);
        if (comma == std::string::npos) comma = keys.size();
        std::string key = keys.substr(start, comma - start);
        key.erase(0, key.find_first_not_of(' '));
        if (!key.empty()) yaml += "  " + key + "\n";
        start = comma + 1;
      }
    }
    if (!writeFile(config, yaml)) {
      *error = "cannot write " + config;
      return nullptr;
    }
    return spawnRouter(impl, {setup.self_exe, "run", "--config", config}, setup,
                       "dataplanes started", SIGTERM, error);
  }
  if (impl == "mmsg") {
    return spawnRouter(
        impl,
        {setup.self_exe, "bench", "peer-mmsg", "--listen", path.ingress.toString(), "--bind",
         path.egress.toString(), "--to", path.sink.toString(), "--threads",
         std::to_string(dataplanes), "--max-datagram", std::to_string(setup.max_datagram)},
        setup, "mmsg relay: ready", SIGTERM, error);
  }
  if (impl == "nginx") {
    struct stat st;
    if (stat(kNginxStreamModule, &st) != 0) {
      *error = std::string("nginx: ") + kNginxStreamModule +
               " not found (Debian: nginx and libnginx-mod-stream; tools/dev setup installs them)";
      return nullptr;
    }
    const std::string prefix = setup.work_dir + "/nginx";
    mkdir(prefix.c_str(), 0755);
    // Workers run as `nobody` when started as root: they need no file access.
    const std::string config = prefix + "/nginx.conf";
    if (!writeFile(config, nginxConfig(path, dataplanes, setup.cpus, prefix, kNginxStreamModule))) {
      *error = "cannot write " + config;
      return nullptr;
    }
    // SIGQUIT would wait for sessions to time out; SIGTERM is nginx's fast shutdown.
    auto router =
        spawnRouter(impl, {"nginx", "-p", prefix + "/", "-c", config, "-e", prefix + "/error.log"},
                    setup, "", SIGTERM, error);
    if (!router) return nullptr;
    // No readiness line: give the master time to fork its workers; the
    // warm-up traffic before the first trial confirms the path.
    std::this_thread::sleep_for(300ms);
    if (auto why = router->health(); !why.empty()) {
      std::ifstream log(prefix + "/error.log");
      std::string line, text;
      while (std::getline(log, line)) text += line + "\n";
      *error = why + text;
      return nullptr;
    }
    return router;
  }
  if (impl == "kernel") {
    if (!setup.topology->supportsKernelForwarding()) {
      *error = "kernel forwarding needs the netns topology";
      return nullptr;
    }
    auto router = std::make_unique<KernelRouter>(*setup.topology);
    if (auto why = router->start(); !why.empty()) {
      *error = why;
      return nullptr;
    }
    return router;
  }
  *error = "unknown implementation '" + impl + "'";
  return nullptr;
}

}  // namespace ferry::bench
