#include "cli.h"

#include <charconv>
#include <cmath>
#include <vector>

namespace ferry::gen::cli {
namespace {

struct Error {
  std::string message;
};

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

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

// Walks argv for one subcommand; each handler consumes its option's value.
class Args {
 public:
  explicit Args(std::span<const std::string_view> args) : args_(args) {}
  bool more() const { return i_ < args_.size(); }
  std::string_view next() { return args_[i_++]; }
  std::string_view value(std::string_view option) {
    if (i_ >= args_.size()) throw Error{std::string(option) + ": missing value"};
    return args_[i_++];
  }

 private:
  std::span<const std::string_view> args_;
  size_t i_ = 0;
};

uint64_t countArg(std::string_view option, std::string_view text, const char* what, uint64_t min,
                  uint64_t max) {
  const auto v = parseCount(text);
  if (!v || *v < min || *v > max)
    throw Error{std::string(option) + ": expected " + what + ", got " + quoted(text)};
  return *v;
}

double secondsArg(std::string_view option, std::string_view text) {
  const auto v = parseSeconds(text);
  if (!v || *v <= 0)
    throw Error{std::string(option) + ": expected a positive number of seconds, got " +
                quoted(text)};
  return *v;
}

route::Prefix prefixArg(std::string_view option, std::string_view text) {
  std::string error;
  auto p = route::Prefix::parse(text, &error);
  if (!p) throw Error{std::string(option) + ": " + error};
  return *p;
}

Parsed parseSend(Args& args) {
  Parsed p;
  p.command = Command::Send;
  SendConfig& c = p.send;
  bool have_to = false, have_count = false, have_duration = false;
  std::optional<double> rate, bitrate;
  std::optional<route::Prefix> inner_src, inner_dst;
  int size_options = 0;
  while (args.more()) {
    const std::string_view opt = args.next();
    if (opt == "--to") {
      const auto text = args.value(opt);
      std::string error;
      auto a = parseEndpoint(text, false, &error);
      if (!a) throw Error{"--to: expected ADDRESS:PORT, got " + quoted(text) + " (" + error + ")"};
      c.to = *a;
      have_to = true;
    } else if (opt == "--from") {
      const auto text = args.value(opt);
      auto a = parseSource(text);
      if (!a) throw Error{"--from: expected ADDRESS or ADDRESS:PORT, got " + quoted(text)};
      c.from = *a;
    } else if (opt == "--rate") {
      const auto text = args.value(opt);
      rate = parseScaled(text);
      if (!rate || *rate <= 0)
        throw Error{"--rate: expected a positive number of packets per second, got " +
                    quoted(text)};
    } else if (opt == "--bitrate") {
      const auto text = args.value(opt);
      bitrate = parseScaled(text);
      if (!bitrate || *bitrate <= 0)
        throw Error{"--bitrate: expected a positive number of bits per second (e.g. 2.5G), got " +
                    quoted(text)};
    } else if (opt == "--size") {
      const auto text = args.value(opt);
      c.sizes = {
          static_cast<uint32_t>(countArg(opt, text, "a packet size in bytes", 1, kMaxPacketSize))};
      ++size_options;
    } else if (opt == "--sizes") {
      const auto text = args.value(opt);
      auto sizes = parseSizes(text);
      if (!sizes)
        throw Error{"--sizes: expected sizes in bytes like 64,512,1400, got " + quoted(text)};
      c.sizes = *sizes;
      ++size_options;
    } else if (opt == "--imix") {
      const auto cycle = imixCycle();
      c.sizes.assign(cycle.begin(), cycle.end());
      ++size_options;
    } else if (opt == "--flows") {
      c.flows = static_cast<uint32_t>(
          countArg(opt, args.value(opt), "a number of flows 1..65536", 1, 65536));
    } else if (opt == "--count") {
      c.count = countArg(opt, args.value(opt), "a positive number of packets", 1, UINT64_MAX);
      have_count = true;
    } else if (opt == "--duration") {
      c.duration_s = secondsArg(opt, args.value(opt));
      have_duration = true;
    } else if (opt == "--threads") {
      c.threads = static_cast<uint32_t>(
          countArg(opt, args.value(opt), "a number of threads 1..1024", 1, 1024));
    } else if (opt == "--encap") {
      const auto text = args.value(opt);
      auto e = parseEncap(text);
      if (!e) throw Error{"--encap: expected none, ipv4 or ipv6, got " + quoted(text)};
      c.encap = *e;
    } else if (opt == "--inner-src") {
      inner_src = prefixArg(opt, args.value(opt));
    } else if (opt == "--inner-dst") {
      inner_dst = prefixArg(opt, args.value(opt));
    } else if (opt == "--gso") {
      c.gso = true;
    } else if (opt == "--batch") {
      c.batch =
          static_cast<uint32_t>(countArg(opt, args.value(opt), "a batch size 1..1024", 1, 1024));
    } else if (opt == "--run-id") {
      c.run = static_cast<uint16_t>(countArg(opt, args.value(opt), "a run id 0..65535", 0, 65535));
      p.run_given = true;
    } else if (opt == "--json") {
      p.json = true;
    } else if (opt == "--quiet" || opt == "-q") {
      p.quiet = true;
    } else if (opt == "--help" || opt == "-h") {
      return Parsed{};
    } else {
      throw Error{"send: unknown option " + quoted(opt)};
    }
  }
  if (!have_to) throw Error{"--to: missing; send needs --to ADDRESS:PORT"};
  if (rate && bitrate) throw Error{"--bitrate: give --rate or --bitrate, not both"};
  if (size_options > 1) throw Error{"--size: give one of --size, --sizes and --imix"};
  if (!have_count && !have_duration) c.duration_s = 10;  // like iperf3
  if (c.encap != Encap::None) {
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

Parsed parseSink(Args& args) {
  Parsed p;
  p.command = Command::Sink;
  SinkConfig& c = p.sink;
  bool have_listen = false;
  while (args.more()) {
    const std::string_view opt = args.next();
    if (opt == "--listen") {
      const auto text = args.value(opt);
      std::string error;
      auto a = parseEndpoint(text, true, &error);
      if (!a)
        throw Error{"--listen: expected ADDRESS:PORT, got " + quoted(text) + " (" + error + ")"};
      c.listen = *a;
      have_listen = true;
    } else if (opt == "--count") {
      c.count = countArg(opt, args.value(opt), "a positive number of packets", 1, UINT64_MAX);
    } else if (opt == "--duration") {
      c.duration_s = secondsArg(opt, args.value(opt));
    } else if (opt == "--idle") {
      c.idle_s = secondsArg(opt, args.value(opt));
    } else if (opt == "--expect-from-gen") {
      c.until_end = true;
    } else if (opt == "--decap") {
      c.decap = true;
    } else if (opt == "--no-gro") {
      c.gro = false;
    } else if (opt == "--batch") {
      c.batch =
          static_cast<uint32_t>(countArg(opt, args.value(opt), "a batch size 1..1024", 1, 1024));
    } else if (opt == "--run-id") {
      c.run = static_cast<uint16_t>(countArg(opt, args.value(opt), "a run id 0..65535", 0, 65535));
    } else if (opt == "--json") {
      p.json = true;
    } else if (opt == "--quiet" || opt == "-q") {
      p.quiet = true;
    } else if (opt == "--help" || opt == "-h") {
      return Parsed{};
    } else {
      throw Error{"sink: unknown option " + quoted(opt)};
    }
  }
  if (!have_listen) throw Error{"--listen: missing; sink needs --listen ADDRESS:PORT"};
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
  const std::string_view command = argv[0];
  Args args(argv.subspan(1));
  try {
    if (command == "send") return {parseSend(args), {}};
    if (command == "sink") return {parseSink(args), {}};
    if (command == "help" || command == "--help" || command == "-h") return {Parsed{}, {}};
    return {std::nullopt, "unknown command " + quoted(command) + ": expected send or sink"};
  } catch (const Error& e) {
    return {std::nullopt, e.message};
  }
}

std::string usage() {
  return R"(usage: ferry-gen send --to ADDR:PORT [options]
       ferry-gen sink --listen ADDR:PORT [options]

send: generate UDP traffic with per-flow sequence numbers and timestamps
  --to ADDR:PORT        destination ("192.0.2.1:5000", "[2001:db8::1]:5000")
  --from ADDR[:PORT]    source address; with PORT, flow f uses source port PORT+f
  --rate PPS            packets per second (k, M, G suffixes); default: as fast as possible
  --bitrate BPS         UDP payload bits per second instead, e.g. 2.5G
  --size N              UDP payload bytes (default 64)
  --sizes A,B,C         sizes sent in this order, cycling
  --imix                7 x 64 : 4 x 594 : 1 x 1518 bytes of UDP payload
  --flows N             flows = distinct source ports (default 1)
  --count N             data packets in all
  --duration S          seconds (default 10 when neither --count nor --duration)
  --threads N           sender threads, each with its share of the flows (default 1)
  --encap none|ipv4|ipv6  payload is an inner IPv4/IPv6+UDP packet (IP-in-UDP)
  --inner-src PREFIX    inner source addresses (default 198.18.0.0/16, 2001:2:0:1::/64)
  --inner-dst PREFIX    inner destination addresses (default 198.19.0.0/16, 2001:2:0:2::/64)
  --gso                 UDP GSO (UDP_SEGMENT); needs a single size
  --batch N             packets per sendmmsg (default 64)
  --run-id N            run id in every header (default random)

sink: count what arrives
  --listen ADDR:PORT    where to receive (port 0: any; the bound address is printed)
  --count N             end after N data packets
  --duration S          end after S seconds
  --idle S              end after S seconds without a packet (once one arrived)
  --expect-from-gen     end when every flow's end marker arrived (and 50 ms of quiet)
  --decap               packets are inner IPv4/IPv6+UDP (checksums verified)
  --no-gro              do not ask for UDP GRO
  --batch N             datagrams per recvmmsg (default 64)
  --run-id N            count only this run (default: the first run seen)

both:
  --json                print one JSON object at the end (no progress lines)
  --quiet, -q           no progress lines (they appear only when stdout is a terminal)

Exit status: 0 ok, 1 run-time failure, 2 bad arguments.
See tools/ferry-gen/README.md for the measuring header, loss semantics and JSON keys.
)";
}

}  // namespace ferry::gen::cli
