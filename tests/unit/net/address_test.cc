#include "ferry/net/address.h"

#include <gtest/gtest.h>

namespace ferry {
namespace {

struct Good {
  const char* text;
  int family;
  const char* host;
  uint16_t port;
};

TEST(SockAddr, ParsesValidEndpoints) {
  const Good cases[] = {
      {"192.0.2.1:50000", AF_INET, "192.0.2.1", 50000},
      {"127.0.0.1:1", AF_INET, "127.0.0.1", 1},
      {"0.0.0.0:65535", AF_INET, "0.0.0.0", 65535},
      {"[2001:db8::1]:50000", AF_INET6, "2001:db8::1", 50000},
      {"[::1]:9", AF_INET6, "::1", 9},
      {"[::]:4789", AF_INET6, "::", 4789},
      {"[::ffff:192.0.2.1]:80", AF_INET6, "::ffff:192.0.2.1", 80},
  };
  for (const auto& c : cases) {
    std::string error;
    auto addr = SockAddr::parse(c.text, &error);
    ASSERT_TRUE(addr) << c.text << ": " << error;
    EXPECT_EQ(addr->family(), c.family) << c.text;
    EXPECT_EQ(addr->host(), c.host) << c.text;
    EXPECT_EQ(addr->port(), c.port) << c.text;
    EXPECT_EQ(addr->toString(), c.text) << "round trip";
    EXPECT_EQ(addr->len(), c.family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
  }
}

struct Bad {
  const char* text;
  const char* error;
};

TEST(SockAddr, RejectsBadEndpointsWithReason) {
  const Bad cases[] = {
      {"", "empty address, expected ADDRESS:PORT"},
      {"192.0.2.1", "'192.0.2.1': expected ADDRESS:PORT"},
      {"192.0.2.1:", "missing port after ':'"},
      {"192.0.2.1:0", "port 0 is out of range 1..65535"},
      {"192.0.2.1:65536", "port 65536 is out of range 1..65535"},
      {"192.0.2.1:99999999999", "port '99999999999' is not a number"},
      {"192.0.2.1:-1", "port '-1' is not a number"},
      {"192.0.2.1:80x", "port '80x' is not a number"},
      {"192.0.2.1: 80", "port ' 80' is not a number"},
      {"192.0.2.256:80", "'192.0.2.256' is not an IPv4 address"},
      {"host.example:80", "'host.example' is not an IPv4 address"},
      {":80", "'' is not an IPv4 address"},
      {"2001:db8::1:80", "'2001:db8::1:80': an IPv6 address needs brackets, as in [2001:db8::1]:50000"},
      {"[2001:db8::1]", "'[2001:db8::1]': expected ':PORT' after ']'"},
      {"[2001:db8::1]80", "'[2001:db8::1]80': expected ':PORT' after ']'"},
      {"[2001:db8::1:80", "'[2001:db8::1:80': missing ']' after IPv6 address"},
      {"[2001:db8::g]:80", "'2001:db8::g' is not an IPv6 address"},
      {"[192.0.2.1]:80", "'192.0.2.1' is not an IPv6 address"},
      {"[fe80::1%nosuchif0]:80", "IPv6 zone 'nosuchif0' is not an interface on this host"},
  };
  for (const auto& c : cases) {
    std::string error;
    EXPECT_FALSE(SockAddr::parse(c.text, &error)) << c.text;
    EXPECT_EQ(error, c.error) << c.text;
  }
}

TEST(SockAddr, ZoneResolvesToInterfaceIndex) {
  auto addr = SockAddr::parse("[fe80::1%lo]:80");
  ASSERT_TRUE(addr);
  EXPECT_NE(addr->in6().sin6_scope_id, 0u);
  EXPECT_EQ(addr->toString(), "[fe80::1%lo]:80");
}

TEST(SockAddr, SameEndpointComparesFamilyAddressPort) {
  const auto a = *SockAddr::parse("192.0.2.1:5000");
  EXPECT_TRUE(a.sameEndpoint(a.sa(), a.len()));
  EXPECT_FALSE(a.sameEndpoint(SockAddr::parse("192.0.2.1:5001")->sa(), a.len()));
  EXPECT_FALSE(a.sameEndpoint(SockAddr::parse("192.0.2.2:5000")->sa(), a.len()));
  const auto b = *SockAddr::parse("[::ffff:192.0.2.1]:5000");
  EXPECT_FALSE(a.sameEndpoint(b.sa(), b.len())) << "a v4-mapped v6 address is another family";
  EXPECT_FALSE(a.sameEndpoint(a.sa(), sizeof(sockaddr_in) - 1)) << "short name";
  const auto c = *SockAddr::parse("[2001:db8::1]:5000");
  EXPECT_TRUE(c == *SockAddr::parse("[2001:db8::1]:5000"));
  EXPECT_FALSE(c == *SockAddr::parse("[2001:db8::2]:5000"));
  EXPECT_FALSE(c.sameEndpoint(c.sa(), sizeof(sockaddr_in6) - 1));
}

TEST(SockAddr, FromSockaddrChecksFamilyAndLength) {
  const auto a = *SockAddr::parse("10.0.0.1:7");
  auto copy = SockAddr::fromSockaddr(a.sa(), a.len());
  ASSERT_TRUE(copy);
  EXPECT_EQ(*copy, a);
  EXPECT_FALSE(SockAddr::fromSockaddr(a.sa(), a.len() - 1));
  EXPECT_FALSE(SockAddr::fromSockaddr(nullptr, 16));
  sockaddr unix_family{};
  unix_family.sa_family = AF_UNIX;
  EXPECT_FALSE(SockAddr::fromSockaddr(&unix_family, sizeof(unix_family)));
  EXPECT_EQ(SockAddr::v4(0x7f000001, 9).toString(), "127.0.0.1:9");
}

}  // namespace
}  // namespace ferry
