#include "ferry/dataplane/counters.h"

namespace ferry {

const char* toString(Drop drop) noexcept {
  switch (drop) {
    case Drop::kNoRoute:
      return "no_route";
    case Drop::kBadSource:
      return "bad_source";
    case Drop::kTruncated:
      return "truncated";
    case Drop::kSendError:
      return "send_error";
    case Drop::kEgressDown:
      return "egress_down";
    case Drop::kBfdQueueFull:
      return "bfd_queue_full";
    case Drop::kBadBfd:
      return "bad_bfd";
    case Drop::kBadInnerHeader:
      return "bad_inner_header";
    case Drop::kTtlExceeded:
      return "ttl_exceeded";
    case Drop::kMartian:
      return "martian";
    case Drop::kAllNextHopsDown:
      return "all_next_hops_down";
    case Drop::kEgressFull:
      return "egress_full";
    case Drop::kBlackhole:
      return "blackhole";
    case Drop::kUnreachable:
      return "unreachable";
    case Drop::kCount: break;
  }
  return "unknown";
}

}  // namespace ferry
