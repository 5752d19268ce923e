#include "ferry/config/config.h"

// GCC 12 reports a false -Wdangling-pointer inside yaml-cpp's inline
// Node::operator= (yaml-cpp issue #1164); the warning is about their header.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include "ferry/route/route_table.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

namespace ferry {

const char* toString(Mode mode) noexcept {
  switch (mode) {
    case Mode::kRelay:
      return "relay";
    case Mode::kRoute:
      return "route";
  }
  return "?";
}

const char* toString(Steering steering) noexcept {
  switch (steering) {
    case Steering::kKernel:
      return "kernel";
    case Steering::kInnerFlow:
      return "inner-flow";
    case Steering::kCpu:
      return "cpu";
  }
  return "?";
}

const char* toString(BfdMode mode) noexcept {
  switch (mode) {
    case BfdMode::kInBand:
      return "inband";
    case BfdMode::kRfc5881:
      return "rfc5881";
  }
  return "?";
}

bool groInUse(const Config& config) noexcept {
  return config.tuning.gro && config.steering != Steering::kInnerFlow;
}

int Config::interfaceIndex(std::string_view name) const noexcept {
  for (size_t i = 0; i < interfaces.size(); ++i)
    if (interfaces[i].name == name) return static_cast<int>(i);
  return -1;
}

std::string Config::summary() const {
  std::ostringstream out;
  out << interfaces.size() << (interfaces.size() == 1 ? " interface" : " interfaces") << ", "
      << toString(mode) << " mode, ";
  if (mode == Mode::kRelay)
    out << relay.size() << (relay.size() == 1 ? " relay rule" : " relay rules");
  else
    out << routeCount() << (routeCount() == 1 ? " route" : " routes");
  size_t bfd = 0;
  for (const auto& i : interfaces) bfd += i.bfd.has_value();
  out << ", " << bfd << " with BFD, dataplanes ";
  if (dataplanes == 0)
    out << "auto";
  else
    out << dataplanes;
  out << ", steering " << toString(steering);
  return out.str();
}

namespace {

// `text` with every byte outside printable ASCII written as \xNN, so that a
// message can go into JSON (which needs UTF-8) and onto a terminal as is.
std::string printable(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      out += c;
    } else {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    }
  }
  return out;
}

}  // namespace

std::string ConfigError::format() const {
  if (line <= 0) return printable(file) + ": " + printable(message);
  // A routes file's errors have a line and no column.
  if (column <= 0) return printable(file) + ":" + std::to_string(line) + ": " + printable(message);
  return printable(file) + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " +
         printable(message);
}

namespace {

constexpr uint16_t kMaxInterfaces = 4096;

bool isInterfaceNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

bool isPowerOfTwo(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

SourcePos posOf(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) return {};
  return {mark.line + 1, mark.column + 1};
}

std::string joined(std::initializer_list<std::string_view> items) {
  std::string out;
  for (auto item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

const char* typeName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Undefined: return "nothing";
  }
  return "?";
}

// Walks the YAML tree, collecting every error (not only the first) with the
// position of the node it is about. `path` strings such as
// "interfaces[1].bind" name the item in messages.
class Parser {
 public:
  Parser(std::string file, std::vector<ConfigError>& errors)
      : file_(std::move(file)), errors_(errors) {}

  void error(SourcePos pos, std::string message) {
    errors_.push_back({file_, pos.line, pos.column, std::move(message)});
  }
  void error(const YAML::Node& at, std::string message) { error(posOf(at), std::move(message)); }

  // Reports (and returns false) unless `node` is a map; reports unknown and
  // duplicate keys (each at the key), and returns true if the map can be read.
  bool checkMap(const YAML::Node& node, const std::string& path,
                std::initializer_list<std::string_view> keys) {
    if (!node.IsMap()) {
      error(node, path + ": expected a map, got " + typeName(node));
      return false;
    }
    std::map<std::string, SourcePos> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      // A copy: the iterator hands out a temporary proxy (ASan caught a reference to it).
      const YAML::Node key = it->first;
      if (!key.IsScalar()) {
        error(key, path + ": keys must be plain words");
        continue;
      }
      const std::string name = key.Scalar();
      bool known = false;
      for (auto k : keys) known = known || k == name;
      if (!known) {
        error(key, path + ": unknown key '" + name + "' (expected one of: " + joined(keys) + ")");
        continue;
      }
      const auto [prev, inserted] = seen.emplace(name, posOf(key));
      if (!inserted)
        error(key, path + ": duplicate key '" + name + "' (first at line " +
                       std::to_string(prev->second.line) + ")");
    }
    return true;
  }

  std::optional<std::string> scalar(const YAML::Node& node, const std::string& path) {
    if (!node.IsScalar()) {
      error(node, path + ": expected a value, got " + typeName(node));
      return std::nullopt;
    }
    return node.Scalar();
  }

  std::optional<uint64_t> unsignedInt(const YAML::Node& node, const std::string& path,
                                      uint64_t min, uint64_t max) {
    auto text = scalar(node, path);
    if (!text) return std::nullopt;
    uint64_t value = 0;
    const char* begin = text->data();
    const char* end = begin + text->size();
    auto [ptr, ec] = std::from_chars(begin, end, value);
    // All digits but past 64 bits is a range error like any other too-large value.
    const bool too_large = ec == std::errc::result_out_of_range && ptr == end;
    if (!too_large && (ec != std::errc() || ptr != end || text->empty())) {
      error(node, path + ": expected a whole number, got '" + *text + "'");
      return std::nullopt;
    }
    if (too_large || value < min || value > max) {
      error(node, path + ": " + *text + " is out of range " + std::to_string(min) + ".." +
                      std::to_string(max));
      return std::nullopt;
    }
    return value;
  }

  std::optional<bool> boolean(const YAML::Node& node, const std::string& path) {
    auto text = scalar(node, path);
    if (!text) return std::nullopt;
    if (*text == "true") return true;
    if (*text == "false") return false;
    error(node, path + ": expected true or false, got '" + *text + "'");
    return std::nullopt;
  }

