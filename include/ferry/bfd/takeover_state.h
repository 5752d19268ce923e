// What a running ferryd hands to the process that takes it over (`ferryd run
// --takeover`), as bytes: pure encoding and decoding, no sockets. The
// descriptors themselves travel beside these messages as SCM_RIGHTS
// (src/daemon/takeover.cc); a Manifest says what each one is.
//
// Every message starts with a header: magic "FRYT", a format version and a
// kind. A reader refuses any other version rather than guess at it, so an
// old and a new ferryd that cannot understand each other say so and the
// running one stays in charge. Integers are little-endian; strings are a
// 32-bit length and bytes; nothing is read past the end of the input.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ferry/bfd/hold_down.h"
#include "ferry/bfd/session.h"

namespace ferry::takeover {

inline constexpr uint32_t kMagic = 0x54595246;  // "FRYT" read as little-endian bytes
inline constexpr uint16_t kVersion = 1;

enum class Kind : uint16_t {
  kHello = 1,     // new → old: "I can read kVersion"
  kManifest = 2,  // old → new: what the descriptors that follow are
  kFds = 3,       // old → new: a batch of descriptors (body: their count)
  kReady = 4,     // new → old: dataplanes set up; freeze BFD and send its state
  kBfdState = 5,  // old → new: every BFD session
  kTaken = 6,     // new → old: running; stop receiving and exit
  kAbort = 7,     // either way: giving up (body: why); the old one carries on
};

// The old process's descriptors, in the order they are sent:
//   sockets[d][i] for every dataplane d (steering index order) and interface
//   i, then bfd_rx, then bfd_tx, then the control, metrics and handover
//   listening sockets that are present.
struct Manifest {
  struct Interface {
    std::string name;
    std::string bind;  // SockAddr::toString()
    friend bool operator==(const Interface&, const Interface&) = default;
  };
  struct BfdTx {
    std::string interface;  // the RFC 5881 session's interface
    std::string bind;       // its local address and fixed source port
    friend bool operator==(const BfdTx&, const BfdTx&) = default;
  };
  uint32_t pid = 0;  // the old process
  uint32_t dataplanes = 0;
  // route mode's ECMP hash seed: kept, so no flow moves to another next hop.
  uint32_t hash_seed = 0;
  std::vector<Interface> interfaces;
  std::vector<std::string> bfd_rx;  // RFC 5881 receive sockets: local ip:3784
  std::vector<BfdTx> bfd_tx;
  std::string control_socket;  // path; its listening socket follows if non-empty
  std::string metrics;         // listen address; its socket follows if non-empty
  bool handover = false;       // the handover listening socket follows
  // `announce:` device name; its TUN descriptor follows (last) if non-empty.
  // Written only when set, so a manifest without it is the same bytes as
  // before the field existed (either side may be the older binary).
  std::string announce_device;
  std::vector<std::string> announce_addresses;  // what the old process announced

  size_t fdCount() const noexcept {
    return size_t(dataplanes) * interfaces.size() + bfd_rx.size() + bfd_tx.size() +
           (control_socket.empty() ? 0 : 1) + (metrics.empty() ? 0 : 1) + (handover ? 1 : 0) +
           (announce_device.empty() ? 0 : 1);
  }
  friend bool operator==(const Manifest&, const Manifest&) = default;
};

// One BFD session as the old process left it.
struct SessionRecord {
  std::string interface;
  uint8_t mode = 0;  // BfdMode
  bfd::SessionState session;
  bfd::HoldDown::State hold;
  bool link_usable = false;
  uint64_t rx_frames = 0;
  uint64_t tx_errors = 0;
  uint64_t expiries_deferred = 0;
  friend bool operator==(const SessionRecord&, const SessionRecord&) = default;
};

struct BfdState {
  std::vector<SessionRecord> sessions;
  friend bool operator==(const BfdState&, const BfdState&) = default;
};

// A message of one kind; the encoders below write whole messages.
std::vector<uint8_t> encodeSimple(Kind kind, const std::string& text = {});
std::vector<uint8_t> encode(const Manifest& manifest);
std::vector<uint8_t> encode(const BfdState& state);
std::vector<uint8_t> encodeFds(uint32_t count);

// The header's kind, or "" on success and otherwise why the message cannot
// be read: "not a ferry takeover message", "takeover format version 2; this
// ferryd reads version 1", "truncated".
std::string readKind(std::span<const uint8_t> message, Kind& kind);
// Decoders: "" or why (as readKind, plus "expected a manifest", "trailing
// bytes", out-of-range enum values). The output is untouched on failure.
std::string decodeSimple(std::span<const uint8_t> message, Kind expected,
                         std::string* text = nullptr);
std::string decode(std::span<const uint8_t> message, Manifest& manifest);
std::string decode(std::span<const uint8_t> message, BfdState& state);
std::string decodeFds(std::span<const uint8_t> message, uint32_t& count);

}  // namespace ferry::takeover
