#include "ferry/config/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace ferry {
namespace {

namespace fs = std::filesystem;

// Each file in config_errors/ is one broken config. Its leading comment lines
// "# expect: LINE:COLUMN: message" list exactly the errors it must produce.
TEST(ConfigErrors, EachFixtureGivesExactlyItsErrors) {
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(FERRY_CONFIG_FIXTURES)) {
    if (entry.path().extension() != ".yaml") continue;
    ++files;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    std::vector<std::string> expected;
    std::istringstream lines(text.str());
    for (std::string line; std::getline(lines, line);) {
      const std::string tag = "# expect: ";
      if (line.rfind(tag, 0) == 0) expected.push_back(line.substr(tag.size()));
    }
    ASSERT_FALSE(expected.empty()) << entry.path() << " has no '# expect:' line";
    const std::string name = entry.path().filename().string();
    const auto result = parseConfig(text.str(), name);
    EXPECT_FALSE(result.config) << name;
    std::vector<std::string> got;
    for (const auto& e : result.errors) {
      const std::string formatted = e.format();
      ASSERT_EQ(formatted.rfind(name + ":", 0), 0u) << formatted;
      got.push_back(formatted.substr(name.size() + 1));
    }
    EXPECT_EQ(got, expected) << name;
  }
  EXPECT_GE(files, 30u);
}

TEST(Config, FullExampleParsesToExactValues) {
  const char* yaml = R"(
dataplanes: 4
steering: inner-flow
mode: route
control_socket: /tmp/ferry-x.sock
metrics: { listen: "127.0.0.1:9108" }
tuning: { max_datagram: 9000, buffers: 8192, ring_entries: 2048, socket_buffer: 8388608, bfd_queue: 256 }
icmp: { source_v4: 192.0.2.1, source_v6: "2001:db8::1", rate: 10, burst: 5 }
interfaces:
  - name: west
    bind: "192.0.2.1:50000"
    peer: "192.0.2.2:50000"
    bfd: { interval_ms: 50, detect_mult: 3 }
  - name: east
    bind: "[2001:db8::1]:50000"
    peer: "[2001:db8::2]:50000"
    bfd: { interval_ms: 100, detect_mult: 5, mode: rfc5881, admin_down: true, hold_up_ms: 2500,
           auth: { type: meticulous-keyed-sha1, key_id: 7, secret: "twenty-bytes-secret!" } }
  - name: south
    bind: "192.0.2.1:50001"
routes:
  - { prefix: "10.2.0.0/16", via: [east, west] }
  - { prefix: "0.0.0.0/0", via: [west, east], ecmp: true }
)";
  const auto result = parseConfig(yaml, "full.yaml");
  ASSERT_TRUE(result.errors.empty()) << result.errors[0].format();
  const Config& c = *result.config;
  EXPECT_EQ(c.dataplanes, 4u);
  EXPECT_EQ(c.steering, Steering::kInnerFlow);
  EXPECT_EQ(c.mode, Mode::kRoute);
  EXPECT_EQ(c.control_socket, "/tmp/ferry-x.sock");
  ASSERT_TRUE(c.metrics_listen);
  EXPECT_EQ(c.metrics_listen->toString(), "127.0.0.1:9108");
  EXPECT_EQ(c.tuning.max_datagram, 9000u);
  EXPECT_EQ(c.tuning.buffers, 8192u);
  EXPECT_EQ(c.tuning.ring_entries, 2048u);
  EXPECT_EQ(c.tuning.socket_buffer, 8388608u);
  EXPECT_EQ(c.tuning.bfd_queue, 256u);
  ASSERT_TRUE(c.icmp);
  EXPECT_EQ(c.icmp->source_v4, "192.0.2.1");
  EXPECT_EQ(c.icmp->source_v6, "2001:db8::1");
  EXPECT_EQ(c.icmp->rate, 10u);
  EXPECT_EQ(c.icmp->burst, 5u);
  ASSERT_EQ(c.interfaces.size(), 3u);
  EXPECT_EQ(c.interfaces[0].name, "west");
  EXPECT_EQ(c.interfaces[0].bind.toString(), "192.0.2.1:50000");
  EXPECT_EQ(c.interfaces[0].peer->toString(), "192.0.2.2:50000");
  EXPECT_EQ(c.interfaces[0].bfd->interval_ms, 50u);
  EXPECT_EQ(c.interfaces[0].bfd->detect_mult, 3);
  EXPECT_EQ(c.interfaces[0].bfd->mode, BfdMode::kInBand);
  EXPECT_FALSE(c.interfaces[0].bfd->admin_down);
  EXPECT_EQ(c.interfaces[0].pos.line, 10);
  EXPECT_EQ(c.interfaces[1].bind.toString(), "[2001:db8::1]:50000");
  EXPECT_EQ(c.interfaces[1].bfd->mode, BfdMode::kRfc5881);
  EXPECT_EQ(c.interfaces[1].bfd->detect_mult, 5);
  EXPECT_TRUE(c.interfaces[1].bfd->admin_down);
  EXPECT_EQ(c.interfaces[1].bfd->hold_up_ms, 2500u);
  EXPECT_EQ(c.interfaces[0].bfd->hold_up_ms, 0u);
  EXPECT_EQ(c.interfaces[0].bfd->auth.type, bfd::AuthType::kNone);
  EXPECT_EQ(c.interfaces[1].bfd->auth.type, bfd::AuthType::kMeticulousKeyedSha1);
  EXPECT_EQ(c.interfaces[1].bfd->auth.key_id, 7);
  EXPECT_EQ(c.interfaces[1].bfd->auth.secret, "twenty-bytes-secret!");
  EXPECT_FALSE(c.interfaces[2].peer);
  EXPECT_FALSE(c.interfaces[2].bfd);
  ASSERT_EQ(c.routes.size(), 2u);
  EXPECT_EQ(c.routes[0].prefix, "10.2.0.0/16");
  EXPECT_EQ(c.routes[0].via, (std::vector<uint16_t>{1, 0}));
  EXPECT_FALSE(c.routes[0].ecmp);
  EXPECT_EQ(c.routes[0].prefix_pos.line, 22);
  EXPECT_EQ(c.routes[0].prefix_pos.column, 15);
  EXPECT_TRUE(c.routes[1].ecmp);
  EXPECT_EQ(c.summary(),
            "3 interfaces, route mode, 2 routes, 2 with BFD, dataplanes 4, steering inner-flow");
}