  // One of `choices` (the YAML words), returned as its index.
  std::optional<size_t> choice(const YAML::Node& node, const std::string& path,
                               std::initializer_list<std::string_view> choices) {
    auto text = scalar(node, path);
    if (!text) return std::nullopt;
    size_t i = 0;
    for (auto c : choices) {
      if (c == *text) return i;
      ++i;
    }
    error(node, path + ": expected one of " + joined(choices) + ", got '" + *text + "'");
    return std::nullopt;
  }

  std::optional<SockAddr> address(const YAML::Node& node, const std::string& path) {
    auto text = scalar(node, path);
    if (!text) return std::nullopt;
    std::string why;
    auto addr = SockAddr::parse(*text, &why);
    if (!addr) error(node, path + ": " + why);
    return addr;
  }

  // The optional readers: when `map` has `key`, read it as above and store
  // it in `out`; otherwise (or when it is wrong: reported) leave `out` as it
  // is. `path` is the map's ("" at the top level).
  template <typename T>
  void optionalUnsigned(const YAML::Node& map, const char* key, const std::string& path,
                        uint64_t min, uint64_t max, T& out) {
    if (auto v = map[key])
      if (auto n = unsignedInt(v, keyPath(path, key), min, max)) store(out, *n);
  }
  template <typename T>
  static void store(T& out, uint64_t n) {
    out = static_cast<T>(n);
  }
  template <typename T>
  static void store(std::optional<T>& out, uint64_t n) {
    out = static_cast<T>(n);
  }
  void optionalBool(const YAML::Node& map, const char* key, const std::string& path, bool& out) {
    if (auto v = map[key])
      if (auto b = boolean(v, keyPath(path, key))) out = *b;
  }
  // An enum written as one of `choices`, in the enum's order.
  template <typename E>
  bool optionalChoice(const YAML::Node& map, const char* key, const std::string& path,
                      std::initializer_list<std::string_view> choices, E& out) {
    if (auto v = map[key]) {
      auto c = choice(v, keyPath(path, key), choices);
      if (!c) return false;
      out = static_cast<E>(*c);
    }
    return true;
  }
  static std::string keyPath(const std::string& path, const char* key) {
    return path.empty() ? std::string(key) : path + "." + key;
  }

  // A required key: reports at the map when it is missing.
  bool require(const YAML::Node& map, const char* key, const std::string& path) {
    if (map[key]) return true;
    error(map, path + ": missing required key '" + key + "'");
    return false;
  }

  // Resolves an interface name to its index, reporting unknown names.
  std::optional<uint16_t> interfaceRef(const Config& config, const YAML::Node& node,
                                       const std::string& path) {
    auto name = scalar(node, path);
    if (!name) return std::nullopt;
    const int index = config.interfaceIndex(*name);
    if (index < 0) {
      std::string known;
      for (const auto& i : config.interfaces) known += (known.empty() ? "" : ", ") + i.name;
      error(node, path + ": unknown interface '" + *name + "'" +
                      (known.empty() ? "" : " (interfaces: " + known + ")"));
      return std::nullopt;
    }
    return static_cast<uint16_t>(index);
  }

  void parseRoot(const YAML::Node& root, Config& config);

 private:
  // The top-level keys' readers, in the order parseRoot calls them.
  void parseDataplanes(const YAML::Node& node, Config& config);
  void parseControlSocket(const YAML::Node& node, Config& config);
  void parseAccount(const YAML::Node& root, const char* key, std::optional<std::string>& out);
  void parseMetrics(const YAML::Node& node, Config& config);
  void parseFpm(const YAML::Node& node, Config& config);
  void parseInterfaces(const YAML::Node& root, Config& config);
  void parseRelay(const YAML::Node& node, Config& config);
  void parseRoutes(const YAML::Node& node, Config& config);
  void parseInterface(const YAML::Node& node, const std::string& path, Config& config);
  void parseBfd(const YAML::Node& node, const std::string& path, BfdConfig& bfd);
  void parseBfdAuth(const YAML::Node& node, const std::string& path, BfdAuth& auth);
  void parseTuning(const YAML::Node& node, Tuning& tuning);
  void parseIcmp(const YAML::Node& node, IcmpConfig& icmp);
  void validate(const YAML::Node& root, Config& config);
  void checkDependsOn(const YAML::Node& interfaces, Config& config);
  void parseAnnounce(const YAML::Node& node, AnnounceConfig& announce);
  void checkRoutes(Config& config);
  void readRoutesFile(const YAML::Node& at, const std::string& written, Config& config);

  std::string file_;
  std::vector<ConfigError>& errors_;
  bool mode_known_ = true;
};

void Parser::parseBfd(const YAML::Node& node, const std::string& path, BfdConfig& bfd) {
  if (!checkMap(node, path,
                {"interval_ms", "detect_mult", "mode", "admin_down", "hold_up_ms", "auth", "depends_on"}))
    return;
  // RFC 5880 intervals are 32-bit microseconds; FRR's floor is 10 ms, ours 1 ms.
  optionalUnsigned(node, "interval_ms", path, 1, 4'294'967, bfd.interval_ms);
  optionalUnsigned(node, "detect_mult", path, 1, 255, bfd.detect_mult);
  optionalChoice(node, "mode", path, {"inband", "rfc5881"}, bfd.mode);
  optionalBool(node, "admin_down", path, bfd.admin_down);
  optionalUnsigned(node, "hold_up_ms", path, 0, kMaxHoldUpMs, bfd.hold_up_ms);
  if (auto v = node["auth"]) parseBfdAuth(v, path + ".auth", bfd.auth);
  if (auto v = node["depends_on"]) {
    // Names only here: they may refer to interfaces further down the file
    // (checkDependsOn resolves them once every interface is known).
    if (!v.IsSequence()) {
      error(v, path + ".depends_on: expected a list of interface names, got " + typeName(v));
    } else if (v.size() == 0) {
      error(v, path + ".depends_on: the list is empty (leave the key out for no gating)");
    } else {
      for (size_t i = 0; i < v.size(); ++i)
        if (auto name = scalar(v[i], path + ".depends_on[" + std::to_string(i) + "]"))
          bfd.depends_on.push_back(*name);
    }
  }
}

