// Route mode (IP-in-UDP routing), the public API of src/route/: pure logic, no
// I/O, no clock, no globals. Per-packet functions are noexcept and allocation-
// free; building tables and groups allocates and reports errors with context.
//
//   route/ip.h            Ipv4 / Ipv6 / IpAddress / Prefix (parse, contains, masks)
//   route/inner.h         parseInner, decrementTtl, flowHash, Verdict (drop reasons)
//   route/lpm.h           Ipv4Lpm / Ipv6Lpm: immutable Poptrie LPM tables
//   route/next_hop.h      NextHopGroup: failover or ECMP over live interfaces
//   route/icmp.h          buildIcmpError: ICMP/ICMPv6 Time Exceeded, Unreachable
//   route/route_table.h   RouteTable: `routes:` validation + forward() per packet
#pragma once

#include "ferry/route/icmp.h"
#include "ferry/route/inner.h"
#include "ferry/route/ip.h"
#include "ferry/route/lpm.h"
#include "ferry/route/next_hop.h"
#include "ferry/route/route_table.h"
