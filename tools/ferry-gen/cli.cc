#include "cli.h"

#include "ferry/cli.h"

#include <charconv>
#include <cmath>
#include <vector>

namespace ferry::gen::cli {
namespace {

struct Error {
  std::string message;
};

std::string inQuotes(std::string_view text) { return "'" + std::string(text) + "'"; }

// ADDRESS:PORT; with allow_zero_port, port 0 ("the kernel picks") too.
std::optional<SockAddr> parseEndpoint(std::string_view text, bool allow_zero_port,
                                      std::string* error) {
  if (auto a = SockAddr::parse(text, error)) return a;
  if (allow_zero_port && text.size() > 2 && text.substr(text.size() - 2) == ":0") {
    std::string with_one(text.substr(0, text.size() - 1));
    with_one += "1";
    if (auto a = SockAddr::parse(with_one)) {
      a->setPort(0);
      return a;
    }
  }
  return std::nullopt;
}

// ADDRESS or ADDRESS:PORT ("[v6]" or "[v6]:PORT" or a bare v6 address).
std::optional<SockAddr> parseSource(std::string_view text) {
  if (auto a = parseEndpoint(text, true, nullptr)) return a;
  std::string host(text);
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  if (auto a = SockAddr::parse(host + ":1")) {
    a->setPort(0);
    return a;
  }
  return std::nullopt;
}

std::optional<uint64_t> parseCount(std::string_view text) {
  const auto v = parseScaled(text);
  if (!v || *v < 0 || *v > 1e19 || std::floor(*v) != *v) return std::nullopt;
  return static_cast<uint64_t>(*v);
}

std::optional<std::vector<uint32_t>> parseSizes(std::string_view text) {
  std::vector<uint32_t> sizes;
  while (true) {
    const auto comma = text.find(',');
    const auto item = text.substr(0, comma);
    uint32_t v = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size()) return std::nullopt;
    sizes.push_back(v);
    if (comma == std::string_view::npos) break;
    text = text.substr(comma + 1);
  }
  return sizes;
}

uint64_t countArg(std::string_view option, std::string_view text, const char* what, uint64_t min,
                  uint64_t max) {
  const auto v = parseCount(text);
  if (!v || *v < min || *v > max)
    throw Error{std::string(option) + ": expected " + what + ", got " + inQuotes(text)};
  return *v;
}

double secondsArg(std::string_view option, std::string_view text) {
  const auto v = parseSeconds(text);
  if (!v || *v <= 0)
    throw Error{std::string(option) + ": expected a positive number of seconds, got " +
                inQuotes(text)};
  return *v;
}

route::Prefix prefixArg(std::string_view option, std::string_view text) {
  std::string error;
  auto p = route::Prefix::parse(text, &error);
  if (!p) throw Error{std::string(option) + ": " + error};
  return *p;
}

// The options' texts as given; CLI11 finds them (and writes --help), the
// functions below judge them, so every message names its option.
struct Texts {
  std::optional<std::string> to, from, rate, bitrate, size, sizes, flows, count, duration, threads,
      encap, inner_src, inner_dst, batch, run_id, listen, idle;
  bool imix = false, gso = false, json = false, quiet = false;
  bool expect_from_gen = false, decap = false, no_gro = false;
};

// An option whose value is kept as text, and whether it was given.
void text(CLI::App* app, const std::string& name, std::optional<std::string>& into,
          const std::string& help, const std::string& type) {
  app->add_option_function<std::string>(name, [&into](const std::string& v) { into = v; }, help)
      ->type_name(type);
}

struct Commands {
  CLI::App app{"ferry-gen: UDP traffic generator with per-flow sequence numbers and "
               "timestamps, and the sink that counts what arrives. See "
               "tools/ferry-gen/README.md for the measuring header, loss semantics and JSON keys.",
               "ferry-gen"};
  CLI::App* send = nullptr;
  CLI::App* sink = nullptr;
  Texts t;