TEST(Config, DefaultsForAMinimalRelay) {
  const auto result = parseConfig(R"(
interfaces:
  - { name: a, bind: "127.0.0.1:5000" }
  - { name: b, bind: "127.0.0.1:5001", peer: "127.0.0.1:6001" }
relay: [ { from: a, to: b } ]
)",
                                  "min.yaml");
  ASSERT_TRUE(result.config);
  const Config& c = *result.config;
  EXPECT_EQ(c.dataplanes, 0u) << "auto";
  EXPECT_EQ(c.dataplaneCount(7), 7u);
  EXPECT_EQ(c.mode, Mode::kRelay);
  EXPECT_EQ(c.steering, Steering::kKernel);
  EXPECT_EQ(c.control_socket, "/run/ferry/ferry.sock");
  EXPECT_EQ(c.tuning.max_datagram, 2048u);
  EXPECT_EQ(c.tuning.buffers, 4096u);
  ASSERT_EQ(c.relay.size(), 1u);
  EXPECT_EQ(c.relay[0].from, 0);
  EXPECT_EQ(c.relay[0].to, 1);
  EXPECT_EQ(c.summary(), "2 interfaces, relay mode, 1 relay rule, 0 with BFD, dataplanes auto, steering kernel");
}

TEST(Config, DropRoutes) {
  const auto result = parseConfig(R"(
mode: route
interfaces:
  - { name: a, bind: "127.0.0.1:5000", peer: "127.0.0.1:6000" }
routes:
  - { prefix: "0.0.0.0/0", via: [a] }
  - { prefix: "10.9.0.0/16", drop: blackhole }
  - { prefix: "2001:db8::/32", drop: unreachable }
)",
                                  "drop.yaml");
  ASSERT_TRUE(result.config) << (result.errors.empty() ? "" : result.errors[0].message);
  const Config& c = *result.config;
  ASSERT_EQ(c.routes.size(), 3u);
  EXPECT_EQ(c.routes[0].drop, "");
  EXPECT_EQ(c.routes[1].drop, "blackhole");
  EXPECT_TRUE(c.routes[1].via.empty());
  EXPECT_EQ(c.routes[2].drop, "unreachable");
  EXPECT_EQ(c.summary(),
            "1 interface, route mode, 3 routes, 0 with BFD, dataplanes auto, steering kernel");
}

