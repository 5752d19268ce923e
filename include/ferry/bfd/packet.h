// BFD control packet codec (RFC 5880 §4.1-§4.4) and the packet-level discard
// rules of §6.8.6. Pure, allocation-free and noexcept: the control thread
// decodes every datagram a dataplane hands it, and encodes every packet it
// sends.
//
// Wire layout of the mandatory section (24 bytes, network byte order):
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
//   |                       My Discriminator                        |
//   |                      Your Discriminator                       |
//   |                    Desired Min TX Interval                    |
//   |                   Required Min RX Interval                    |
//   |                 Required Min Echo RX Interval                 |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// followed, when A is set, by an authentication section (§4.2-§4.4).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace ferry::bfd {

// Session states as carried in the Sta field (§4.1) and held in
// bfd.SessionState (§6.8.1). The numeric values are the wire values.
enum class State : uint8_t {
  kAdminDown = 0,
  kDown = 1,
  kInit = 2,
  kUp = 3,
};

// Diagnostic codes (§4.1). The field is 5 bits; 9-31 are reserved but are
// carried through decode unchanged (a reserved code is not a discard reason).
enum class Diag : uint8_t {
  kNone = 0,
  kControlDetectionTimeExpired = 1,
  kEchoFunctionFailed = 2,
  kNeighborSignaledSessionDown = 3,
  kForwardingPlaneReset = 4,
  kPathDown = 5,
  kConcatenatedPathDown = 6,
  kAdministrativelyDown = 7,
  kReverseConcatenatedPathDown = 8,
};

// Authentication types (§4.1, IANA "BFD Authentication Types"). 0 is reserved
// on the wire; in a session config it means "no authentication".
enum class AuthType : uint8_t {
  kNone = 0,
  kSimplePassword = 1,
  kKeyedMd5 = 2,
  kMeticulousKeyedMd5 = 3,
  kKeyedSha1 = 4,
  kMeticulousKeyedSha1 = 5,
};

// A key a session accepts besides the one it sends (key rollover; the
// session's AuthConfig::accept, config's bfd.auth.accept).
struct AuthKey {
  uint8_t key_id = 0;
  std::string secret;  // the same rules as the session's own secret
  friend bool operator==(const AuthKey&, const AuthKey&) = default;
};
// At most this many accepted keys besides the one sent.
inline constexpr size_t kMaxAcceptKeys = 7;

// Sizes in bytes.
inline constexpr size_t kMandatoryLength = 24;                  // §4.1
inline constexpr size_t kMinAuthLength = kMandatoryLength + 2;  // §6.8.6: 26 with A set
inline constexpr size_t kMaxPasswordLength = 16;                // §4.2: 1 to 16 bytes
inline constexpr size_t kMd5DigestLength = 16;                  // §4.3
inline constexpr size_t kSha1DigestLength = 20;                 // §4.4
inline constexpr size_t kMd5AuthLength = 24;                    // §4.3: Auth Len of MD5 types
inline constexpr size_t kSha1AuthLength = 28;                   // §4.4: Auth Len of SHA1 types
// The longest packet encode() can produce: mandatory section + SHA1 section.
inline constexpr size_t kMaxPacketLength = kMandatoryLength + kSha1AuthLength;
inline constexpr uint8_t kVersion = 1;

// The authentication section (§4.2-§4.4), present when ControlPacket::auth_present.
//  - Simple Password: `value` holds the password (1-16 bytes); `sequence` unused.
//  - (Meticulous) Keyed MD5: `sequence`, and a 16-byte digest in `value`.
//  - (Meticulous) Keyed SHA1: `sequence`, and a 20-byte hash in `value`.
// `value_length` is the number of meaningful bytes in `value`.
struct AuthSection {
  AuthType type = AuthType::kNone;
  uint8_t key_id = 0;
  uint32_t sequence = 0;
  uint8_t value_length = 0;
  std::array<uint8_t, kSha1DigestLength> value{};

  std::span<const uint8_t> bytes() const noexcept { return {value.data(), value_length}; }
  bool operator==(const AuthSection&) const = default;
};