  Commands() {
    app.set_version_flag("--version", std::string("ferry-gen ") + FERRY_VERSION);
    app.allow_extras();
    app.footer("Exit status: 0 ok, 1 run-time failure, 2 bad arguments.");
    send = app.add_subcommand("send", "generate UDP traffic");
    send->allow_extras();
    text(send, "--to", t.to, "destination (\"192.0.2.1:5000\", \"[2001:db8::1]:5000\"); required",
         "ADDR:PORT");
    text(send, "--from", t.from, "source address; with PORT, flow f uses source port PORT+f",
         "ADDR[:PORT]");
    text(send, "--rate", t.rate,
         "packets per second (k, M, G suffixes); default: as fast as possible", "PPS");
    text(send, "--bitrate", t.bitrate, "UDP payload bits per second instead, e.g. 2.5G", "BPS");
    text(send, "--size", t.size, "UDP payload bytes (default 64)", "N");
    text(send, "--sizes", t.sizes, "sizes sent in this order, cycling", "A,B,C");
    send->add_flag("--imix", t.imix, "7 x 64 : 4 x 594 : 1 x 1518 bytes of UDP payload");
    text(send, "--flows", t.flows, "flows = distinct source ports (default 1)", "N");
    text(send, "--count", t.count, "data packets in all", "N");
    text(send, "--duration", t.duration,
         "seconds, or with s or ms (default 10 when neither --count nor --duration)", "S");
    text(send, "--threads", t.threads,
         "sender threads, each with its share of the flows (default 1)", "N");
    text(send, "--encap", t.encap,
         "payload is an inner IPv4/IPv6+UDP packet (IP-in-UDP; default none)", "none|ipv4|ipv6");
    text(send, "--inner-src", t.inner_src,
         "inner source addresses (default 198.18.0.0/16, 2001:2:0:1::/64)", "PREFIX");
    text(send, "--inner-dst", t.inner_dst,
         "inner destination addresses (default 198.19.0.0/16, 2001:2:0:2::/64)", "PREFIX");
    send->add_flag("--gso", t.gso, "UDP GSO (UDP_SEGMENT); needs a single size");
    text(send, "--batch", t.batch, "packets per sendmmsg (default 64)", "N");
    text(send, "--run-id", t.run_id, "run id in every header (default random)", "N");
    outputFlags(send);

    sink = app.add_subcommand("sink", "count what arrives");
    sink->allow_extras();
    text(sink, "--listen", t.listen,
         "where to receive (port 0: any; the bound address is printed); required", "ADDR:PORT");
    text(sink, "--count", t.count, "end after N data packets", "N");
    text(sink, "--duration", t.duration, "end after S seconds", "S");
    text(sink, "--idle", t.idle, "end after S seconds without a packet (once one arrived)", "S");
    sink->add_flag("--expect-from-gen", t.expect_from_gen,
                   "end when every flow's end marker arrived (and 50 ms of quiet)");
    sink->add_flag("--decap", t.decap, "packets are inner IPv4/IPv6+UDP (checksums verified)");
    sink->add_flag("--no-gro", t.no_gro, "do not ask for UDP GRO");
    text(sink, "--batch", t.batch, "datagrams per recvmmsg (default 64)", "N");
    text(sink, "--run-id", t.run_id, "count only this run (default: the first run seen)", "N");
    outputFlags(sink);
  }