void Parser::parseBfdAuth(const YAML::Node& node, const std::string& path, BfdAuth& auth) {
  if (!checkMap(node, path, {"type", "key_id", "secret", "accept"})) return;
  const bool have_type = require(node, "type", path);
  const bool have_secret = require(node, "secret", path);
  if (!have_type || !have_secret) return;
  static constexpr std::string_view kTypes[] = {"simple", "keyed-md5", "meticulous-keyed-md5", "keyed-sha1",
                                                "meticulous-keyed-sha1"};
  auto type = choice(node["type"], path + ".type",
                     {kTypes[0], kTypes[1], kTypes[2], kTypes[3], kTypes[4]});
  if (!type) return;
  auth.type = bfd::AuthType(*type + 1);
  optionalUnsigned(node, "key_id", path, 0, 255, auth.key_id);
  // §4.2–§4.4: a password of 1..16 bytes; MD5 keys up to 16, SHA1 keys up to 20.
  const size_t max =
      auth.type == bfd::AuthType::kKeyedSha1 || auth.type == bfd::AuthType::kMeticulousKeyedSha1 ? 20 : 16;
  const auto secret = [&](const YAML::Node& at,
                          const std::string& at_path) -> std::optional<std::string> {
    auto text = scalar(at, at_path);
    if (!text) return std::nullopt;
    if (text->empty() || text->size() > max) {
      error(at, at_path + ": " + std::to_string(text->size()) + " bytes; " +
                    std::string(kTypes[*type]) + " takes 1 to " + std::to_string(max));
      return std::nullopt;
    }
    return text;
  };
  if (auto s = secret(node["secret"], path + ".secret")) auth.secret = std::move(*s);
  const YAML::Node accept = node["accept"];
  if (!accept) return;
  // Key rollover: more keys accepted from the peer, each {key_id, secret}.
  if (!accept.IsSequence()) {
    error(accept, path + ".accept: expected a list of {key_id, secret}, got " + typeName(accept));
    return;
  }
  if (accept.size() == 0) {
    error(accept,
          path + ".accept: the list is empty (leave the key out to accept only the key sent)");
    return;
  }
  if (accept.size() > bfd::kMaxAcceptKeys) {
    error(accept, path + ".accept: " + std::to_string(accept.size()) + " keys; at most " +
                      std::to_string(bfd::kMaxAcceptKeys));
    return;
  }
  for (size_t i = 0; i < accept.size(); ++i) {
    const YAML::Node k = accept[i];
    const std::string at = path + ".accept[" + std::to_string(i) + "]";
    if (!checkMap(k, at, {"key_id", "secret"})) continue;
    const bool have_id = require(k, "key_id", at);
    if (!require(k, "secret", at) || !have_id) continue;
    std::optional<uint8_t> id;
    optionalUnsigned(k, "key_id", at, 0, 255, id);
    auto s = secret(k["secret"], at + ".secret");
    if (!id || !s) continue;
    if (*id == auth.key_id) {
      error(k["key_id"], at + ".key_id: " + std::to_string(*id) + " is the key sent (" + path +
                             ".key_id); list only the other keys to accept");
      continue;
    }
    bool duplicate = false;
    for (const auto& earlier : auth.accept) duplicate |= earlier.key_id == *id;
    if (duplicate) {
      error(k["key_id"], at + ".key_id: " + std::to_string(*id) + " is listed twice");
      continue;
    }
    auth.accept.push_back({*id, std::move(*s)});
  }
}

void Parser::parseInterface(const YAML::Node& node, const std::string& path, Config& config) {
  if (!checkMap(node, path, {"name", "bind", "peer", "bfd"})) return;
  InterfaceConfig iface;
  iface.pos = posOf(node);
  bool ok = require(node, "name", path) & require(node, "bind", path);
  if (auto v = node["name"]) {
    if (auto name = scalar(v, path + ".name")) {
      if (name->empty()) {
        error(v, path + ".name: must not be empty");
        ok = false;
      } else if (!std::all_of(name->begin(), name->end(), isInterfaceNameChar)) {
        // Names appear in JSON replies, metrics labels and logs: keep them plain.
        error(v, path + ".name: '" + printable(*name) +
                     "' may contain only letters, digits, '.', '_' and '-'");
        ok = false;
        iface.name = *name;  // recorded all the same: references to it are not "unknown"
      } else if (name->size() > kMaxInterfaceName) {
        error(v, path + ".name: '" + *name + "' is " + std::to_string(name->size()) +
                     " characters long; at most " + std::to_string(kMaxInterfaceName));
        ok = false;
        iface.name = *name;
      } else if (int prev = config.interfaceIndex(*name); prev >= 0) {
        error(v, path + ".name: duplicate interface name '" + *name + "' (first at line " +
                     std::to_string(config.interfaces[size_t(prev)].pos.line) + ")");
        ok = false;
      } else {
        iface.name = *name;
      }
    } else {
      ok = false;
    }
  }
  if (auto v = node["bind"]) {
    if (auto a = address(v, path + ".bind")) iface.bind = *a;
    else ok = false;
  }
  if (auto v = node["peer"]) {
    if (auto a = address(v, path + ".peer")) {
      iface.peer = *a;
      if (iface.bind.family() != 0 && a->family() != iface.bind.family()) {
        error(v, path + ".peer: " + a->toString() + " is " + (a->isV4() ? "IPv4" : "IPv6") +
                     " but bind " + iface.bind.toString() + " is " +
                     (iface.bind.isV4() ? "IPv4" : "IPv6"));
      }
    }
  }
  if (auto v = node["bfd"]) {
    BfdConfig bfd;
    parseBfd(v, path + ".bfd", bfd);
    if (!node["peer"]) error(v, path + ".bfd: BFD needs a 'peer' to talk to");
    iface.bfd = bfd;
  }
  if (iface.bind.family() != 0) {
    for (const auto& other : config.interfaces) {
      if (other.bind == iface.bind)
        error(node["bind"], path + ".bind: " + iface.bind.toString() +
                                " is already the bind address of interface '" + other.name + "'");
    }
  }
  if (config.interfaces.size() >= kMaxInterfaces) {
    error(node, path + ": too many interfaces (at most " + std::to_string(kMaxInterfaces) + ")");
    return;
  }
  // A broken interface is still recorded (when it has a name) so that later
  // references to it do not add "unknown interface" noise.
  if (ok || !iface.name.empty()) config.interfaces.push_back(std::move(iface));
}

