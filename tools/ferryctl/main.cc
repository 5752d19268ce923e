// ferryctl: the operator's view of a running ferryd, over its control socket.
//   ferryctl [--socket PATH] [--timeout S] show stats|interfaces|dataplanes|bfd|routes [--json]
//   ferryctl [--socket PATH] [--timeout S] set bfd INTERFACE interval_ms|detect_mult|admin_down|hold_up_ms VALUE
//   ferryctl [--socket PATH] [--timeout S] reload
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ferry/cli.h"
#include "ferry/control/ctl_server.h"
#include "ferry/control/render.h"

int main(int argc, char** argv) {
  CLI::App app{"ferryctl: the operator's view of a running ferryd, over its control socket.",
               "ferryctl"};
  app.set_version_flag("--version", std::string("ferryctl ") + FERRY_VERSION);
  std::string socket = "/run/ferry/ferry.sock";
  bool json = false;
  double timeout_s = 60;
  std::vector<std::string> words;
  app.add_option("--socket", socket, "the daemon's control_socket")
      ->type_name("PATH")
      ->capture_default_str();
  app.add_option("--timeout", timeout_s,
                 "seconds to wait for the daemon's reply (a reload or show routes of a large "
                 "route table takes seconds)")
      ->type_name("S")
      ->check(CLI::Range(0.001, 86400.0))
      ->capture_default_str();
  app.add_flag("--json", json, "print the daemon's JSON reply instead of a table");
  app.add_option("words", words, "the request (below)")->type_name("");
  app.allow_extras();
  app.footer(
      "Requests:\n"
      "  show stats|interfaces|dataplanes|bfd|routes\n"
      "  show routes ADDRESS|PREFIX     longest-prefix lookup\n"
      "  set bfd INTERFACE interval_ms|detect_mult|admin_down|hold_up_ms VALUE\n"
      "  reload\n"
      "A VALUE such as -5 is a word, not an option; -- ends the options.\n"
      "Exit status: 0 ok, 1 the daemon refused or could not be reached, 2 bad arguments.");
  const auto parsed = ferry::cli::parse(app, std::vector<std::string>(argv + 1, argv + argc));
  if (const auto status = ferry::cli::finish(parsed, "ferryctl")) return *status;
  const int timeout_ms = int(timeout_s * 1000);
  const bool show = (words.size() == 2 && words[0] == "show") ||
                    (words.size() == 3 && words[0] == "show" && words[1] == "routes");
  const bool set = words.size() == 5 && words[0] == "set" && words[1] == "bfd";
  const bool reload = words.size() == 1 && words[0] == "reload";
  if (!show && !set && !reload) {
    std::cerr << "ferryctl: expected a request (show, set bfd or reload)\n"
                 "(ferryctl --help for usage)\n";
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
    std::string keys;  // key rollover: the interfaces whose BFD keys changed
    if (const auto k = doc.find("bfd_keys_changed"); k != doc.end() && k->is_array())
      for (const auto& name : *k)
        if (name.is_string())
          keys += (keys.empty() ? "; new BFD keys on " : ", ") + name.get<std::string>();
    std::cout << "reloaded: " << doc.value("summary", std::string()) << keys << "\n";
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
