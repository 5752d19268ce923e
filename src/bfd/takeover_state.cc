// The takeover messages as bytes (takeover_state.h): a small writer and a
// bounds-checked reader; every field is written and read in one order.
#include "ferry/bfd/takeover_state.h"

#include <cstring>

namespace ferry::takeover {
namespace {

// Strings and lists longer than this are refused: no ferryd has them, and a
// corrupt length must not make the reader allocate gigabytes.
constexpr uint32_t kMaxString = 4096;
constexpr uint32_t kMaxItems = 1 << 20;

class Writer {
 public:
  explicit Writer(Kind kind) {
    u32(kMagic);
    u16(kVersion);
    u16(uint16_t(kind));
  }
  void u8(uint8_t v) { out_.push_back(v); }
  void u16(uint16_t v) { uint(v, 2); }
  void u32(uint32_t v) { uint(v, 4); }
  void u64(uint64_t v) { uint(v, 8); }
  void flag(bool v) { u8(v ? 1 : 0); }
  void str(const std::string& s) {
    u32(uint32_t(s.size()));
    out_.insert(out_.end(), s.begin(), s.end());
  }
  std::vector<uint8_t> take() { return std::move(out_); }

 private:
  void uint(uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out_.push_back(uint8_t(v >> (8 * i)));
  }
  std::vector<uint8_t> out_;
};

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> in) : in_(in) {}
  // False once anything ran past the end (or was out of range); every read
  // after that returns zeros.
  bool ok() const noexcept { return error_.empty(); }
  const std::string& error() const noexcept { return error_; }
  void fail(const std::string& why) {
    if (error_.empty()) error_ = why;
  }
  bool atEnd() const noexcept { return at_ == in_.size(); }

  uint8_t u8() { return uint8_t(uint(1)); }
  uint16_t u16() { return uint16_t(uint(2)); }
  uint32_t u32() { return uint32_t(uint(4)); }
  uint64_t u64() { return uint(8); }
  bool flag() {
    const uint8_t v = u8();
    if (v > 1) fail("bad flag value " + std::to_string(v));
    return v == 1;
  }
  std::string str() {
    const uint32_t n = u32();
    if (n > kMaxString) fail("string of " + std::to_string(n) + " bytes");
    if (!ok() || in_.size() - at_ < n) {
      fail("truncated");
      return {};
    }
    std::string s(reinterpret_cast<const char*>(in_.data() + at_), n);
    at_ += n;
    return s;
  }
  uint32_t count() {
    const uint32_t n = u32();
    if (n > kMaxItems) fail("list of " + std::to_string(n) + " items");
    return ok() ? n : 0;
  }

 private:
  uint64_t uint(size_t bytes) {
    if (!ok() || in_.size() - at_ < bytes) {
      fail("truncated");
      return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < bytes; ++i) v |= uint64_t(in_[at_ + i]) << (8 * i);
    at_ += bytes;
    return v;
  }
  std::span<const uint8_t> in_;
  size_t at_ = 0;
  std::string error_;
};

// Reads the header; "" when it is one of ours, of our version and `expected`.
std::string header(Reader& r, Kind* kind) {
  const uint32_t magic = r.u32();
  if (!r.ok()) return "truncated";
  if (magic != kMagic) return "not a ferry takeover message";
  const uint16_t version = r.u16();
  if (!r.ok()) return "truncated";
  if (version != kVersion)
    return "takeover format version " + std::to_string(version) + "; this ferryd reads version " +
           std::to_string(kVersion);
  const uint16_t k = r.u16();
  if (!r.ok()) return "truncated";
  *kind = Kind(k);
  return {};
}

std::string expect(Reader& r, Kind expected) {
  Kind kind{};
  if (std::string why = header(r, &kind); !why.empty()) return why;
  if (kind != expected)
    return "expected message kind " + std::to_string(int(expected)) + ", got " +
           std::to_string(int(kind));
  return {};
}

std::string finish(const Reader& r) {
  if (!r.ok()) return r.error();
  if (!r.atEnd()) return "trailing bytes";
  return {};
}