// One BFD control packet, fields as on the wire. Intervals are microseconds
// (the wire unit, §4.1), 32 bits.
struct ControlPacket {
  uint8_t version = kVersion;
  Diag diag = Diag::kNone;
  State state = State::kDown;
  bool poll = false;                       // P
  bool final = false;                      // F
  bool control_plane_independent = false;  // C
  bool auth_present = false;               // A
  bool demand = false;                     // D
  bool multipoint = false;                 // M (reserved, must be 0)
  uint8_t detect_mult = 0;
  // The Length field. decode() stores what the packet says; encode() ignores
  // this member and writes the true length (24, or 24 + Auth Len).
  uint8_t length = 0;
  uint32_t my_disc = 0;
  uint32_t your_disc = 0;
  uint32_t desired_min_tx_us = 0;
  uint32_t required_min_rx_us = 0;
  uint32_t required_min_echo_rx_us = 0;
  AuthSection auth;  // meaningful only when auth_present

  bool operator==(const ControlPacket&) const = default;
};

// Outcome of decode(): Ok, or the packet-level reason (RFC 5880 §6.8.6, §6.5)
// why the packet MUST be discarded. Listed in the order decode() checks them.
enum class DecodeResult : uint8_t {
  kOk = 0,
  kTruncated,                     // datagram too short to hold the Length field (< 4 bytes)
  kBadVersion,                    // Vers != 1
  kLengthTooShort,                // Length < 24, or < 26 with A set
  kLengthExceedsDatagram,         // Length > bytes received (the UDP payload)
  kZeroDetectMult,                // Detect Mult = 0
  kMultipoint,                    // M bit set
  kZeroMyDiscriminator,           // My Discriminator = 0
  kZeroYourDiscriminatorNotDown,  // Your Discriminator = 0 and Sta is Init or Up
  kPollAndFinal,                  // P and F both set (§6.5: MUST NOT)
  kBadAuthType,                   // A set, Auth Type 0 or unknown (> 5)
  kBadAuthLength,                 // Auth Len wrong for its type (§4.2-§4.4) or beyond Length
};
inline constexpr size_t kDecodeResultCount = 12;

// Parses `datagram` (the UDP payload) into `out`. Bytes after Length are
// ignored (§6.8.6 only discards when Length exceeds the payload). On any result
// other than kOk, `out` is unspecified and the packet MUST be discarded.
//
// The rule "Your Discriminator = 0 and State not Down/AdminDown" tests the
// packet's Sta field, as §6.8.6 words it, not the receiver's session state:
// that is what lets a restarted peer (Down, Your Discriminator 0) reach a
// session that is still Up (FRR issue 23283 / PR 23284 fixed the opposite).
DecodeResult decode(std::span<const uint8_t> datagram, ControlPacket& out) noexcept;

// Writes `packet` into `out`; returns the number of bytes written, or 0 if
// `out` is too small or the auth section is not one decode() would accept
// (unknown type, or value_length wrong for the type). The Length field is
// computed; every other field, including an invalid version or flag
// combination, is written as given, so tests can build bad packets.
size_t encode(const ControlPacket& packet, std::span<uint8_t> out) noexcept;

// Bytes encode() writes for `packet` (24, or 24 + Auth Len); 0 for an invalid
// auth section.
size_t encodedLength(const ControlPacket& packet) noexcept;

// Auth Len (§4.2-§4.4) of a section of `type` with `value_length` value bytes;
// 0 if the combination is invalid.
uint8_t authSectionLength(AuthType type, size_t value_length) noexcept;

// A cheap first-byte test a dataplane can use to recognise an in-band BFD
// packet: version 1 in the top 3 bits (0x20-0x3F). IPv4 starts 0x4_, IPv6 0x6_.
constexpr bool looksLikeBfd(uint8_t first_byte) noexcept { return (first_byte >> 5) == kVersion; }

// snake_case names for counters, logs and JSON ("admin_down", "down", ...).
const char* toString(State state) noexcept;
const char* toString(Diag diag) noexcept;  // reserved codes: "reserved"
const char* toString(AuthType type) noexcept;
const char* toString(DecodeResult result) noexcept;

}  // namespace ferry::bfd
