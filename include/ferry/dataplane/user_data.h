// The 64-bit io_uring user_data of every request a dataplane submits: what the
// request was, which interface it was for, and which provided buffer it
// carries, so a completion needs no lookup table.
//
//   bits 63..56  Op
//   bits 47..32  interface index
//   bits 15..0   buffer id (provided-buffer ring ids are 16 bits), the
//                batch slot of a SendBatch, or the stalled dataplane of a
//                RecvRescue
#pragma once

#include <cstdint>

namespace ferry {

enum class Op : uint8_t {
  kRecv = 1,        // multishot recvmsg on an interface socket
  kSend = 2,        // sendmsg of a received buffer; the buffer goes back on completion
  kWake = 3,        // read on the dataplane's eventfd: stop requested
  kCancel = 4,      // async cancel of a multishot receive
  kIcmpReply = 5,   // sendmsg of an ICMP error the dataplane wrote into its own buffer
  kSendBatch = 6,   // one UDP GSO sendmsg of several buffers; `buffer` is the batch slot
  kRecvRescue = 7,  // multishot recvmsg on a stalled dataplane's socket; `buffer` is its id
};

struct UserData {
  Op op;
  uint16_t interface;
  uint16_t buffer;

  constexpr uint64_t pack() const noexcept {
    return uint64_t(op) << 56 | uint64_t(interface) << 32 | uint64_t(buffer);
  }
  static constexpr UserData unpack(uint64_t v) noexcept {
    return {static_cast<Op>(v >> 56), static_cast<uint16_t>(v >> 32), static_cast<uint16_t>(v)};
  }
  friend constexpr bool operator==(const UserData&, const UserData&) = default;
};

}  // namespace ferry