// `weights` on an ECMP route: kept per `via` entry, and the route module's
// table (what ForwardingState::fromConfig builds) has the weighted group.
TEST(Config, WeightedEcmpRoute) {
  const auto result = parseConfig(R"(
mode: route
interfaces:
  - { name: a, bind: "127.0.0.1:5000", peer: "127.0.0.1:6000" }
  - { name: b, bind: "127.0.0.1:5001", peer: "127.0.0.1:6001" }
routes:
  - { prefix: "10.1.0.0/16", via: [b, a], ecmp: true, weights: [3, 1] }
  - { prefix: "10.2.0.0/16", via: [a, b], ecmp: true }
)",
                                  "weights.yaml");
  ASSERT_TRUE(result.config) << (result.errors.empty() ? "" : result.errors[0].message);
  const Config& c = *result.config;
  ASSERT_EQ(c.routes.size(), 2u);
  EXPECT_EQ(c.routes[0].weights, (std::vector<uint32_t>{3, 1}));
  EXPECT_TRUE(c.routes[1].weights.empty());
  std::vector<route::RouteSpec> specs;
  for (const auto& r : c.routes) specs.push_back(r.spec());
  const std::vector<std::string> names = {"a", "b"};
  const auto table = route::RouteTable::build(specs, names, {}, nullptr);
  ASSERT_TRUE(table);
  EXPECT_EQ(table->group(0).weights(), (std::vector<uint32_t>{3, 1}));
  EXPECT_EQ(table->group(0).members()[0], 1u);
  EXPECT_FALSE(table->group(1).weighted());
}

TEST(Config, EmptyAndUnreadableFiles) {
  auto empty = parseConfig("", "empty.yaml");
  ASSERT_EQ(empty.errors.size(), 1u);
  EXPECT_EQ(empty.errors[0].format(),
            "empty.yaml: the file is empty; expected a map with at least 'interfaces'");
  auto missing = loadConfigFile("/nonexistent/ferry.yaml");
  ASSERT_EQ(missing.errors.size(), 1u);
  EXPECT_EQ(missing.errors[0].format(), "/nonexistent/ferry.yaml: cannot read the file: No such file or directory");
  auto list = parseConfig("- a\n- b\n", "list.yaml");
  ASSERT_EQ(list.errors.size(), 1u);
  EXPECT_EQ(list.errors[0].format(), "list.yaml:1:1: config: expected a map, got a list");
}

// Whatever bytes come in, the parser returns errors or a config; it never
// throws or crashes. Mutations of a valid file exercise the odd corners.
TEST(Config, SurvivesMutatedInput) {
  const std::string valid = R"(dataplanes: 2
interfaces:
  - { name: a, bind: "127.0.0.1:5000", peer: "127.0.0.1:6000", bfd: {interval_ms: 50} }
  - { name: b, bind: "[::1]:5001", peer: "[::1]:6001" }
relay: [ { from: a, to: b } ]
tuning: { buffers: 64 }
)";
  uint32_t seed = 12345;
  auto next = [&] { return seed = seed * 1664525u + 1013904223u; };
  const char alphabet[] = "{}[]:,-'\"&*!|>#%@ \n\tab0123456789.";
  for (int round = 0; round < 3000; ++round) {
    std::string text = valid;
    const int edits = 1 + int(next() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = next() % text.size();
      switch (next() % 3) {
        case 0: text[at] = alphabet[next() % (sizeof(alphabet) - 1)]; break;
        case 1: text.erase(at, 1 + next() % 8); break;
        default: text.insert(at, 1, alphabet[next() % (sizeof(alphabet) - 1)]); break;
      }
      if (text.empty()) text = "x";
    }
    const auto result = parseConfig(text, "m.yaml");
    EXPECT_NE(result.config.has_value(), !result.errors.empty());
    for (const auto& err : result.errors) EXPECT_FALSE(err.message.empty());
  }
}

}  // namespace
}  // namespace ferry