void Parser::parseTuning(const YAML::Node& node, Tuning& tuning) {
  const std::string path = "tuning";
  if (!checkMap(node, path,
                {"max_datagram", "buffers", "ring_entries", "socket_buffer", "bfd_queue", "ecmp_seed", "gso",
                 "gro", "gro_buffers", "watchdog_stall_ms"}))
    return;
  optionalUnsigned(node, "max_datagram", path, 64, 65535, tuning.max_datagram);
  auto powerOfTwo = [&](const char* key, uint64_t min, uint64_t max, uint32_t& out) {
    if (auto v = node[key]) {
      if (auto n = unsignedInt(v, path + "." + key, min, max)) {
        if (!isPowerOfTwo(*n))
          error(v, path + "." + key + ": " + std::to_string(*n) + " is not a power of two");
        else
          out = uint32_t(*n);
      }
    }
  };
  powerOfTwo("buffers", 64, 32768, tuning.buffers);
  powerOfTwo("ring_entries", 64, 32768, tuning.ring_entries);
  powerOfTwo("bfd_queue", 16, 65536, tuning.bfd_queue);
  // Each is 64 KiB + 128 B: 16.8 MB per dataplane at the default 256, 33.6 MB at 512.
  powerOfTwo("gro_buffers", 16, 512, tuning.gro_buffers);
  optionalBool(node, "gro", path, tuning.gro);
  optionalBool(node, "gso", path, tuning.gso);
  optionalUnsigned(node, "ecmp_seed", path, 0, 0xffffffffu, tuning.ecmp_seed);
  optionalUnsigned(node, "socket_buffer", path, 4096, 1u << 30, tuning.socket_buffer);
  optionalUnsigned(node, "watchdog_stall_ms", path, 100, 3'600'000, tuning.watchdog_stall_ms);
}

void Parser::parseIcmp(const YAML::Node& node, IcmpConfig& icmp) {
  const std::string path = "icmp";
  if (!checkMap(node, path, {"source_v4", "source_v6", "rate", "burst"})) return;
  auto source = [&](const char* key, int family, std::string& out) {
    if (auto v = node[key]) {
      if (auto s = scalar(v, keyPath(path, key))) {
        in6_addr a{};  // large enough for either family
        if (inet_pton(family, s->c_str(), &a) != 1)
          error(v, keyPath(path, key) + ": '" + *s + "' is not an " +
                       (family == AF_INET ? "IPv4" : "IPv6") + " address");
        else
          out = *s;
      }
    }
  };
  source("source_v4", AF_INET, icmp.source_v4);
  source("source_v6", AF_INET6, icmp.source_v6);
  optionalUnsigned(node, "rate", path, 1, 1'000'000, icmp.rate);
  optionalUnsigned(node, "burst", path, 1, 1'000'000, icmp.burst);
  if (!node["source_v4"] && !node["source_v6"])
    error(node, path + ": needs source_v4 and/or source_v6 (the address ICMP errors come from)");
}

void Parser::parseRoot(const YAML::Node& root, Config& config) {
  if (root.IsNull() || !root.IsDefined()) {
    error(SourcePos{}, "the file is empty; expected a map with at least 'interfaces'");
    return;
  }
  if (!checkMap(root, "config",
                {"dataplanes", "steering", "mode", "interfaces", "relay", "routes", "routes_file",
                 "icmp", "metrics", "control_socket", "tuning", "user", "group", "fpm", "announce",
                 "drain_ms"}))
    return;

  if (auto v = root["dataplanes"]) parseDataplanes(v, config);
  optionalChoice(root, "steering", "", {"kernel", "inner-flow", "cpu"}, config.steering);
  mode_known_ = optionalChoice(root, "mode", "", {"relay", "route"}, config.mode);
  if (auto v = root["control_socket"]) parseControlSocket(v, config);
  parseAccount(root, "user", config.user);
  parseAccount(root, "group", config.group);
  if (root["group"] && !root["user"]) error(root["group"], "group: needs 'user' (the account ferryd switches to)");
  if (auto v = root["metrics"]) parseMetrics(v, config);
  if (auto v = root["fpm"]) parseFpm(v, config);
  if (auto v = root["tuning"]) parseTuning(v, config.tuning);
  if (auto v = root["announce"]) {
    AnnounceConfig announce;
    parseAnnounce(v, announce);
    config.announce = announce;
  }
  optionalUnsigned(root, "drain_ms", "", 0, kMaxDrainMs, config.drain_ms);
  if (auto v = root["icmp"]) {
    IcmpConfig icmp;
    parseIcmp(v, icmp);
    config.icmp = icmp;
  }
  parseInterfaces(root, config);
  if (auto v = root["relay"]) parseRelay(v, config);
  if (auto v = root["routes"]) parseRoutes(v, config);
  if (auto file = root["routes_file"]; file && config.mode == Mode::kRoute) {
    if (auto path = scalar(file, "routes_file")) readRoutesFile(file, *path, config);
  }
  validate(root, config);
}

// `dataplanes`: a count, or `auto` (0: one per CPU ferryd may run on).
void Parser::parseDataplanes(const YAML::Node& v, Config& config) {
  if (v.IsScalar() && v.Scalar() == "auto") {
    config.dataplanes = 0;
  } else if (v.IsScalar()) {
    // Written so that "0" and "-1" get the same clear message.
    const std::string text = v.Scalar();
    int64_t n = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    // Digits past 64 bits: as far out of range as they look.
    if (ec == std::errc::result_out_of_range && ptr == text.data() + text.size()) {
      n = text.front() == '-' ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
      ec = std::errc();
    }
    if (ec != std::errc() || ptr != text.data() + text.size() || text.empty())
      error(v, "dataplanes: expected 'auto' or a whole number, got '" + text + "'");
    else if (n <= 0)
      error(v, "dataplanes: must be at least 1, got " + text);
    else if (n > 1024)
      error(v, "dataplanes: " + text + " is more than 1024");
    else
      config.dataplanes = uint32_t(n);
  } else {
    error(v, std::string("dataplanes: expected 'auto' or a whole number, got ") + typeName(v));
  }
}

