// ferry-gen as a library: traffic generator (Sender) and sink (Sink) with
// per-flow loss, reordering, duplicate and latency accounting, for the
// ferry-gen tool and for `ferryd bench`. See tools/ferry-gen/README.md.
#pragma once

#include "ferry/gen/clock.h"      // monotonicNs(): the timestamps' clock
#include "ferry/gen/collector.h"  // Collector: the sink's pure accounting
#include "ferry/gen/rate.h"       // Pacer, IMIX, --bitrate conversion
#include "ferry/gen/report.h"     // SendReport, SinkReport, JSON and table output
#include "ferry/gen/sender.h"     // SendConfig, SendEngine, Sender
#include "ferry/gen/sink.h"       // SinkConfig, Sink
#include "ferry/gen/stats.h"      // SequenceTracker, LatencyHistogram
#include "ferry/gen/wire.h"       // measuring header, end marker, encap/decap
