// ferry-gen's command line: CLI11 finds the options (and writes --help), the
// parsers here judge their values into SendConfig / SinkConfig. Pure (no
// I/O), so the error messages are unit-tested.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "ferry/gen/sender.h"
#include "ferry/gen/sink.h"

namespace ferry::gen::cli {

enum class Command { kHelp, kVersion, kSend, kSink };

struct Parsed {
  Command command = Command::kHelp;
  SendConfig send;
  SinkConfig sink;
  bool run_given = false;  // send: --run-id given (else the caller picks a random one)
  bool json = false;
  bool quiet = false;
};

// On success `parsed` is set; else `error` says what is wrong, naming the
// argument: "--rate: expected a positive number of packets per second, got 'abc'".
struct Result {
  std::optional<Parsed> parsed;
  std::string error;
};

// `args` excludes the program name.
Result parse(std::span<const std::string_view> args);

// The generated --help of ferry-gen and both commands.
std::string usage();

// Number syntax, exposed for tests. A decimal number with an optional k, M or
// G suffix (x1000 each); nullopt when malformed.
std::optional<double> parseScaled(std::string_view text);
// Seconds: a decimal number, optionally followed by "s" or "ms".
std::optional<double> parseSeconds(std::string_view text);

}  // namespace ferry::gen::cli
