#include "ferry/route/ip.h"

#include <gtest/gtest.h>

namespace ferry::route {
namespace {

TEST(Ipv4Parse, AcceptsDottedQuad) {
  EXPECT_EQ(parseIpv4("10.0.0.1"), 0x0a000001u);
  EXPECT_EQ(parseIpv4("0.0.0.0"), 0u);
  EXPECT_EQ(parseIpv4("255.255.255.255"), 0xffffffffu);
  EXPECT_EQ(toString(Ipv4{0xc0000201}), "192.0.2.1");
}

TEST(Ipv4Parse, RejectsMalformed) {
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1.2.3.4 ", "1..3.4",
                          "+1.2.3.4", "1.2.3.-4", "a.b.c.d", "1.2.3.4/8"}) {
    EXPECT_FALSE(parseIpv4(bad)) << bad;
  }
}

TEST(Ipv6Parse, RoundTrips) {
  auto a = parseIpv6("2001:db8::1");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->hi, 0x20010db800000000u);
  EXPECT_EQ(a->lo, 1u);
  EXPECT_EQ(toString(*a), "2001:db8::1");
  EXPECT_FALSE(parseIpv6("2001:db8::1::2"));
  EXPECT_FALSE(parseIpv6("fe80::1%eth0"));
  EXPECT_FALSE(parseIpv6("10.0.0.1"));
}

TEST(IpAddress, ParsesEitherFamily) {
  std::string error;
  auto a = IpAddress::parse("192.0.2.1", &error);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->isV4());
  EXPECT_EQ(a->toString(), "192.0.2.1");
  auto b = IpAddress::parse("::1", &error);
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->isV6());
  EXPECT_EQ(b->v6().lo, 1u);
  EXPECT_FALSE(IpAddress::parse("::g", &error));
  EXPECT_EQ(error, "'::g' is not an IPv6 address");
  EXPECT_FALSE(IpAddress::parse("1.2.3", &error));
  EXPECT_EQ(error, "'1.2.3' is not an IPv4 address");
}

TEST(Masks, Lengths) {
  EXPECT_EQ(ipv4Mask(0), 0u);
  EXPECT_EQ(ipv4Mask(1), 0x80000000u);
  EXPECT_EQ(ipv4Mask(24), 0xffffff00u);
  EXPECT_EQ(ipv4Mask(32), 0xffffffffu);
  EXPECT_EQ(ipv6Mask(0), (Ipv6{0, 0}));
  EXPECT_EQ(ipv6Mask(64), (Ipv6{~0ull, 0}));
  EXPECT_EQ(ipv6Mask(65), (Ipv6{~0ull, 1ull << 63}));
  EXPECT_EQ(ipv6Mask(128), (Ipv6{~0ull, ~0ull}));
}

TEST(PrefixParse, Valid) {
  auto p = Prefix::parse("10.2.0.0/16");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->isV4());
  EXPECT_EQ(p->length(), 16u);
  EXPECT_EQ(p->v4(), 0x0a020000u);
  EXPECT_EQ(p->toString(), "10.2.0.0/16");
  EXPECT_EQ(Prefix::parse("0.0.0.0/0")->toString(), "0.0.0.0/0");
  EXPECT_EQ(Prefix::parse("192.0.2.7")->toString(), "192.0.2.7/32");
  EXPECT_EQ(Prefix::parse("2001:db8::/32")->toString(), "2001:db8::/32");
  EXPECT_EQ(Prefix::parse("::/0")->toString(), "::/0");
  EXPECT_EQ(Prefix::parse("2001:db8::1")->length(), 128u);
}

// Each failure says which part is wrong.
TEST(PrefixParse, ErrorsSayWhich) {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"10.2.0/16", "'10.2.0/16': '10.2.0' is not an IPv4 or IPv6 address"},
      {"/16", "'/16': '' is not an IPv4 or IPv6 address"},
      {"10.2.0.0/", "'10.2.0.0/': prefix length '' is not a number"},
      {"10.2.0.0/x", "'10.2.0.0/x': prefix length 'x' is not a number"},
      {"10.2.0.0/016", "'10.2.0.0/016': prefix length '016' is not a number"},
      {"10.2.0.0/-1", "'10.2.0.0/-1': prefix length '-1' is not a number"},
      {"10.2.0.0/33", "'10.2.0.0/33': prefix length 33 is beyond 32 for IPv4"},
      {"2001:db8::/129", "'2001:db8::/129': prefix length 129 is beyond 128 for IPv6"},
      {"10.2.0.1/16", "'10.2.0.1/16' has host bits set beyond /16 (did you mean 10.2.0.0/16?)"},
      {"2001:db8::1/64",
       "'2001:db8::1/64' has host bits set beyond /64 (did you mean 2001:db8::/64?)"},
  };
  for (const Case& c : cases) {
    std::string error;
    EXPECT_FALSE(Prefix::parse(c.text, &error)) << c.text;
    EXPECT_EQ(error, c.error);
  }
}