void writeSession(Writer& w, const bfd::SessionState& s) {
  w.u32(s.local_disc);
  w.u8(uint8_t(s.state));
  w.u8(uint8_t(s.local_diag));
  w.u32(s.remote_disc);
  w.u8(uint8_t(s.remote_state));
  w.u8(uint8_t(s.remote_diag));
  w.flag(s.remote_demand);
  w.u64(s.remote_min_rx);
  w.u64(s.remote_desired_tx);
  w.u64(s.remote_echo_rx);
  w.u8(s.remote_mult);
  w.u64(s.adv_tx);
  w.u64(s.adv_rx);
  w.u8(s.adv_mult);
  w.u64(s.eff_tx);
  w.u64(s.eff_rx);
  w.flag(s.poll_active);
  w.flag(s.poll_sent);
  w.flag(s.final_owed);
  w.u64(s.tx_interval);
  w.u64(s.next_tx);
  w.u64(s.last_periodic_tx);
  w.flag(s.sent_periodic);
  w.u64(s.last_rx);
  w.u64(s.detection_deadline);
  w.u32(s.xmit_auth_seq);
  w.u32(s.rcv_auth_seq);
  w.flag(s.auth_seq_known);
  w.u64(s.auth_seq_expiry);
  w.flag(s.peer_admin_down);
  w.u64(s.transitions);
  w.u64(s.last_change);
  const bfd::SessionCounters& c = s.counters;
  w.u64(c.rx_accepted);
  w.u64(c.tx_packets);
  w.u64(c.tx_finals);
  w.u64(c.polls_started);
  w.u64(c.polls_completed);
  w.u64(c.detection_expiries);
  w.u32(uint32_t(c.rx_discarded.size()));
  for (uint64_t d : c.rx_discarded) w.u64(d);
}

bfd::State state(Reader& r) {
  const uint8_t v = r.u8();
  if (v > uint8_t(bfd::State::kUp)) r.fail("bad BFD state " + std::to_string(v));
  return bfd::State(v);
}

bfd::Diag diag(Reader& r) {
  const uint8_t v = r.u8();
  if (v > 31) r.fail("bad BFD diagnostic " + std::to_string(v));
  return bfd::Diag(v);
}

bfd::SessionState readSession(Reader& r) {
  bfd::SessionState s;
  s.local_disc = r.u32();
  if (r.ok() && s.local_disc == 0) r.fail("local discriminator 0");
  s.state = state(r);
  s.local_diag = diag(r);
  s.remote_disc = r.u32();
  s.remote_state = state(r);
  s.remote_diag = diag(r);
  s.remote_demand = r.flag();
  s.remote_min_rx = r.u64();
  s.remote_desired_tx = r.u64();
  s.remote_echo_rx = r.u64();
  s.remote_mult = r.u8();
  s.adv_tx = r.u64();
  s.adv_rx = r.u64();
  s.adv_mult = r.u8();
  s.eff_tx = r.u64();
  s.eff_rx = r.u64();
  s.poll_active = r.flag();
  s.poll_sent = r.flag();
  s.final_owed = r.flag();
  s.tx_interval = r.u64();
  s.next_tx = r.u64();
  s.last_periodic_tx = r.u64();
  s.sent_periodic = r.flag();
  s.last_rx = r.u64();
  s.detection_deadline = r.u64();
  s.xmit_auth_seq = r.u32();
  s.rcv_auth_seq = r.u32();
  s.auth_seq_known = r.flag();
  s.auth_seq_expiry = r.u64();
  s.peer_admin_down = r.flag();
  s.transitions = r.u64();
  s.last_change = r.u64();
  bfd::SessionCounters& c = s.counters;
  c.rx_accepted = r.u64();
  c.tx_packets = r.u64();
  c.tx_finals = r.u64();
  c.polls_started = r.u64();
  c.polls_completed = r.u64();
  c.detection_expiries = r.u64();
  // A newer writer may count more discard reasons: keep those we know.
  const uint32_t discards = r.count();
  for (uint32_t k = 0; k < discards && r.ok(); ++k) {
    const uint64_t d = r.u64();
    if (k < c.rx_discarded.size()) c.rx_discarded[k] = d;
  }
  if (r.ok() && (s.adv_mult == 0 || s.adv_tx == 0 || s.adv_rx == 0))
    r.fail("advertised timers of 0");
  return s;
}

}  // namespace

std::vector<uint8_t> encodeSimple(Kind kind, const std::string& text) {
  Writer w(kind);
  w.str(text);
  return w.take();
}

std::vector<uint8_t> encodeFds(uint32_t count) {
  Writer w(Kind::kFds);
  w.u32(count);
  return w.take();
}