void Parser::parseControlSocket(const YAML::Node& v, Config& config) {
  if (auto s = scalar(v, "control_socket")) {
    if (s->empty() || s->front() != '/')
      error(v, "control_socket: expected an absolute path, got '" + *s + "'");
    else if (s->size() >= 108)  // sizeof(sockaddr_un::sun_path)
      error(v, "control_socket: path is longer than 107 bytes");
    else
      config.control_socket = *s;
  }
}

// user / group: names (or numbers) as passwd and group files spell them;
// whether they exist is checked when ferryd switches to them.
void Parser::parseAccount(const YAML::Node& root, const char* key, std::optional<std::string>& out) {
  const YAML::Node v = root[key];
  if (!v) return;
  auto s = scalar(v, key);
  if (!s) return;
  bool ok = !s->empty() && s->size() <= 32 && s->front() != '-';
  for (char c : *s) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.');
  if (!ok)
    error(v, std::string(key) + ": '" + *s + "' is not a " + key +
                 " name (1 to 32 of letters, digits, '_', '-', '.')");
  else
    out = *s;
}

void Parser::parseMetrics(const YAML::Node& v, Config& config) {
  if (!checkMap(v, "metrics", {"listen"})) return;
  if (auto l = v["listen"]) config.metrics_listen = address(l, "metrics.listen");
}

void Parser::parseFpm(const YAML::Node& v, Config& config) {
  if (!checkMap(v, "fpm", {"listen", "batch_ms", "resync_ms"}) || !require(v, "listen", "fpm")) return;
  FpmConfig fpm;
  auto listen = address(v["listen"], "fpm.listen");
  optionalUnsigned(v, "batch_ms", "fpm", 1, 60'000, fpm.batch_ms);
  optionalUnsigned(v, "resync_ms", "fpm", 100, 3'600'000, fpm.resync_ms);
  if (!listen) return;
  fpm.listen = *listen;
  config.fpm = fpm;
}

void Parser::parseInterfaces(const YAML::Node& root, Config& config) {
  const YAML::Node interfaces = root["interfaces"];
  if (!interfaces) {
    error(root, "config: missing required key 'interfaces'");
  } else if (!interfaces.IsSequence()) {
    error(interfaces, std::string("interfaces: expected a list, got ") + typeName(interfaces));
  } else if (interfaces.size() == 0) {
    error(interfaces, "interfaces: the list is empty; at least one interface is needed");
  } else {
    for (size_t i = 0; i < interfaces.size(); ++i)
      parseInterface(interfaces[i], "interfaces[" + std::to_string(i) + "]", config);
    checkDependsOn(interfaces, config);
  }
}

void Parser::parseRelay(const YAML::Node& relay, Config& config) {
  if (!relay.IsSequence()) {
    error(relay, std::string("relay: expected a list, got ") + typeName(relay));
    return;
  }
  for (size_t i = 0; i < relay.size(); ++i) {
    const YAML::Node rule = relay[i];
    const std::string path = "relay[" + std::to_string(i) + "]";
    if (!checkMap(rule, path, {"from", "to"})) continue;
    const bool has = require(rule, "from", path) & require(rule, "to", path);
    if (!has) continue;
    auto from = interfaceRef(config, rule["from"], path + ".from");
    auto to = interfaceRef(config, rule["to"], path + ".to");
    if (!from || !to) continue;
    const auto& dst = config.interfaces[*to];
    if (*from == *to) {
      error(rule["to"], path + ": 'from' and 'to' are the same interface '" + dst.name + "'");
      continue;
    }
    if (!dst.peer) {
      error(rule["to"], path + ".to: interface '" + dst.name +
                            "' has no 'peer', so there is nowhere to send to");
      continue;
    }
    bool duplicate = false;
    for (const auto& r : config.relay) {
      if (r.from == *from) {
        error(rule["from"], path + ".from: interface '" + config.interfaces[*from].name +
                                "' already relays to '" + config.interfaces[r.to].name +
                                "' (line " + std::to_string(r.pos.line) + ")");
        duplicate = true;
      }
    }
    if (!duplicate) config.relay.push_back({*from, *to, posOf(rule)});
  }
}

void Parser::parseRoutes(const YAML::Node& routes, Config& config) {
  if (!routes.IsSequence()) {
    error(routes, std::string("routes: expected a list, got ") + typeName(routes));
    return;
  }
  for (size_t i = 0; i < routes.size(); ++i) {
    const YAML::Node r = routes[i];
    const std::string path = "routes[" + std::to_string(i) + "]";
    if (!checkMap(r, path, {"prefix", "via", "ecmp", "drop", "weights"})) continue;
    if (!require(r, "prefix", path)) continue;
    RouteConfig route;
    route.pos = posOf(r);
    route.prefix_pos = posOf(r["prefix"]);
    if (const YAML::Node weights = r["weights"]) {
      // The list's items are checked (range, count, ecmp) by the route module.
      route.weights_pos = posOf(weights);
      if (!weights.IsSequence()) {
        error(weights, path + ".weights: expected a list of weights, one per interface in 'via'");
        continue;
      }
      bool weights_ok = true;
      for (size_t j = 0; j < weights.size(); ++j) {
        const auto w =
            unsignedInt(weights[j], path + ".weights[" + std::to_string(j) + "]", 0, UINT32_MAX);
        if (!w) {
          weights_ok = false;
          continue;
        }
        route.weights.push_back(uint32_t(*w));
        route.weight_pos.push_back(posOf(weights[j]));
      }
      if (!weights_ok) continue;
    }
    auto prefix = scalar(r["prefix"], path + ".prefix");
    if (!prefix) continue;
    route.prefix = *prefix;
    if (const YAML::Node drop = r["drop"]) {
      // A drop route; what else it has (via, ecmp) the route module reports.
      route.drop_pos = posOf(drop);
      auto action = scalar(drop, path + ".drop");
      if (!action) continue;
      route.drop = *action;
      if (!r["via"]) {
        if (auto e = r["ecmp"]) {
          route.ecmp_pos = posOf(e);
          if (auto b = boolean(e, path + ".ecmp"))
            route.ecmp = *b;
          else
            continue;
        }
        config.routes.push_back(std::move(route));
        continue;
      }
    } else if (!r["via"]) {
      error(r, path +
                   ": missing required key 'via' (the interfaces to send to), or 'drop' "
                   "(blackhole, unreachable or prohibit)");
      continue;
    }
    const YAML::Node via = r["via"];
    if (!via.IsSequence()) {
      error(via, path + ".via: expected a list of interface names");
      continue;
    }
    bool ok = true;
    for (size_t j = 0; j < via.size(); ++j) {
      auto name = scalar(via[j], path + ".via[" + std::to_string(j) + "]");
      if (!name) {
        ok = false;
        continue;
      }
      route.via_names.push_back(*name);
      route.via_pos.push_back(posOf(via[j]));
    }
    route.ecmp_pos = posOf(via);
    if (auto e = r["ecmp"]) {
      route.ecmp_pos = posOf(e);
      if (auto b = boolean(e, path + ".ecmp")) route.ecmp = *b;
      else ok = false;
    }
    if (ok) config.routes.push_back(std::move(route));
  }
  checkRoutes(config);
}

// `routes_file:` read streaming (route_set.h); its errors name that file and
// line. Then, as for `routes:`, every next hop needs a peer to send to.
void Parser::readRoutesFile(const YAML::Node& at, const std::string& written, Config& config) {
  if (written.empty()) {
    error(at, "routes_file: expected a file name");
    return;
  }
  std::string path = written;
  const size_t slash = file_.rfind('/');
  if (path.front() != '/' && slash != std::string::npos) path = file_.substr(0, slash + 1) + path;
  config.routes_file = path;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    error(at, "routes_file: cannot read '" + path + "': " + std::strerror(errno));
    return;
  }
  if (!S_ISREG(st.st_mode)) {
    error(at, "routes_file: '" + path + "' is not a regular file");
    return;
  }
  if (uint64_t(st.st_size) > kMaxRoutesFileBytes) {
    error(at, "routes_file: '" + path + "' is " + std::to_string(st.st_size) +
                  " bytes; at most " + std::to_string(kMaxRoutesFileBytes) + " are read");
    return;
  }
  std::ifstream in(path);
  if (!in) {
    error(at, "routes_file: cannot read '" + path + "': " + std::strerror(errno));
    return;
  }
  std::vector<std::string> names;
  for (const auto& i : config.interfaces) names.push_back(i.name);
  auto result = route::readRoutesFile(in, names);
  for (auto& e : result.errors) errors_.push_back({path, int(e.line), 0, std::move(e.message)});
  if (result.more_errors)
    errors_.push_back({path, 0, 0, "more errors left out (the first " +
                                       std::to_string(route::kMaxRoutesFileErrors) + " are listed)"});
  if (!result.routes) return;
  const route::RouteSet& set = *result.routes;
  std::vector<uint8_t> reported(config.interfaces.size(), 0);
  for (uint32_t r = 0; r < set.size(); ++r) {
    for (const uint8_t m : set.group(r).members()) {
      if (config.interfaces[m].peer || reported[m]) continue;
      reported[m] = 1;
      errors_.push_back({path, 0, 0, "routes via interface '" + config.interfaces[m].name +
                                         "': it has no 'peer' to send to"});
    }
  }
  config.file_routes = std::make_shared<const route::RouteSet>(std::move(*result.routes));
}

