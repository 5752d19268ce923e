#include "ferry/control/log.h"

#include <unistd.h>

#include <ctime>

namespace ferry::log {
namespace {

std::string& program() {
  static std::string name = "ferryd";
  return name;
}

void emit(const char* level, const std::string& message) {
  char stamp[32] = {};
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm parts{};
  gmtime_r(&ts.tv_sec, &parts);
  strftime(stamp, sizeof(stamp), "%H:%M:%S", &parts);
  std::string line = std::string(stamp) + "." + std::to_string(ts.tv_nsec / 1'000'000 + 1000).substr(1) +
                     " " + program() + "[" + level + "]: " + message + "\n";
  [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace

void info(const std::string& message) { emit("info", message); }
void warn(const std::string& message) { emit("warn", message); }
void error(const std::string& message) { emit("error", message); }
void setProgram(const std::string& name) { program() = name; }

}  // namespace ferry::log
