// Minimal logging for setup, control and shutdown paths (never the hot path):
// one line per call on stderr, "ferryd[level]: message". Thread-safe (one
// write(2) per line).
#pragma once

#include <string>

namespace ferry::log {

void info(const std::string& message);
void warn(const std::string& message);
void error(const std::string& message);
// Prefix for every line ("ferryd" by default).
void setProgram(const std::string& name);

}  // namespace ferry::log