// Route rules live in the route module (one implementation for check-config,
// ferryd run and the forwarding table); its findings are placed back on the
// item they are about. Then: every next hop needs a peer to send to.
void Parser::checkRoutes(Config& config) {
  std::vector<route::RouteSpec> specs;
  for (const auto& r : config.routes) specs.push_back(r.spec());
  std::vector<std::string> names;
  for (const auto& i : config.interfaces) names.push_back(i.name);
  std::vector<route::RouteIssue> issues;
  route::RouteTable::build(specs, names, {}, &issues);
  for (const auto& issue : issues) {
    const RouteConfig& r = config.routes[issue.route];
    const std::string path = "routes[" + std::to_string(issue.route) + "]";
    SourcePos pos = r.prefix_pos;
    std::string where = path + ".prefix";
    if (issue.field == route::RouteIssue::Field::kVia) {
      pos = issue.item < r.via_pos.size() ? r.via_pos[issue.item] : r.pos;
      where = path + ".via[" + std::to_string(issue.item) + "]";
    } else if (issue.field == route::RouteIssue::Field::kEcmp) {
      pos = r.ecmp_pos;
      where = path + ".ecmp";
    } else if (issue.field == route::RouteIssue::Field::kDrop) {
      pos = r.drop_pos;
      where = path + ".drop";
    } else if (issue.field == route::RouteIssue::Field::kWeights) {
      pos = r.weights_pos;
      where = path + ".weights";
      if (issue.item < r.weight_pos.size()) {  // one weight, not the list (kWholeList)
        pos = r.weight_pos[issue.item];
        where += "[" + std::to_string(issue.item) + "]";
      }
    }
    // Host bits are an error (kReject), so every issue here is one.
    error(pos, where + ": " + issue.message);
  }
  for (size_t i = 0; i < config.routes.size(); ++i) {
    RouteConfig& r = config.routes[i];
    for (size_t j = 0; j < r.via_names.size(); ++j) {
      const int index = config.interfaceIndex(r.via_names[j]);
      if (index < 0) continue;  // reported above
      r.via.push_back(uint16_t(index));
      if (!config.interfaces[size_t(index)].peer)
        error(r.via_pos[j], "routes[" + std::to_string(i) + "].via[" + std::to_string(j) +
                                "]: interface '" + r.via_names[j] + "' has no 'peer' to send to");
    }
  }
}

