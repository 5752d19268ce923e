// ferry-gen: traffic generator and sink. See tools/ferry-gen/README.md.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <random>
#include <string_view>
#include <vector>

#include "cli.h"
#include "ferry/gen/clock.h"
#include "ferry/gen/report.h"
#include "ferry/gen/sender.h"
#include "ferry/gen/sink.h"

namespace {

using namespace ferry::gen;

volatile sig_atomic_t g_interrupted = 0;

extern "C" void onSignal(int) { g_interrupted = 1; }

void installSignals() {
  struct sigaction sa {};
  sa.sa_handler = onSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

// Waits for `done`, stopping the run on SIGINT/SIGTERM and printing one
// progress line per second when `progress` is set.
template <typename Run, typename Line>
void supervise(Run& run, bool progress, Line line) {
  const uint64_t start = monotonicNs();
  uint64_t next = start + 1'000'000'000;
  auto previous = run.progress();
  while (!run.done()) {
    sleepNs(20'000'000);
    if (g_interrupted) run.stop();
    const uint64_t now = monotonicNs();
    if (progress && now >= next) {
      const auto current = run.progress();
      std::cout << line(static_cast<double>(now - start) / 1e9, previous, current) << std::endl;
      previous = current;
      next += 1'000'000'000;
    }
  }
}

std::string rateLine(double t, uint64_t packets, uint64_t dp, uint64_t db) {
  char head[48];
  std::snprintf(head, sizeof(head), "[%6.1f s] ", t);
  return head + std::to_string(packets) + " packets  " + formatPps(static_cast<double>(dp)) + "  " +
         formatBps(static_cast<double>(db) * 8);
}

int runSend(const cli::Parsed& p) {
  SendConfig config = p.send;
  if (!p.run_given) config.run = static_cast<uint16_t>(std::random_device{}());
  Sender sender(config);
  sender.start();
  const bool progress = !p.quiet && !p.json && isatty(STDOUT_FILENO);
  supervise(sender, progress, [](double t, const SendProgress& a, const SendProgress& b) {
    return rateLine(t, b.packets, b.packets - a.packets, b.bytes - a.bytes) + "  errors " +
           std::to_string(b.errors);
  });
  const SendReport report = sender.wait();
  if (p.json)
    std::cout << toJson(report).dump() << std::endl;
  else
    printTable(std::cout, report);
  return 0;
}

int runSink(const cli::Parsed& p) {
  Sink sink(p.sink);
  // The ready line for scripts: the socket is bound and packets queue from now on.
  std::cerr << "ferry-gen sink: listening on " << sink.localAddress().toString() << std::endl;
  sink.start();
  const bool progress = !p.quiet && !p.json && isatty(STDOUT_FILENO);
  supervise(sink, progress, [](double t, const SinkProgress& a, const SinkProgress& b) {
    return rateLine(t, b.packets, b.packets - a.packets, b.bytes - a.bytes) + "  lost " +
           std::to_string(b.lost);
  });
  const SinkReport report = sink.wait();
  if (p.json)
    std::cout << toJson(report).dump() << std::endl;
  else
    printTable(std::cout, report);
  if (report.stop_reason != "error") return 0;
  std::cerr << "ferry-gen: " << report.error << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  const auto result = cli::parse(args);
  if (!result.parsed) {
    std::cerr << "ferry-gen: " << result.error << "\n(ferry-gen --help for usage)\n";
    return 2;
  }
  const cli::Parsed& p = *result.parsed;
  if (p.command == cli::Command::kHelp) {
    std::cout << cli::usage();
    return 0;
  }
  if (p.command == cli::Command::kVersion) {
    std::cout << "ferry-gen " << FERRY_VERSION << "\n";
    return 0;
  }
  installSignals();
  try {
    return p.command == cli::Command::kSend ? runSend(p) : runSink(p);
  } catch (const std::exception& e) {
    std::cerr << "ferry-gen: " << e.what() << "\n";
    return 1;
  }
}
