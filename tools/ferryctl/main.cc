// ferryctl: the operator's view of a running ferryd, over its control socket.
//   ferryctl [--socket PATH] [--timeout S] show stats|interfaces|dataplanes|bfd|routes [--json]
//   ferryctl [--socket PATH] [--timeout S] set bfd INTERFACE interval_ms|detect_mult|admin_down|hold_up_ms VALUE
//   ferryctl [--socket PATH] [--timeout S] reload
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ferry/control/ctl_server.h"
#include "ferry/control/render.h"

namespace {

constexpr const char* kUsage =
    "usage: ferryctl [--socket PATH] [--timeout S] show stats|interfaces|dataplanes|bfd|routes [--json]\n"
    "       ferryctl [--socket PATH] [--timeout S] show routes ADDRESS|PREFIX [--json]   (longest-prefix lookup)\n"
    "       ferryctl [--socket PATH] set bfd INTERFACE "
    "interval_ms|detect_mult|admin_down|hold_up_ms VALUE\n"
    "       ferryctl [--socket PATH] reload\n"
    "  --socket PATH   the daemon's control_socket (default /run/ferry/ferry.sock)\n"
    "  --json          print the daemon's JSON reply instead of a table\n"
    "  --timeout S     seconds to wait for the daemon's reply (default 60: a reload\n"
    "                  or show routes of a large route table takes seconds)\n"
    "  --              end of options (a VALUE such as -5 needs none: after the first\n"
    "                  word, only the options above and -- are options)\n";

}  // namespace

int main(int argc, char** argv) {
  std::string socket = "/run/ferry/ferry.sock";
  bool json = false;
  int timeout_ms = 60'000;
  std::vector<std::string> words;
  // Options come before the words; after the first word only the known
  // options are (`show stats --json`), so a value such as -5 stays a word.
  // "--" ends the options.
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool known =
        arg == "--" || arg == "--socket" || arg == "--json" || arg == "--timeout" || arg == "--help" ||
        arg == "-h";
    if (options_done || (!words.empty() && !known)) {
      words.push_back(arg);
    } else if (arg == "--") {
      options_done = true;
    } else if (arg == "--socket") {
      if (i + 1 >= argc) {
        std::cerr << "ferryctl: --socket needs a PATH\n" << kUsage;
        return 2;
      }
      socket = argv[++i];
    } else if (arg == "--timeout") {
      const std::string v = i + 1 < argc ? argv[i + 1] : "";
      char* end = nullptr;
      const double s = v.empty() ? 0 : std::strtod(v.c_str(), &end);
      if (v.empty() || end == nullptr || *end != '\0' || !(s >= 0.001 && s <= 86400)) {
        std::cerr << "ferryctl: --timeout needs SECONDS between 0.001 and 86400, got '" << v << "'\n"
                  << kUsage;
        return 2;
      }
      timeout_ms = int(s * 1000);
      ++i;
    } else if (arg == "--json") {
      json = true;
    } else if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (!arg.empty() && arg[0] == '-') {
      std::cerr << "ferryctl: unknown option '" << arg << "'\n" << kUsage;
      return 2;
    } else {
      words.push_back(arg);
    }
  }
  const bool show = (words.size() == 2 && words[0] == "show") ||
                    (words.size() == 3 && words[0] == "show" && words[1] == "routes");
  const bool set = words.size() == 5 && words[0] == "set" && words[1] == "bfd";
  const bool reload = words.size() == 1 && words[0] == "reload";
  if (!show && !set && !reload) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string what = words.size() > 1 ? words[1] : words[0];
  std::string request;
  for (const auto& w : words) request += (request.empty() ? "" : " ") + w;
  std::string reply;
  try {
    reply = ferry::ctlRequest(socket, request, timeout_ms);
  } catch (const std::exception& e) {
    std::cerr << "ferryctl: " << e.what() << "\n";
    return 1;
  }
  nlohmann::json doc = nlohmann::json::parse(reply, nullptr, false);
  if (doc.is_discarded()) {
    std::cerr << "ferryctl: the daemon's reply is not JSON: " << reply.substr(0, 200) << "\n";
    return 1;
  }
  if (doc.is_object() && doc.contains("error")) {
    std::cerr << "ferryctl: " << doc["error"].get<std::string>() << "\n";
    return 1;
  }
  if (json) {
    std::cout << doc.dump(2) << "\n";
    return 0;
  }
  if (set) {
    std::cout << "ok\n";
    return 0;
  }
  if (reload) {
    std::cout << "reloaded: " << doc.value("summary", std::string()) << "\n";
    return 0;
  }
  if (what == "stats") std::cout << ferry::renderStats(doc);
  else if (what == "dataplanes") std::cout << ferry::renderDataplanes(doc);
  else if (what == "interfaces") std::cout << ferry::renderInterfaces(doc);
  else if (what == "bfd") std::cout << ferry::renderBfd(doc);
  else if (what == "routes") std::cout << ferry::renderRoutes(doc);
  else std::cout << ferry::renderGeneric(doc);
  return 0;
}