  // How send and sink report: the same two flags on both.
  void outputFlags(CLI::App* command) {
    command->add_flag("--json", t.json, "print one JSON object at the end (no progress lines)");
    command->add_flag("-q,--quiet", t.quiet,
                      "no progress lines (they appear only when stdout is a terminal)");
  }
};

Parsed parseSend(const Texts& t) {
  Parsed p;
  p.command = Command::kSend;
  p.json = t.json;
  p.quiet = t.quiet;
  SendConfig& c = p.send;
  if (!t.to) throw Error{"--to: missing; send needs --to ADDRESS:PORT"};
  {
    std::string error;
    auto a = parseEndpoint(*t.to, false, &error);
    if (!a) throw Error{"--to: expected ADDRESS:PORT, got " + inQuotes(*t.to) + " (" + error + ")"};
    c.to = *a;
  }
  if (t.from) {
    auto a = parseSource(*t.from);
    if (!a) throw Error{"--from: expected ADDRESS or ADDRESS:PORT, got " + inQuotes(*t.from)};
    c.from = *a;
  }
  std::optional<double> rate, bitrate;
  if (t.rate) {
    rate = parseScaled(*t.rate);
    if (!rate || *rate <= 0)
      throw Error{"--rate: expected a positive number of packets per second, got " +
                  inQuotes(*t.rate)};
  }
  if (t.bitrate) {
    bitrate = parseScaled(*t.bitrate);
    if (!bitrate || *bitrate <= 0)
      throw Error{"--bitrate: expected a positive number of bits per second (e.g. 2.5G), got " +
                  inQuotes(*t.bitrate)};
  }
  if (int(bool(t.size)) + int(bool(t.sizes)) + int(t.imix) > 1)
    throw Error{"--size: give one of --size, --sizes and --imix"};
  if (t.size) {
    c.sizes = {static_cast<uint32_t>(
        countArg("--size", *t.size, "a packet size in bytes", 1, kMaxPacketSize))};
  } else if (t.sizes) {
    auto sizes = parseSizes(*t.sizes);
    if (!sizes)
      throw Error{"--sizes: expected sizes in bytes like 64,512,1400, got " + inQuotes(*t.sizes)};
    c.sizes = *sizes;
  } else if (t.imix) {
    const auto cycle = imixCycle();
    c.sizes.assign(cycle.begin(), cycle.end());
  }
  if (t.flows)
    c.flows =
        static_cast<uint32_t>(countArg("--flows", *t.flows, "a number of flows 1..65536", 1, 65536));
  if (t.count)
    c.count = countArg("--count", *t.count, "a positive number of packets", 1, UINT64_MAX);
  if (t.duration) c.duration_s = secondsArg("--duration", *t.duration);
  if (!t.count && !t.duration) c.duration_s = 10;  // like iperf3
  if (t.threads)
    c.threads = static_cast<uint32_t>(
        countArg("--threads", *t.threads, "a number of threads 1..1024", 1, 1024));
  if (t.encap) {
    auto e = parseEncap(*t.encap);
    if (!e) throw Error{"--encap: expected none, ipv4 or ipv6, got " + inQuotes(*t.encap)};
    c.encap = *e;
  }
  std::optional<route::Prefix> inner_src, inner_dst;
  if (t.inner_src) inner_src = prefixArg("--inner-src", *t.inner_src);
  if (t.inner_dst) inner_dst = prefixArg("--inner-dst", *t.inner_dst);
  c.gso = t.gso;
  if (t.batch)
    c.batch = static_cast<uint32_t>(countArg("--batch", *t.batch, "a batch size 1..1024", 1, 1024));
  if (t.run_id) {
    c.run = static_cast<uint16_t>(countArg("--run-id", *t.run_id, "a run id 0..65535", 0, 65535));
    p.run_given = true;
  }
  if (rate && bitrate) throw Error{"--bitrate: give --rate or --bitrate, not both"};
  if (c.encap != Encap::kNone) {
    InnerConfig inner = InnerConfig::defaults(c.encap);
    if (inner_src) inner.src = *inner_src;
    if (inner_dst) inner.dst = *inner_dst;
    c.inner = inner;
  } else if (inner_src || inner_dst) {
    throw Error{std::string(inner_src ? "--inner-src" : "--inner-dst") +
                ": needs --encap ipv4 or ipv6"};
  }
  if (rate) c.rate_pps = *rate;
  if (bitrate) c.rate_pps = packetsPerSecond(*bitrate, c.sizes);
  if (auto error = validate(c); !error.empty()) {
    // validate() speaks of --size; say which option gave the sizes.
    if (error.rfind("--size:", 0) == 0 && c.sizes.size() > 1) error.insert(6, "s");
    throw Error{error};
  }
  return p;
}

Parsed parseSink(const Texts& t) {
  Parsed p;
  p.command = Command::kSink;
  p.json = t.json;
  p.quiet = t.quiet;
  SinkConfig& c = p.sink;
  if (!t.listen) throw Error{"--listen: missing; sink needs --listen ADDRESS:PORT"};
  {
    std::string error;
    auto a = parseEndpoint(*t.listen, true, &error);
    if (!a)
      throw Error{"--listen: expected ADDRESS:PORT, got " + inQuotes(*t.listen) + " (" + error + ")"};
    c.listen = *a;
  }
  if (t.count)
    c.count = countArg("--count", *t.count, "a positive number of packets", 1, UINT64_MAX);
  if (t.duration) c.duration_s = secondsArg("--duration", *t.duration);
  if (t.idle) c.idle_s = secondsArg("--idle", *t.idle);
  c.until_end = t.expect_from_gen;
  c.decap = t.decap;
  if (t.no_gro) c.gro = false;
  if (t.batch)
    c.batch = static_cast<uint32_t>(countArg("--batch", *t.batch, "a batch size 1..1024", 1, 1024));
  if (t.run_id)
    c.run = static_cast<uint16_t>(countArg("--run-id", *t.run_id, "a run id 0..65535", 0, 65535));
  if (auto error = validate(c); !error.empty()) throw Error{error};
  return p;
}

}  // namespace

