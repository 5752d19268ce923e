// `ferryd check-config` on every example in configs/ (each must be valid),
// and its output and exit status for a broken file.
#include <filesystem>

#include "harness.h"

namespace ferry::test {
namespace {

TEST(CheckConfig, EveryExampleConfigIsValid) {
  size_t checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(FERRY_CONFIGS_DIR)) {
    if (entry.path().extension() != ".yaml") continue;
    auto p = Process::start({binary("FERRYD"), "check-config", entry.path().string()});
    EXPECT_EQ(p.wait(10s), 0) << entry.path() << "\n" << p.err();
    EXPECT_NE(p.out().find(entry.path().string() + ": ok: "), std::string::npos) << p.out();
    ++checked;
  }
  EXPECT_GE(checked, 2u);
}

TEST(CheckConfig, BrokenFileListsEveryErrorAndExits1) {
  TempDir dir;
  const std::string path = dir.write("broken.yaml",
                                     "dataplanes: 0\n"
                                     "interfaces:\n"
                                     "  - { name: a, bind: \"127.0.0.1:5000\", colour: red }\n"
                                     "relay: [ { from: a, to: nowhere } ]\n");
  auto p = Process::start({binary("FERRYD"), "check-config", path});
  EXPECT_EQ(p.wait(10s), 1);
  EXPECT_EQ(p.err(),
            path + ":1:13: dataplanes: must be at least 1, got 0\n" +
            path + ":3:40: interfaces[0]: unknown key 'colour' (expected one of: name, bind, peer, bfd)\n" +
            path + ":4:25: relay[0].to: unknown interface 'nowhere' (interfaces: a)\n");
  EXPECT_EQ(p.out(), "");
}

TEST(CheckConfig, UsageErrorsExit2) {
  auto p = Process::start({binary("FERRYD"), "check-config"});
  EXPECT_EQ(p.wait(10s), 2);
  auto q = Process::start({binary("FERRYD"), "frobnicate"});
  EXPECT_EQ(q.wait(10s), 2);
  EXPECT_NE(q.err().find("unknown command 'frobnicate'"), std::string::npos);
}

}  // namespace
}  // namespace ferry::test
