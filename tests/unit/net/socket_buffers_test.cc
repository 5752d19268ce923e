// What the kernel granted a socket's buffers, and the warning when it is less
// than tuning.socket_buffer asked for.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "ferry/net/socket.h"

namespace ferry {
namespace {

TEST(SocketBuffers, NoWarningWhenBothWaysHoldWhatWasAsked) {
  EXPECT_EQ(bufferShortfall(16u << 20, {16u << 20, 16u << 20}), "");
  EXPECT_EQ(bufferShortfall(4096, {8192, 4096}), "") << "more than asked is fine";
}

TEST(SocketBuffers, WarningNamesAskedGrantedAndTheCap) {
  EXPECT_EQ(bufferShortfall(16777216, {4194304, 16777216}),
            "tuning.socket_buffer is 16777216 bytes, but the kernel granted 4194304 to receive and "
            "16777216 to send: without CAP_NET_ADMIN it caps them at net.core.rmem_max and "
            "wmem_max. Bursts above that are dropped (rx_queue_overflow); grant CAP_NET_ADMIN or "
            "raise those sysctls");
  EXPECT_NE(bufferShortfall(16777216, {16777216, 212992}), "") << "the send side alone";
  EXPECT_NE(bufferShortfall(1, {0, 0}), "");
}

TEST(SocketBuffers, ReadsWhatTheKernelGranted) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  // Below every cap: granted as set (the kernel stores twice the value).
  const int receive = 65536, send = 32768;
  ASSERT_EQ(::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive, sizeof receive), 0);
  ASSERT_EQ(::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &send, sizeof send), 0);
  auto granted = socketBuffers(fd);
  ASSERT_TRUE(granted) << granted.error();
  EXPECT_EQ(granted->receive, 65536u);
  EXPECT_EQ(granted->send, 32768u);
  // Above net.core.rmem_max without the FORCE variant: capped there.
  uint32_t rmem_max = 0;
  std::ifstream("/proc/sys/net/core/rmem_max") >> rmem_max;
  if (rmem_max > 0 && rmem_max < (1u << 29)) {
    const int big = static_cast<int>(rmem_max * 2);
    ASSERT_EQ(::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big), 0);
    granted = socketBuffers(fd);
    ASSERT_TRUE(granted);
    EXPECT_EQ(granted->receive, rmem_max);
    EXPECT_NE(bufferShortfall(static_cast<uint32_t>(big), granted.value()), "");
  }
  ::close(fd);
  EXPECT_FALSE(socketBuffers(fd)) << "a closed descriptor";
  EXPECT_FALSE(socketBuffers(-1));
}

}  // namespace
}  // namespace ferry
