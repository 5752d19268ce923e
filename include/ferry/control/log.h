// Minimal logging for setup, control and shutdown paths (never the hot path):
// one line per call on stderr, "ferryd[level]: message". Thread-safe (one
// write(2) per line).
#pragma once

#include <time.h>

#include <string>

namespace ferry::log {

// The wall-clock time of day every line starts with, in UTC: "HH:MM:SS.mmm".
// Inline, so a test stamps its own steps alike without linking the logger.
inline std::string stamp() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm parts{};
  gmtime_r(&ts.tv_sec, &parts);
  char hms[16] = {};
  strftime(hms, sizeof(hms), "%H:%M:%S", &parts);
  return std::string(hms) + "." + std::to_string(ts.tv_nsec / 1'000'000 + 1000).substr(1);
}

void info(const std::string& message);
void warn(const std::string& message);
void error(const std::string& message);
// Prefix for every line ("ferryd" by default).
void setProgram(const std::string& name);

}  // namespace ferry::log