TEST(PrefixParse, HostBitsKeptOnRequest) {
  std::string error;
  auto p = Prefix::parse("10.2.0.1/16", &error, HostBits::kKeep);
  ASSERT_TRUE(p) << error;
  EXPECT_TRUE(p->hasHostBits());
  EXPECT_EQ(p->toString(), "10.2.0.1/16");
  EXPECT_EQ(p->masked().toString(), "10.2.0.0/16");
  EXPECT_FALSE(p->masked().hasHostBits());
  EXPECT_FALSE(Prefix::parse("10.2.0.0/16")->hasHostBits());
  auto q = Prefix::parse("2001:db8::1/127", &error, HostBits::kKeep);
  ASSERT_TRUE(q);
  EXPECT_TRUE(q->hasHostBits());
  EXPECT_EQ(q->masked().toString(), "2001:db8::/127");
}

TEST(Prefix, Contains) {
  const Prefix p = *Prefix::parse("10.2.0.0/16");
  EXPECT_TRUE(p.contains(Ipv4{0x0a020304}));
  EXPECT_TRUE(p.contains(Ipv4{0x0a02ffff}));
  EXPECT_FALSE(p.contains(Ipv4{0x0a030000}));
  EXPECT_FALSE(p.contains(Ipv6{0, 0x0a020304}));  // other family
  EXPECT_TRUE(Prefix::parse("0.0.0.0/0")->contains(Ipv4{0xffffffff}));
  EXPECT_TRUE(Prefix::parse("192.0.2.1/32")->contains(Ipv4{0xc0000201}));
  EXPECT_FALSE(Prefix::parse("192.0.2.1/32")->contains(Ipv4{0xc0000200}));

  const Prefix q = *Prefix::parse("2001:db8:8000::/33");
  EXPECT_TRUE(q.contains(*parseIpv6("2001:db8:ffff::1")));
  EXPECT_FALSE(q.contains(*parseIpv6("2001:db8:7fff::1")));
  EXPECT_TRUE(Prefix::parse("::/0")->contains(*parseIpv6("ffff::")));
  EXPECT_TRUE(Prefix::parse("::1/128")->contains(*parseIpv6("::1")));
  EXPECT_FALSE(Prefix::parse("::1/128")->contains(*parseIpv6("::")));
  EXPECT_TRUE(Prefix::parse("::/0")->contains(*IpAddress::parse("::")));
  EXPECT_FALSE(Prefix::parse("::/0")->contains(*IpAddress::parse("0.0.0.0")));

  EXPECT_TRUE(p.contains(*Prefix::parse("10.2.3.0/24")));
  EXPECT_TRUE(p.contains(p));
  EXPECT_FALSE(p.contains(*Prefix::parse("10.0.0.0/8")));
  EXPECT_FALSE(p.contains(*Prefix::parse("::/0")));
}

TEST(Prefix, OrderingAndEquality) {
  EXPECT_LT(*Prefix::parse("10.0.0.0/8"), *Prefix::parse("10.0.0.0/16"));
  EXPECT_LT(*Prefix::parse("10.0.0.0/16"), *Prefix::parse("10.1.0.0/16"));
  EXPECT_LT(*Prefix::parse("255.0.0.0/8"), *Prefix::parse("::/0"));
  EXPECT_EQ(*Prefix::parse("10.0.0.0/8"), Prefix::v4(0x0a000000, 8));
  EXPECT_EQ(Prefix::v4(0, 99).length(), 32u);
  EXPECT_EQ(Prefix::v6({}, 200).length(), 128u);
}

TEST(ByteOrder, LoadsAndStores) {
  uint8_t b[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(loadBe16(b), 0x0102);
  EXPECT_EQ(loadBe32(b), 0x01020304u);
  EXPECT_EQ(loadBe64(b), 0x0102030405060708u);
  storeBe32(b, 0xa0b0c0d0);
  EXPECT_EQ(b[0], 0xa0);
  EXPECT_EQ(b[3], 0xd0);
  storeBe16(b + 4, 0xbeef);
  EXPECT_EQ(loadBe16(b + 4), 0xbeef);
}

}  // namespace
}  // namespace ferry::route