std::vector<uint8_t> encode(const Manifest& m) {
  Writer w(Kind::kManifest);
  w.u32(m.pid);
  w.u32(m.dataplanes);
  w.u32(m.hash_seed);
  w.u32(uint32_t(m.interfaces.size()));
  for (const auto& i : m.interfaces) {
    w.str(i.name);
    w.str(i.bind);
  }
  w.u32(uint32_t(m.bfd_rx.size()));
  for (const auto& b : m.bfd_rx) w.str(b);
  w.u32(uint32_t(m.bfd_tx.size()));
  for (const auto& t : m.bfd_tx) {
    w.str(t.interface);
    w.str(t.bind);
  }
  w.str(m.control_socket);
  w.str(m.metrics);
  w.flag(m.handover);
  if (!m.announce_device.empty()) {
    w.str(m.announce_device);
    w.u32(uint32_t(m.announce_addresses.size()));
    for (const auto& a : m.announce_addresses) w.str(a);
  }
  return w.take();
}

std::vector<uint8_t> encode(const BfdState& state) {
  Writer w(Kind::kBfdState);
  w.u32(uint32_t(state.sessions.size()));
  for (const auto& s : state.sessions) {
    w.str(s.interface);
    w.u8(s.mode);
    writeSession(w, s.session);
    w.u64(s.hold.since);
    w.flag(s.hold.pending);
    w.flag(s.hold.usable);
    w.u64(s.hold.damped);
    w.flag(s.link_usable);
    w.u64(s.rx_frames);
    w.u64(s.tx_errors);
    w.u64(s.expiries_deferred);
  }
  return w.take();
}

std::string readKind(std::span<const uint8_t> message, Kind& kind) {
  Reader r(message);
  return header(r, &kind);
}

std::string decodeSimple(std::span<const uint8_t> message, Kind expected, std::string* text) {
  Reader r(message);
  if (std::string why = expect(r, expected); !why.empty()) return why;
  std::string s = r.str();
  if (std::string why = finish(r); !why.empty()) return why;
  if (text) *text = std::move(s);
  return {};
}

std::string decodeFds(std::span<const uint8_t> message, uint32_t& count) {
  Reader r(message);
  if (std::string why = expect(r, Kind::kFds); !why.empty()) return why;
  const uint32_t n = r.u32();
  if (std::string why = finish(r); !why.empty()) return why;
  count = n;
  return {};
}

std::string decode(std::span<const uint8_t> message, Manifest& out) {
  Reader r(message);
  if (std::string why = expect(r, Kind::kManifest); !why.empty()) return why;
  Manifest m;
  m.pid = r.u32();
  m.dataplanes = r.u32();
  if (r.ok() && (m.dataplanes == 0 || m.dataplanes > 4096))
    r.fail("dataplane count " + std::to_string(m.dataplanes));
  m.hash_seed = r.u32();
  const uint32_t interfaces = r.count();
  for (uint32_t i = 0; i < interfaces && r.ok(); ++i) {
    Manifest::Interface iface;
    iface.name = r.str();
    iface.bind = r.str();
    m.interfaces.push_back(std::move(iface));
  }
  const uint32_t rx = r.count();
  for (uint32_t i = 0; i < rx && r.ok(); ++i) m.bfd_rx.push_back(r.str());
  const uint32_t tx = r.count();
  for (uint32_t i = 0; i < tx && r.ok(); ++i) {
    Manifest::BfdTx t;
    t.interface = r.str();
    t.bind = r.str();
    m.bfd_tx.push_back(std::move(t));
  }
  m.control_socket = r.str();
  m.metrics = r.str();
  m.handover = r.flag();
  if (r.ok() && !r.atEnd()) {
    m.announce_device = r.str();
    if (r.ok() && m.announce_device.empty()) r.fail("empty announce device");
    const uint32_t addresses = r.count();
    for (uint32_t i = 0; i < addresses && r.ok(); ++i) m.announce_addresses.push_back(r.str());
  }
  if (std::string why = finish(r); !why.empty()) return why;
  out = std::move(m);
  return {};
}

std::string decode(std::span<const uint8_t> message, BfdState& out) {
  Reader r(message);
  if (std::string why = expect(r, Kind::kBfdState); !why.empty()) return why;
  BfdState state;
  const uint32_t sessions = r.count();
  for (uint32_t i = 0; i < sessions && r.ok(); ++i) {
    SessionRecord s;
    s.interface = r.str();
    s.mode = r.u8();
    if (r.ok() && s.mode > 1) r.fail("bad BFD mode " + std::to_string(s.mode));
    s.session = readSession(r);
    s.hold.since = r.u64();
    s.hold.pending = r.flag();
    s.hold.usable = r.flag();
    s.hold.damped = r.u64();
    s.link_usable = r.flag();
    s.rx_frames = r.u64();
    s.tx_errors = r.u64();
    s.expiries_deferred = r.u64();
    state.sessions.push_back(std::move(s));
  }
  if (std::string why = finish(r); !why.empty()) return why;
  out = std::move(state);
  return {};
}

}  // namespace ferry::takeover