std::optional<double> parseScaled(std::string_view text) {
  double scale = 1;
  if (!text.empty()) {
    switch (text.back()) {
      case 'k':
      case 'K':
        scale = 1e3;
        break;
      case 'M':
        scale = 1e6;
        break;
      case 'G':
        scale = 1e9;
        break;
      default:
        break;
    }
    if (scale != 1) text.remove_suffix(1);
  }
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v))
    return std::nullopt;
  return v * scale;
}

std::optional<double> parseSeconds(std::string_view text) {
  double scale = 1;
  if (text.size() > 2 && text.substr(text.size() - 2) == "ms") {
    scale = 1e-3;
    text.remove_suffix(2);
  } else if (text.size() > 1 && text.back() == 's') {
    text.remove_suffix(1);
  }
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v))
    return std::nullopt;
  return v * scale;
}

Result parse(std::span<const std::string_view> argv) {
  if (argv.empty()) return {std::nullopt, "missing command: send or sink"};
  if (argv[0] == "help") return {Parsed{}, {}};
  Commands commands;
  const auto parsed =
      ::ferry::cli::parse(commands.app, std::vector<std::string>(argv.begin(), argv.end()));
  if (parsed.outcome == ::ferry::cli::Outcome::kHelp) return {Parsed{}, {}};
  if (parsed.outcome == ::ferry::cli::Outcome::kVersion) {
    Parsed p;
    p.command = Command::kVersion;
    return {p, {}};
  }
  const bool send = commands.send->parsed(), sink = commands.sink->parsed();
  if (parsed.outcome == ::ferry::cli::Outcome::kError) {
    const char* command = send ? "send: " : sink ? "sink: " : "";
    // An option's own message names it already ("--rate: missing value").
    const bool named = parsed.text.rfind("--", 0) == 0;
    return {std::nullopt, (named ? "" : command) + parsed.text};
  }
  if (!send && !sink) {
    const auto extra = commands.app.remaining();
    return {std::nullopt, extra.empty() ? "missing command: send or sink"
                                        : "unknown command " + inQuotes(extra[0]) +
                                              ": expected send or sink"};
  }
  const auto extra = commands.app.remaining(true);
  if (!extra.empty())
    return {std::nullopt, std::string(send ? "send" : "sink") + ": unexpected argument " +
                              inQuotes(extra[0])};
  try {
    return {send ? parseSend(commands.t) : parseSink(commands.t), {}};
  } catch (const Error& e) {
    return {std::nullopt, e.message};
  }
}

std::string usage() {
  Commands commands;
  return commands.app.help("", CLI::AppFormatMode::All);
}

}  // namespace ferry::gen::cli