namespace ferry {
namespace {

Config parsed(const std::string& yaml) {
  auto r = parseConfig(yaml, "r.yaml");
  EXPECT_TRUE(r.config) << (r.errors.empty() ? "" : r.errors[0].format());
  return r.config ? *r.config : Config{};
}

TEST(Config, ReloadBlockerNamesWhatNeedsARestart) {
  const std::string base = R"(
interfaces:
  - { name: a, bind: "127.0.0.1:5000", peer: "127.0.0.1:6000", bfd: { interval_ms: 50 } }
  - { name: b, bind: "127.0.0.1:5001", peer: "127.0.0.1:6001" }
)";
  const Config running = parsed(base + "relay: [ { from: a, to: b } ]\n");
  // Relay rules (and comments, positions) may change.
  EXPECT_EQ(reloadBlocker(running, parsed("# a comment\n" + base + "relay: [ { from: b, to: a } ]\n")), "");
  EXPECT_EQ(reloadBlocker(running, parsed("dataplanes: 2\n" + base + "relay: []\n")),
            "dataplanes changed; a reload applies only relay, routes, icmp and BFD keys: restart "
            "ferryd for the rest");
  EXPECT_EQ(reloadBlocker(running,
                          parsed("tuning: { gso: false }\nsteering: cpu\n" + base + "relay: []\n")),
            "steering, tuning changed; a reload applies only relay, routes, icmp and BFD keys: "
            "restart ferryd for the rest");
  std::string other_bfd = base;
  other_bfd.replace(other_bfd.find("interval_ms: 50"), 15, "interval_ms: 60");
  EXPECT_EQ(reloadBlocker(running, parsed(other_bfd + "relay: []\n")),
            "interface 'a' changed; a reload applies only relay, routes, icmp and BFD keys: "
            "restart ferryd for the rest");
  EXPECT_EQ(reloadBlocker(running, parsed(R"(
interfaces:
  - { name: a, bind: "127.0.0.1:5000", peer: "127.0.0.1:6000", bfd: { interval_ms: 50 } }
relay: []
)")),
            "the number of interfaces changed; a reload applies only relay, routes, icmp and BFD "
            "keys: restart ferryd for the rest");
  EXPECT_EQ(reloadBlocker(
                running, parsed("icmp: { source_v4: 10.0.0.1, rate: 5 }\n" + base + "relay: []\n")),
            "icmp rate or burst changed; a reload applies only relay, routes, icmp and BFD keys: "
            "restart ferryd for the rest");
  EXPECT_EQ(reloadBlocker(running, parsed("icmp: { source_v4: 10.0.0.1 }\n" + base + "relay: []\n")), "");
}

// bfd.auth.accept parses to exact keys, and a reload may change the keys
// (key rollover) but not the auth type or anything else of bfd.
TEST(Config, BfdKeysAndTheirReload) {
  const auto yaml = [](const std::string& auth) {
    return "interfaces:\n"
           "  - { name: a, bind: \"127.0.0.1:5000\", peer: \"127.0.0.1:6000\", bfd: { interval_ms: "
           "50, auth: " +
           auth +
           " } }\n"
           "  - { name: b, bind: \"127.0.0.1:5001\", peer: \"127.0.0.1:6001\" }\n"
           "relay: []\n";
  };
  const Config running = parsed(yaml("{ type: keyed-sha1, key_id: 1, secret: old-key }"));
  const Config both = parsed(yaml(
      "{ type: keyed-sha1, key_id: 2, secret: new-key, accept: [ { key_id: 1, secret: old-key }, "
      "{ key_id: 0, secret: \"twenty-bytes-exactly\" } ] }"));
  ASSERT_TRUE(both.interfaces[0].bfd);
  const BfdAuth& auth = both.interfaces[0].bfd->auth;
  EXPECT_EQ(auth.type, bfd::AuthType::kKeyedSha1);
  EXPECT_EQ(auth.key_id, 2);
  EXPECT_EQ(auth.secret, "new-key");
  EXPECT_EQ(auth.accept, (std::vector<bfd::AuthKey>{{1, "old-key"}, {0, "twenty-bytes-exactly"}}));
  EXPECT_TRUE(running.interfaces[0].bfd->auth.accept.empty());

  EXPECT_EQ(reloadBlocker(running, both), "");
  EXPECT_EQ(reloadBlocker(both, running), "");
  EXPECT_EQ(reloadBlocker(running, parsed(yaml("{ type: keyed-sha1, key_id: 1, secret: other }"))),
            "");
  const std::string restart =
      "interface 'a' changed; a reload applies only relay, routes, icmp and BFD keys: restart "
      "ferryd for the rest";
  EXPECT_EQ(
      reloadBlocker(running,
                    parsed(yaml("{ type: meticulous-keyed-sha1, key_id: 1, secret: old-key }"))),
      restart);
  std::string no_auth = yaml("{ type: simple, secret: x }");
  const std::string auth_item = ", auth: { type: simple, secret: x }";
  no_auth.replace(no_auth.find(auth_item), auth_item.size(), "");
  EXPECT_EQ(reloadBlocker(running, parsed(no_auth)), restart);
  std::string slower = yaml("{ type: keyed-sha1, key_id: 2, secret: new-key }");
  slower.replace(slower.find("interval_ms: 50"), 15, "interval_ms: 60");
  EXPECT_EQ(reloadBlocker(running, parsed(slower)), restart)
      << "keys may change, the interval still may not";
}

TEST(Config, UserAndGroup) {
  const std::string base =
      "interfaces:\n  - { name: a, bind: \"127.0.0.1:5000\", peer: \"127.0.0.1:6000\" }\n"
      "  - { name: b, bind: \"127.0.0.1:5001\", peer: \"127.0.0.1:6001\" }\nrelay: [ { from: a, to: b } ]\n";
  auto ok = parseConfig(base + "user: ferry\ngroup: ferry-ops\n", "t.yaml");
  ASSERT_TRUE(ok.config) << ok.errors[0].format();
  EXPECT_EQ(ok.config->user, "ferry");
  EXPECT_EQ(ok.config->group, "ferry-ops");
  EXPECT_FALSE(parseConfig(base, "t.yaml").config->user.has_value());
  const std::pair<std::string, std::string> bad[] = {
      {"user: \"a b\"\n", "t.yaml:5:7: user: 'a b' is not a user name (1 to 32 of letters, digits, '_', '-', '.')"},
      {"user: -x\n", "t.yaml:5:7: user: '-x' is not a user name (1 to 32 of letters, digits, '_', '-', '.')"},
      {"group: wheel\n", "t.yaml:5:8: group: needs 'user' (the account ferryd switches to)"},
  };
  for (const auto& [extra, error] : bad) {
    const auto r = parseConfig(base + extra, "t.yaml");
    ASSERT_EQ(r.errors.size(), 1u) << extra;
    EXPECT_EQ(r.errors[0].format(), error);
  }
  Config other = *ok.config;
  other.user = "root";
  EXPECT_NE(reloadBlocker(*ok.config, other).find("user or group"), std::string::npos);
}

// `fpm:` (route mode): ferry as zebra's FPM server; the routes may all come
// from zebra, so route mode needs no `routes` with it.
TEST(Config, FpmKeys) {
  const std::string base = R"(
mode: route
interfaces:
  - { name: a, bind: "127.0.0.1:5000", peer: "127.0.0.1:6000" }
)";
  const Config c = parsed(base + "fpm: { listen: \"127.0.0.1:2620\", batch_ms: 20, resync_ms: 1500 }\n");
  ASSERT_TRUE(c.fpm);
  EXPECT_EQ(c.fpm->listen.toString(), "127.0.0.1:2620");
  EXPECT_EQ(c.fpm->batch_ms, 20u);
  EXPECT_EQ(c.fpm->resync_ms, 1500u);
  EXPECT_EQ(c.routeCount(), 0u);
  const Config defaults = parsed(base + "fpm: { listen: \"[::1]:2620\" }\nroutes: [ { prefix: 10.9.0.0/16, via: [a] } ]\n");
  ASSERT_TRUE(defaults.fpm);
  EXPECT_EQ(defaults.fpm->listen.toString(), "[::1]:2620");
  EXPECT_EQ(defaults.fpm->batch_ms, 100u);
  EXPECT_EQ(defaults.fpm->resync_ms, 30000u);
  EXPECT_FALSE(parsed(base + "routes: []\n").fpm);
  // The listening socket is set up at start: a change needs a restart.
  EXPECT_EQ(
      reloadBlocker(
          c, parsed(base + "fpm: { listen: \"127.0.0.1:2621\", batch_ms: 20, resync_ms: 1500 }\n")),
      "fpm changed; a reload applies only relay, routes, icmp and BFD keys: restart ferryd for the "
      "rest");
  EXPECT_EQ(reloadBlocker(c, parsed("# comment\n" + base + "fpm: { listen: \"127.0.0.1:2620\", batch_ms: 20, resync_ms: 1500 }\n")), "");
  // Route mode without routes, a routes file or fpm is still an error.
  const auto none = parseConfig(base, "x.yaml");
  ASSERT_EQ(none.errors.size(), 1u);
  EXPECT_EQ(none.errors[0].format(), "x.yaml:2:1: config: route mode needs a 'routes' list, a 'routes_file' or 'fpm'");
}

// `routes_file:` (route mode): read with the config, relative to the config
// file's directory; its errors name the routes file and line.
class RoutesFileConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ferry-routes-file-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }
  std::vector<std::string> errors(const ConfigResult& r) {
    std::vector<std::string> out;
    for (const auto& e : r.errors) out.push_back(e.format());
    return out;
  }
  static std::string config(const std::string& extra) {
    return "mode: route\n"
           "interfaces:\n"
           "  - { name: a, bind: \"127.0.0.1:5000\", peer: \"127.0.0.1:6000\" }\n"
           "  - { name: b, bind: \"127.0.0.1:5001\", peer: \"127.0.0.1:6001\" }\n"
           "  - { name: c, bind: \"127.0.0.1:5002\" }\n" +
           extra;
  }
  fs::path dir_;
};

