// Session authentication (RFC 5880 §6.7) and the transmit path that signs.
#include "ferry/bfd_session.h"

namespace ferry::bfd {

RxDiscard Session::authenticate(const ControlPacket& packet, std::span<const uint8_t> wire,
                                Micros now) noexcept {
  (void)packet;
  (void)wire;
  (void)now;
  return RxDiscard::kAuthFailed;  // not implemented yet
}

void Session::fillAuth(ControlPacket& packet) noexcept {
  if (auth_type_ == AuthType::kNone) return;
  packet.auth_present = true;
  packet.auth.type = auth_type_;
  packet.auth.key_id = auth_key_id_;
}

size_t Session::writePacket(Micros now, std::span<uint8_t> out) noexcept {
  if (out.size() < kMaxPacketLength) return 0;
  const ControlPacket packet = buildPacket(now);
  return encode(packet, out);
}

}  // namespace ferry::bfd
