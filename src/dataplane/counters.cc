#include "ferry/dataplane/counters.h"

namespace ferry {

const char* toString(Drop drop) noexcept {
  switch (drop) {
    case Drop::NoRoute: return "no_route";
    case Drop::BadSource: return "bad_source";
    case Drop::Truncated: return "truncated";
    case Drop::SendError: return "send_error";
    case Drop::NoBuffer: return "no_buffer";
    case Drop::EgressDown: return "egress_down";
    case Drop::BfdQueueFull: return "bfd_queue_full";
    case Drop::BadBfd: return "bad_bfd";
    case Drop::BadInnerHeader: return "bad_inner_header";
    case Drop::TtlExceeded: return "ttl_exceeded";
    case Drop::Martian: return "martian";
    case Drop::AllNextHopsDown: return "all_next_hops_down";
    case Drop::kCount: break;
  }
  return "unknown";
}

}  // namespace ferry