TEST_F(RoutesFileConfig, RelativeToTheConfigsDirectory) {
  write("table.txt", "10.1.0.0/16 a\n10.2.0.0/16 a,b ecmp\n2001:db8::/32 b,a\n");
  const auto result = loadConfigFile(write("ferry.yaml", config("routes_file: table.txt\n")));
  ASSERT_TRUE(result.config) << errors(result)[0];
  EXPECT_EQ(result.config->routes_file, (dir_ / "table.txt").string());
  ASSERT_TRUE(result.config->file_routes);
  EXPECT_EQ(result.config->file_routes->size(), 3u);
  EXPECT_EQ(result.config->routeCount(), 3u);
  EXPECT_NE(result.config->summary().find("3 routes"), std::string::npos) << result.config->summary();
}

TEST_F(RoutesFileConfig, ErrorsNameTheRoutesFileAndLine) {
  const std::string table = write("table.txt", "10.1.0.0/16 a\n10.1.0.1/16 b\n10.3.0.0/16 z\n");
  const auto result = loadConfigFile(write("ferry.yaml", config("routes_file: table.txt\ndataplanes: 0\n")));
  EXPECT_EQ(errors(result),
            (std::vector<std::string>{
                (dir_ / "ferry.yaml").string() + ":7:13: dataplanes: must be at least 1, got 0",
                table + ":2: '10.1.0.1/16' has host bits set beyond /16 (did you mean 10.1.0.0/16?)",
                table + ":3: unknown interface 'z' (interfaces: a, b, c)"}));
}

