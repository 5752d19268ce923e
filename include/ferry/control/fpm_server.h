// FpmServer: ferry as the FPM server of FRR zebra's `dplane_fpm_nl` module.
// Control side, its own thread ("ferry-fpm"; never the BFD thread, never a
// dataplane): accepts zebra's TCP connection (one at a time: a new one
// replaces the old, as zebra reconnecting after a restart would), decodes
// the stream (fpm/decoder.h), keeps the routes (fpm/route_store.h) and, at
// most every fpm.batch_ms when something changed, hands the resolved routes
// to `publish` — Control merges them with the config's routes, builds the
// table and publishes a forwarding snapshot, on this thread, off the
// control thread's and dataplanes' way.
//
// A stream that cannot be resynced (decoder.h) closes the connection (logged,
// counted); zebra reconnects and resends everything. While zebra is away the
// routes stay as they are.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ferry/config/config.h"
#include "ferry/fpm/decoder.h"
#include "ferry/fpm/route_store.h"
#include "ferry/net/socket.h"
#include "ferry/result.h"

namespace ferry {

class FpmServer {
 public:
  // What publishing one batch did (for the status).
  struct BatchResult {
    size_t routes = 0;      // FPM routes in the table
    size_t shadowed = 0;    // FPM routes the config overrides
    uint64_t build_us = 0;  // merge + table build + publish
    uint64_t version = 0;   // the forwarding snapshot's
    unsigned tries_patched = 0;  // of the table's two tries, made from the last table's
  };
  using Publish = std::function<BatchResult(const fpm::ResolvedRoutes&)>;

  // `peers`: per interface index, its peer's address (next hop → interface).
  FpmServer(const FpmConfig& config, std::vector<std::optional<route::IpAddress>> peers,
            Publish publish);
  ~FpmServer();
  FpmServer(const FpmServer&) = delete;
  FpmServer& operator=(const FpmServer&) = delete;

  // Opens the listening socket. Before start().
  Status listen();
  void start();
  void stop() noexcept;  // ends the thread (idempotent)
  // Any thread: the next turn publishes the routes again even if nothing
  // changed (after a reload changed the config's routes).
  void republish() noexcept;

  // Session state and counters for show routes and the metrics. Any thread.
  nlohmann::json statusJson() const;

 private:
  void run() noexcept;
  void accept(uint64_t now_us);
  // Reads what is waiting (bounded per turn); false when the connection ended.
  bool readConnection(uint64_t now_us);
  void closeConnection(uint64_t now_us, const std::string& why);
  void publishIfDue(uint64_t now_us);

  FpmConfig config_;
  Publish publish_;
  Fd listen_fd_;
  Fd conn_;
  Fd wake_fd_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> republish_{false};
  // FPM thread only:
  fpm::Decoder decoder_;
  fpm::RouteStore store_;
  std::vector<fpm::Update> updates_;
  std::vector<uint8_t> read_buffer_;

  // Shared with statusJson(), under status_mu_.
  struct SessionState {
    std::string state = "listening";  // listening | connected | resyncing | disconnected
    std::string peer;                 // zebra's address while connected
    uint64_t connects = 0;
    uint64_t disconnects = 0;
    uint64_t stream_errors = 0;  // connections closed for a broken stream
    fpm::DecoderCounters decoder;
    fpm::StoreCounters store;
    std::string last_error;
    size_t routes_received = 0;  // in the store
    size_t nexthops = 0;
    size_t routes_installed = 0;  // in the forwarding table
    size_t routes_shadowed = 0;
    size_t left_out = 0;
    size_t unmapped_nexthops = 0;
    std::vector<std::pair<route::Prefix, std::string>> left_out_examples;
    std::vector<route::Prefix> last_swept;
    uint64_t batches = 0;
    uint64_t tries_patched = 0;  // over all batches: tries patched / built afresh
    uint64_t tries_built = 0;
    uint64_t last_update_unix_ms = 0;  // the last route change received
    // The first route change after a second without any: the start of the
    // latest burst (a resync, a BGP session's table), for convergence times.
    uint64_t burst_start_unix_ms = 0;
    uint64_t last_publish_unix_ms = 0;
    uint64_t last_build_us = 0;
    uint64_t max_build_us = 0;
    uint64_t version = 0;
  };
  void updateStatus(uint64_t now_us);
  mutable std::mutex status_mu_;
  SessionState status_;
};

}  // namespace ferry
