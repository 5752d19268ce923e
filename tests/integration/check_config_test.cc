// `ferryd check-config` on every example in configs/ (each must be valid),
// and its output and exit status for a broken file.
#include <sys/stat.h>

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

// What is not a readable config file is one error naming the file, found
// without reading it: a FIFO must not block (a reload would hang the control
// thread), a device or a huge file must not be read into memory.
TEST(CheckConfig, WhatIsNotARegularFileOrIsTooLargeIsRefusedAtOnce) {
  TempDir dir;
  const std::string fifo = dir.path() + "/fifo.yaml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string directory = dir.path() + "/dir.yaml";
  std::filesystem::create_directory(directory);
  const std::string huge = dir.write("huge.yaml", "");
  std::filesystem::resize_file(huge, (uint64_t(64) << 20) + 1);  // sparse: no disk used
  const std::pair<std::string, std::string> cases[] = {
      {fifo, fifo + ": not a regular file (a FIFO)\n"},
      {directory, directory + ": not a regular file (a directory)\n"},
      {"/dev/zero", "/dev/zero: not a regular file (a character device)\n"},
      {huge, huge + ": the file is 67108865 bytes, more than the limit of 67108864 bytes (64 MiB)\n"},
      {dir.path() + "/missing.yaml",
       dir.path() + "/missing.yaml: cannot read the file: No such file or directory\n"},
  };
  for (const auto& [path, expected] : cases) {
    auto p = Process::start({binary("FERRYD"), "check-config", path});
    const auto status = p.wait(5s);
    ASSERT_TRUE(status) << path << ": still running after 5 s";
    EXPECT_EQ(*status, 1) << path;
    EXPECT_EQ(p.err(), expected);
    EXPECT_EQ(p.out(), "");
  }
}

TEST(CheckConfig, UsageErrorsExit2) {
  auto p = Process::start({binary("FERRYD"), "check-config"});
  EXPECT_EQ(p.wait(10s), 2);
  auto q = Process::start({binary("FERRYD"), "frobnicate"});
  EXPECT_EQ(q.wait(10s), 2);
  EXPECT_NE(q.err().find("unknown command 'frobnicate'"), std::string::npos);
  auto r = Process::start({binary("FERRYD"), "run"});
  EXPECT_EQ(r.wait(10s), 2);
  EXPECT_NE(r.err().find("--config is required"), std::string::npos) << r.err();
  auto s = Process::start({binary("FERRYD"), "--bogus"});
  EXPECT_EQ(s.wait(10s), 2);
  EXPECT_NE(s.err().find("unknown option '--bogus'"), std::string::npos) << s.err();
}

TEST(CheckConfig, HelpAndVersionExit0) {
  auto help = Process::start({binary("FERRYD"), "--help"});
  EXPECT_EQ(help.wait(10s), 0);
  for (const char* command : {"run", "check-config", "bench"})
    EXPECT_NE(help.out().find(command), std::string::npos) << help.out();
  auto version = Process::start({binary("FERRYD"), "--version"});
  EXPECT_EQ(version.wait(10s), 0);
  EXPECT_EQ(version.out().rfind("ferryd ", 0), 0u) << version.out();
  auto ctl = Process::start({binary("FERRYCTL"), "--version"});
  EXPECT_EQ(ctl.wait(10s), 0);
  EXPECT_EQ(ctl.out().rfind("ferryctl ", 0), 0u) << ctl.out();
  auto ctl_help = Process::start({binary("FERRYCTL"), "--help"});
  EXPECT_EQ(ctl_help.wait(10s), 0);
  EXPECT_NE(ctl_help.out().find("--socket PATH"), std::string::npos) << ctl_help.out();
}

}  // namespace
}  // namespace ferry::test