TEST_F(RoutesFileConfig, EveryFileProblemIsAConfigError) {
  const std::string yaml_path = (dir_ / "ferry.yaml").string();
  auto only = [&](const std::string& extra) {
    return errors(loadConfigFile(write("ferry.yaml", config(extra))));
  };
  EXPECT_EQ(only("routes_file: missing.txt\n"),
            std::vector<std::string>{yaml_path + ":6:14: routes_file: cannot read '" +
                                     (dir_ / "missing.txt").string() + "': No such file or directory"});
  fs::create_directories(dir_ / "sub");
  EXPECT_EQ(only("routes_file: sub\n"),
            std::vector<std::string>{yaml_path + ":6:14: routes_file: '" + (dir_ / "sub").string() +
                                     "' is not a regular file"});
  EXPECT_EQ(only("routes_file: \"\"\n"),
            std::vector<std::string>{yaml_path + ":6:14: routes_file: expected a file name"});
  const std::string table = write("t.txt", "10.1.0.0/16 b,c\n10.2.0.0/16 c\n");
  EXPECT_EQ(only("routes_file: t.txt\n"),
            std::vector<std::string>{table + ": routes via interface 'c': it has no 'peer' to send to"});
  write("ok.txt", "10.1.0.0/16 a\n");
  EXPECT_EQ(only("routes_file: ok.txt\nroutes: [ { prefix: 10.9.0.0/16, via: [a] } ]\n"),
            std::vector<std::string>{yaml_path +
                                     ":6:14: routes_file: use either 'routes' or 'routes_file', not both"});
  const auto relay = loadConfigFile(write(
      "relay.yaml",
      "interfaces:\n  - { name: a, bind: \"127.0.0.1:5000\", peer: \"127.0.0.1:6000\" }\n"
      "  - { name: b, bind: \"127.0.0.1:5001\", peer: \"127.0.0.1:6001\" }\n"
      "relay: [ { from: a, to: b } ]\nroutes_file: ok.txt\n"));
  EXPECT_EQ(errors(relay),
            std::vector<std::string>{(dir_ / "relay.yaml").string() +
                                     ":5:14: routes_file: only used in route mode (set 'mode: route')"});
}

}  // namespace
}  // namespace ferry
