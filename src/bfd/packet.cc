// RFC 5880 §4 codec and the packet-level checks of §6.8.6.
#include "ferry/bfd/packet.h"

#include "ferry/net/byte_order.h"

namespace ferry::bfd {
namespace {

// Flag bits of byte 1 (§4.1), after the 2-bit state.
constexpr uint8_t kPollBit = 0x20;
constexpr uint8_t kFinalBit = 0x10;
constexpr uint8_t kCpiBit = 0x08;
constexpr uint8_t kAuthBit = 0x04;
constexpr uint8_t kDemandBit = 0x02;
constexpr uint8_t kMultipointBit = 0x01;

bool isMd5(AuthType t) noexcept {
  return t == AuthType::kKeyedMd5 || t == AuthType::kMeticulousKeyedMd5;
}

// Parses the auth section at `p` (its Auth Type byte), `available` bytes long
// (Length - 24).
DecodeResult decodeAuth(const uint8_t* p, size_t available, AuthSection& auth) noexcept {
  const uint8_t type = p[0];
  const uint8_t auth_len = p[1];
  if (type == 0 || type > static_cast<uint8_t>(AuthType::kMeticulousKeyedSha1)) {
    return DecodeResult::kBadAuthType;
  }
  auth = AuthSection{};
  auth.type = static_cast<AuthType>(type);
  // A section that claims more than Length leaves room for is malformed.
  if (auth_len > available) return DecodeResult::kBadAuthLength;
  if (auth.type == AuthType::kSimplePassword) {
    // §4.2: Auth Type, Auth Len, Key ID, then a 1-16 byte password.
    if (auth_len < 4 || auth_len > 3 + kMaxPasswordLength) return DecodeResult::kBadAuthLength;
    auth.key_id = p[2];
    auth.value_length = static_cast<uint8_t>(auth_len - 3);
    for (size_t i = 0; i < auth.value_length; ++i) auth.value[i] = p[3 + i];
    return DecodeResult::kOk;
  }
  // §4.3/§4.4: Auth Type, Auth Len, Key ID, Reserved, Sequence Number, digest.
  const size_t expected = isMd5(auth.type) ? kMd5AuthLength : kSha1AuthLength;
  if (auth_len != expected) return DecodeResult::kBadAuthLength;
  auth.key_id = p[2];
  auth.sequence = loadBe32(p + 4);
  auth.value_length = static_cast<uint8_t>(expected - 8);
  for (size_t i = 0; i < auth.value_length; ++i) auth.value[i] = p[8 + i];
  return DecodeResult::kOk;
}

}  // namespace

uint8_t authSectionLength(AuthType type, size_t value_length) noexcept {
  switch (type) {
    case AuthType::kSimplePassword:
      if (value_length < 1 || value_length > kMaxPasswordLength) return 0;
      return static_cast<uint8_t>(3 + value_length);
    case AuthType::kKeyedMd5:
    case AuthType::kMeticulousKeyedMd5:
      return value_length == kMd5DigestLength ? kMd5AuthLength : 0;
    case AuthType::kKeyedSha1:
    case AuthType::kMeticulousKeyedSha1:
      return value_length == kSha1DigestLength ? kSha1AuthLength : 0;
    case AuthType::kNone:
      break;
  }
  return 0;
}

size_t encodedLength(const ControlPacket& packet) noexcept {
  if (!packet.auth_present) return kMandatoryLength;
  const uint8_t auth_len = authSectionLength(packet.auth.type, packet.auth.value_length);
  return auth_len == 0 ? 0 : kMandatoryLength + auth_len;
}

DecodeResult decode(std::span<const uint8_t> datagram, ControlPacket& out) noexcept {
  const size_t size = datagram.size();
  const uint8_t* p = datagram.data();
  // Checks run in §6.8.6 order, so a packet with several faults reports the
  // first the RFC lists. Version needs 1 byte, the Length rules need 4.
  if (size < 1) return DecodeResult::kTruncated;
  if ((p[0] >> 5) != kVersion) return DecodeResult::kBadVersion;
  if (size < 4) return DecodeResult::kTruncated;

  const uint8_t flags = p[1];
  const bool auth_present = (flags & kAuthBit) != 0;
  const uint8_t length = p[3];
  if (length < (auth_present ? kMinAuthLength : kMandatoryLength)) {
    return DecodeResult::kLengthTooShort;
  }
  if (length > size) return DecodeResult::kLengthExceedsDatagram;
  // From here Length >= 24 bytes are readable.

  out.version = static_cast<uint8_t>(p[0] >> 5);
  out.diag = static_cast<Diag>(p[0] & 0x1f);
  out.state = static_cast<State>(flags >> 6);
  out.poll = (flags & kPollBit) != 0;
  out.final = (flags & kFinalBit) != 0;
  out.control_plane_independent = (flags & kCpiBit) != 0;
  out.auth_present = auth_present;
  out.demand = (flags & kDemandBit) != 0;
  out.multipoint = (flags & kMultipointBit) != 0;
  out.detect_mult = p[2];
  out.length = length;
  out.my_disc = loadBe32(p + 4);
  out.your_disc = loadBe32(p + 8);
  out.desired_min_tx_us = loadBe32(p + 12);
  out.required_min_rx_us = loadBe32(p + 16);
  out.required_min_echo_rx_us = loadBe32(p + 20);
  out.auth = AuthSection{};

  if (out.detect_mult == 0) return DecodeResult::kZeroDetectMult;
  if (out.multipoint) return DecodeResult::kMultipoint;
  if (out.my_disc == 0) return DecodeResult::kZeroMyDiscriminator;
  if (out.your_disc == 0 && out.state != State::kDown && out.state != State::kAdminDown) {
    return DecodeResult::kZeroYourDiscriminatorNotDown;
  }
  if (out.poll && out.final) return DecodeResult::kPollAndFinal;
  // The auth section's shape last: §6.8.6 authenticates after the checks above.
  if (auth_present) return decodeAuth(p + kMandatoryLength, length - kMandatoryLength, out.auth);
  return DecodeResult::kOk;
}

size_t encode(const ControlPacket& packet, std::span<uint8_t> out) noexcept {
  const size_t length = encodedLength(packet);
  if (length == 0 || out.size() < length) return 0;
  uint8_t* p = out.data();
  p[0] = static_cast<uint8_t>((packet.version & 0x7) << 5 |
                              (static_cast<uint8_t>(packet.diag) & 0x1f));
  p[1] = static_cast<uint8_t>(
      (static_cast<uint8_t>(packet.state) & 0x3) << 6 | (packet.poll ? kPollBit : 0) |
      (packet.final ? kFinalBit : 0) | (packet.control_plane_independent ? kCpiBit : 0) |
      (packet.auth_present ? kAuthBit : 0) | (packet.demand ? kDemandBit : 0) |
      (packet.multipoint ? kMultipointBit : 0));
  p[2] = packet.detect_mult;
  p[3] = static_cast<uint8_t>(length);
  storeBe32(p + 4, packet.my_disc);
  storeBe32(p + 8, packet.your_disc);
  storeBe32(p + 12, packet.desired_min_tx_us);
  storeBe32(p + 16, packet.required_min_rx_us);
  storeBe32(p + 20, packet.required_min_echo_rx_us);
  if (packet.auth_present) {
    const AuthSection& auth = packet.auth;
    uint8_t* a = p + kMandatoryLength;
    a[0] = static_cast<uint8_t>(auth.type);
    a[1] = static_cast<uint8_t>(length - kMandatoryLength);
    a[2] = auth.key_id;
    if (auth.type == AuthType::kSimplePassword) {
      for (size_t i = 0; i < auth.value_length; ++i) a[3 + i] = auth.value[i];
    } else {
      a[3] = 0;  // Reserved: zero on transmit (§4.3, §4.4)
      storeBe32(a + 4, auth.sequence);
      for (size_t i = 0; i < auth.value_length; ++i) a[8 + i] = auth.value[i];
    }
  }
  return length;
}

const char* toString(State state) noexcept {
  switch (state) {
    case State::kAdminDown:
      return "admin_down";
    case State::kDown:
      return "down";
    case State::kInit:
      return "init";
    case State::kUp:
      return "up";
  }
  return "invalid";
}

const char* toString(Diag diag) noexcept {
  switch (diag) {
    case Diag::kNone:
      return "none";
    case Diag::kControlDetectionTimeExpired:
      return "control_detection_time_expired";
    case Diag::kEchoFunctionFailed:
      return "echo_function_failed";
    case Diag::kNeighborSignaledSessionDown:
      return "neighbor_signaled_session_down";
    case Diag::kForwardingPlaneReset:
      return "forwarding_plane_reset";
    case Diag::kPathDown:
      return "path_down";
    case Diag::kConcatenatedPathDown:
      return "concatenated_path_down";
    case Diag::kAdministrativelyDown:
      return "administratively_down";
    case Diag::kReverseConcatenatedPathDown:
      return "reverse_concatenated_path_down";
  }
  return "reserved";
}

const char* toString(AuthType type) noexcept {
  switch (type) {
    case AuthType::kNone:
      return "none";
    case AuthType::kSimplePassword:
      return "simple_password";
    case AuthType::kKeyedMd5:
      return "keyed_md5";
    case AuthType::kMeticulousKeyedMd5:
      return "meticulous_keyed_md5";
    case AuthType::kKeyedSha1:
      return "keyed_sha1";
    case AuthType::kMeticulousKeyedSha1:
      return "meticulous_keyed_sha1";
  }
  return "unknown";
}

const char* toString(DecodeResult result) noexcept {
  switch (result) {
    case DecodeResult::kOk:
      return "ok";
    case DecodeResult::kTruncated:
      return "truncated";
    case DecodeResult::kBadVersion:
      return "bad_version";
    case DecodeResult::kLengthTooShort:
      return "length_too_short";
    case DecodeResult::kLengthExceedsDatagram:
      return "length_exceeds_datagram";
    case DecodeResult::kBadAuthType:
      return "bad_auth_type";
    case DecodeResult::kBadAuthLength:
      return "bad_auth_length";
    case DecodeResult::kZeroDetectMult:
      return "zero_detect_mult";
    case DecodeResult::kMultipoint:
      return "multipoint";
    case DecodeResult::kZeroMyDiscriminator:
      return "zero_my_discriminator";
    case DecodeResult::kZeroYourDiscriminatorNotDown:
      return "zero_your_discriminator_not_down";
    case DecodeResult::kPollAndFinal:
      return "poll_and_final";
  }
  return "invalid";
}

}  // namespace ferry::bfd
