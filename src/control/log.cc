#include "ferry/control/log.h"

#include <unistd.h>

namespace ferry::log {
namespace {

std::string& program() {
  static std::string name = "ferryd";
  return name;
}

void emit(const char* level, const std::string& message) {
  const std::string line = stamp() + " " + program() + "[" + level + "]: " + message + "\n";
  [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace

void info(const std::string& message) { emit("info", message); }
void warn(const std::string& message) { emit("warn", message); }
void error(const std::string& message) { emit("error", message); }
void setProgram(const std::string& name) { program() = name; }

}  // namespace ferry::log