// bfd.depends_on: every name is another interface of this file that has BFD
// (without it an interface is always up, so it could never gate) and no
// depends_on of its own (gating acts on the depended-on interfaces' own
// liveness, so a chain or a cycle could hold sessions down for ever).
void Parser::checkDependsOn(const YAML::Node& interfaces, Config& config) {
  for (size_t i = 0; i < config.interfaces.size(); ++i) {
    InterfaceConfig& iface = config.interfaces[i];
    if (!iface.bfd || iface.bfd->depends_on.empty()) continue;
    // Its node in the file (a broken interface earlier may be left out of
    // config.interfaces, so the indices can differ).
    size_t at_index = 0;
    for (size_t k = 0; k < interfaces.size(); ++k) {
      const YAML::Node n = interfaces[k];
      if (n.IsMap() && n["name"] && n["name"].IsScalar() && n["name"].Scalar() == iface.name) {
        at_index = k;
        break;
      }
    }
    const YAML::Node list = interfaces[at_index]["bfd"]["depends_on"];
    const std::string path = "interfaces[" + std::to_string(at_index) + "].bfd.depends_on";
    for (size_t j = 0; j < iface.bfd->depends_on.size(); ++j) {
      const std::string& name = iface.bfd->depends_on[j];
      const YAML::Node at = j < list.size() ? list[j] : list;
      const std::string where = path + "[" + std::to_string(j) + "]";
      const int index = config.interfaceIndex(name);
      if (index < 0) {
        std::string known;
        for (const auto& other : config.interfaces) known += (known.empty() ? "" : ", ") + other.name;
        error(at, where + ": unknown interface '" + name + "' (interfaces: " + known + ")");
        continue;
      }
      const InterfaceConfig& dep = config.interfaces[size_t(index)];
      if (size_t(index) == i) {
        error(at, where + ": interface '" + name + "' cannot depend on itself");
      } else if (!dep.bfd) {
        error(at, where + ": interface '" + name +
                      "' has no bfd, so it is always up and could never take '" + iface.name + "' down");
      } else if (!dep.bfd->depends_on.empty()) {
        error(at, where + ": interface '" + name +
                      "' has a depends_on of its own; gating is one level deep (no chains or cycles)");
      } else if (std::find(iface.bfd->depends_on_index.begin(), iface.bfd->depends_on_index.end(),
                           uint16_t(index)) != iface.bfd->depends_on_index.end()) {
        error(at, where + ": interface '" + name + "' is listed twice");
      } else {
        iface.bfd->depends_on_index.push_back(uint16_t(index));
      }
    }
  }
}

void Parser::parseAnnounce(const YAML::Node& node, AnnounceConfig& announce) {
  const std::string path = "announce";
  if (!checkMap(node, path, {"device", "addresses"})) return;
  if (auto v = node["device"]) {
    if (auto name = scalar(v, path + ".device")) {
      // IFNAMSIZ is 16 with the NUL; the kernel refuses '/', ':' and spaces.
      bool ok = !name->empty() && name->size() < 16 && *name != "." && *name != "..";
      for (char c : *name) ok = ok && isInterfaceNameChar(c);
      if (!ok)
        error(v, path + ".device: '" + *name +
                     "' is not a network device name (1 to 15 of letters, digits, '.', '_', '-')");
      else
        announce.device = *name;
    }
  }
  if (!require(node, "addresses", path)) return;
  const YAML::Node list = node["addresses"];
  if (!list.IsSequence() || list.size() == 0) {
    error(list, path + ".addresses: expected a list of addresses such as 192.0.2.1/32 or 2001:db8::1/128");
    return;
  }
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string where = path + ".addresses[" + std::to_string(i) + "]";
    auto text = scalar(list[i], where);
    if (!text) continue;
    const size_t slash = text->find('/');
    const std::string host = text->substr(0, slash);
    const std::string length = slash == std::string::npos ? "" : text->substr(slash + 1);
    in_addr a4{};
    in6_addr a6{};
    const bool v4 = inet_pton(AF_INET, host.c_str(), &a4) == 1;
    const bool v6 = !v4 && inet_pton(AF_INET6, host.c_str(), &a6) == 1;
    if (!v4 && !v6) {
      error(list[i], where + ": '" + *text + "' is not an IPv4 or IPv6 address");
    } else if (length != (v4 ? "32" : "128")) {
      // A service address is one host: the whole prefix is what is announced.
      error(list[i], where + ": '" + *text + "': write the address as a host prefix, " + host +
                         (v4 ? "/32" : "/128"));
    } else if (std::find(announce.addresses.begin(), announce.addresses.end(), *text) !=
               announce.addresses.end()) {
      error(list[i], where + ": '" + *text + "' is listed twice");
    } else {
      announce.addresses.push_back(*text);
    }
  }
}

// Cross-item rules that need the whole file.
void Parser::validate(const YAML::Node& root, Config& config) {
  if (!mode_known_) return;  // already reported; the mode rules would only add noise
  if (config.mode == Mode::kRelay && root["routes"])
    error(root["routes"], "routes: only used in route mode (set 'mode: route')");
  if (config.mode == Mode::kRelay && root["routes_file"])
    error(root["routes_file"], "routes_file: only used in route mode (set 'mode: route')");
  if (root["routes"] && root["routes_file"])
    error(root["routes_file"], "routes_file: use either 'routes' or 'routes_file', not both");
  if (config.mode == Mode::kRoute && root["relay"])
    error(root["relay"], "relay: only used in relay mode (mode is 'route')");
  if (config.mode == Mode::kRelay && root["fpm"])
    error(root["fpm"], "fpm: only used in route mode (set 'mode: route')");
  if (config.mode == Mode::kRoute && root["interfaces"] && !root["routes"] &&
      !root["routes_file"] && !root["fpm"])
    error(root, "config: route mode needs a 'routes' list, a 'routes_file' or 'fpm'");
  if (config.mode == Mode::kRelay && root["interfaces"] && !root["relay"])
    error(root, "config: relay mode needs a 'relay' list");
}

}  // namespace

