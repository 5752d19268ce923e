// Writes a routes file (route_set.h) shaped like the Internet table, from
// the same synthetic tables as the LPM benchmarks (bench/route_tables.h):
//
//   make_routes V4_COUNT V6_COUNT IFACE[,IFACE...] > routes.txt
//
// Each route goes via one of the interfaces (round robin); with two or more,
// every fourth route is an ECMP group over all of them.
#include <charconv>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "route_tables.h"

int main(int argc, char** argv) {
  using namespace ferry::route;
  using namespace ferry::route::bench;
  size_t counts[2] = {0, 0};
  for (int i = 0; i < 2 && argc == 4; ++i) {
    const std::string_view text = argv[1 + i];
    if (std::from_chars(text.data(), text.data() + text.size(), counts[i]).ptr != text.data() + text.size())
      argc = 0;
  }
  if (argc != 4) {
    std::fprintf(stderr, "usage: make_routes V4_COUNT V6_COUNT IFACE[,IFACE...]\n");
    return 2;
  }
  std::vector<std::string> names;
  for (std::string_view list = argv[3];;) {
    const size_t comma = list.find(',');
    names.emplace_back(list.substr(0, comma));
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  const std::string all = argv[3];
  size_t n = 0;
  for (const auto& routes : {ipv4Table(counts[0]), ipv6Table(counts[1])}) {
    for (const Route& r : routes) {
      const bool ecmp = names.size() > 1 && n % 4 == 3;
      std::printf("%s %s%s\n", r.prefix.toString().c_str(), ecmp ? all.c_str() : names[n % names.size()].c_str(),
                  ecmp ? " ecmp" : "");
      ++n;
    }
  }
  return 0;
}