std::string reloadBlocker(const Config& running, const Config& next) {
  std::vector<std::string> changed;
  if (running.dataplanes != next.dataplanes) changed.push_back("dataplanes");
  if (running.steering != next.steering) changed.push_back("steering");
  if (running.mode != next.mode) changed.push_back("mode");
  if (running.control_socket != next.control_socket) changed.push_back("control_socket");
  if (running.user != next.user || running.group != next.group) changed.push_back("user or group");
  if (running.metrics_listen != next.metrics_listen) changed.push_back("metrics");
  if (running.fpm != next.fpm) changed.push_back("fpm");
  if (!(running.tuning == next.tuning)) changed.push_back("tuning");
  if (running.announce != next.announce) changed.push_back("announce");
  if (running.drain_ms != next.drain_ms) changed.push_back("drain_ms");
  // The ICMP rate limit is each dataplane's own token bucket, set at start.
  const auto rate = [](const Config& c) { return c.icmp ? c.icmp->rate : IcmpConfig{}.rate; };
  const auto burst = [](const Config& c) { return c.icmp ? c.icmp->burst : IcmpConfig{}.burst; };
  if (rate(running) != rate(next) || burst(running) != burst(next))
    changed.push_back("icmp rate or burst");
  if (running.interfaces.size() != next.interfaces.size()) {
    changed.push_back("the number of interfaces");
  } else {
    for (size_t i = 0; i < running.interfaces.size(); ++i) {
      const auto& a = running.interfaces[i];
      const auto& b = next.interfaces[i];
      // BFD keys may change (key rollover, applied to the running sessions);
      // the rest of bfd, the auth type included, may not.
      const auto without_keys = [](std::optional<BfdConfig> bfd) {
        if (bfd) {
          bfd->auth.key_id = 0;
          bfd->auth.secret.clear();
          bfd->auth.accept.clear();
        }
        return bfd;
      };
      const bool same = a.name == b.name && a.bind == b.bind && a.peer == b.peer &&
                        without_keys(a.bfd) == without_keys(b.bfd);
      if (!same) changed.push_back("interface '" + a.name + "'");
    }
  }
  if (changed.empty()) return {};
  std::string list;
  for (const auto& c : changed) list += (list.empty() ? "" : ", ") + c;
  return list +
         " changed; a reload applies only relay, routes, icmp and BFD keys: restart ferryd for the "
         "rest";
}

ConfigResult parseConfig(std::string_view yaml, std::string_view file) {
  ConfigResult result;
  Config config;
  config.file = std::string(file);
  YAML::Node root;
  // Nothing may throw out of here: a config is input from anyone who can
  // write the file, and ferryd reloads it while running.
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    result.errors.push_back({std::string(file), e.mark.line + 1, e.mark.column + 1,
                             "YAML syntax: " + e.msg});
    return result;
  } catch (const std::exception& e) {
    result.errors.push_back({std::string(file), 0, 0, std::string("cannot parse the file: ") + e.what()});
    return result;
  }
  try {
    Parser parser(std::string(file), result.errors);
    parser.parseRoot(root, config);
  } catch (const YAML::Exception& e) {
    // yaml-cpp throws on some malformed structures (e.g. aliases to nowhere).
    result.errors.push_back({std::string(file), e.mark.line + 1, e.mark.column + 1, e.msg});
  } catch (const std::exception& e) {
    result.errors.push_back({std::string(file), 0, 0, std::string("cannot parse the file: ") + e.what()});
  }
  // In file order, as a compiler would list them; whole-file errors first;
  // the config file's before those of the routes file it names.
  const std::string config_file(file);
  std::stable_sort(result.errors.begin(), result.errors.end(), [&](const auto& a, const auto& b) {
    const bool a_other = a.file != config_file, b_other = b.file != config_file;
    if (a_other != b_other) return b_other;
    return a.line != b.line ? a.line < b.line : a.column < b.column;
  });
  if (result.errors.empty()) result.config = std::move(config);
  return result;
}

namespace {

const char* fileKind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a file";
}

std::string tooLarge(const std::string& size) {
  return "the file is " + size + " bytes, more than the limit of " +
         std::to_string(kMaxConfigBytes) + " bytes (64 MiB)";
}

// Reads the whole of `fd` into `text`, or says why not. Only regular files:
// a FIFO would block (or never end), a device such as /dev/zero never ends.
std::string readConfigText(int fd, std::string& text) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return std::string("cannot read the file: ") + std::strerror(errno);
  if (!S_ISREG(st.st_mode)) return std::string("not a regular file (") + fileKind(st.st_mode) + ")";
  if (uint64_t(st.st_size) > kMaxConfigBytes) return tooLarge(std::to_string(st.st_size));
  // At most one byte past the limit: a file that grew since fstat, or one
  // whose size the kernel does not report (/proc), is still bounded.
  text.resize(size_t(st.st_size) + 1);
  size_t have = 0;
  while (true) {
    if (have == text.size()) {
      if (have > kMaxConfigBytes) return tooLarge("more than " + std::to_string(kMaxConfigBytes));
      text.resize(std::min<size_t>(std::max<size_t>(have * 2, 4096), kMaxConfigBytes + 1));
    }
    const ssize_t n = ::read(fd, text.data() + have, text.size() - have);
    if (n > 0) {
      have += size_t(n);
      continue;
    }
    if (n == 0) break;
    if (errno == EINTR) continue;
    return std::string("cannot read the file: ") + std::strerror(errno);
  }
  text.resize(have);
  return {};
}

}  // namespace

ConfigResult loadConfigFile(const std::string& path) {
  std::string text;
  std::string why;
  // Non-blocking: opening a FIFO for reading must not wait for a writer.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    why = std::string("cannot read the file: ") + std::strerror(errno);
  } else {
    try {
      why = readConfigText(fd, text);
    } catch (const std::exception& e) {  // std::bad_alloc
      why = std::string("cannot read the file: ") + e.what();
    }
    ::close(fd);
  }
  if (!why.empty()) {
    ConfigResult result;
    result.errors.push_back({path, 0, 0, std::move(why)});
    return result;
  }
  return parseConfig(text, path);
}

}  // namespace ferry
