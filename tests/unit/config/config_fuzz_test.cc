// Robustness of the config parser against any input: every example config
// and every error fixture, mutated at random (bytes flipped, inserted,
// deleted, lines duplicated or cut), must give either a config or errors,
// never an exception, a crash or a hang (the ASan+UBSan build runs this
// too). Deterministic (fixed seed) and bounded so it runs in the unit suite.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "ferry/config/config.h"

namespace ferry {
namespace {

std::vector<std::string> corpus() {
  std::vector<std::string> out;
  for (const char* dir : {FERRY_CONFIGS_DIR, FERRY_CONFIG_FIXTURES}) {
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      if (e.path().extension() != ".yaml") continue;
      std::ifstream in(e.path());
      std::stringstream text;
      text << in.rdbuf();
      out.push_back(text.str());
    }
  }
  return out;
}

// Bytes that matter to YAML and to our parser.
constexpr char kSpecial[] = ":{}[],-#&*!|>'\"%@` \n\t0123456789.x/";

std::string mutate(std::string s, std::mt19937_64& rng) {
  const int edits = 1 + int(rng() % 6);
  for (int i = 0; i < edits; ++i) {
    const size_t at = s.empty() ? 0 : rng() % s.size();
    switch (rng() % 7) {
      case 0:  // flip a byte to anything
        if (!s.empty()) s[at] = char(rng() % 256);
        break;
      case 1:  // a special character in
        s.insert(at, 1, kSpecial[rng() % (sizeof(kSpecial) - 1)]);
        break;
      case 2:  // delete a run
        if (!s.empty()) s.erase(at, 1 + rng() % 8);
        break;
      case 3: {  // duplicate a line
        const size_t begin = s.rfind('\n', at) == std::string::npos ? 0 : s.rfind('\n', at) + 1;
        const size_t end = s.find('\n', at);
        s.insert(begin, s.substr(begin, end == std::string::npos ? std::string::npos : end - begin + 1));
        break;
      }
      case 4:  // cut the file
        s.resize(at);
        break;
      case 5:  // a huge or negative number
        s.insert(at, rng() % 2 ? "99999999999999999999999" : "-1");
        break;
      default:  // an alias or anchor
        s.insert(at, rng() % 2 ? " &a " : " *a ");
        break;
    }
  }
  return s;
}

// Sanitizer builds run a quarter of the mutations (at -O0 under ASan+UBSan the
// full 20,000 took 38 s of the suite's CPU); the normal build runs them all.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int kMutations = 5'000;
#else
constexpr int kMutations = 20'000;
#endif

TEST(ConfigFuzz, MutatedConfigsGiveAConfigOrErrorsNeverAnException) {
  const auto inputs = corpus();
  ASSERT_GT(inputs.size(), 30u);
  std::mt19937_64 rng(20261125);
  size_t accepted = 0, refused = 0;
  for (int i = 0; i < kMutations; ++i) {
    const std::string text = mutate(inputs[size_t(rng() % inputs.size())], rng);
    ConfigResult r;
    ASSERT_NO_THROW(r = parseConfig(text, "fuzz.yaml")) << "input:\n" << text;
    ASSERT_NE(r.config.has_value(), !r.errors.empty()) << "a config xor errors; input:\n" << text;
    for (const auto& e : r.errors) {
      const std::string line = e.format();
      ASSERT_FALSE(line.empty());
      for (const char c : line)
        ASSERT_TRUE(static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f)
            << "error messages are printable ASCII: " << line;
    }
    if (r.config) {
      ++accepted;
      // What is accepted passes again, and a reload to itself is allowed.
      const ConfigResult again = parseConfig(text, "fuzz.yaml");
      ASSERT_TRUE(again.config.has_value());
      EXPECT_EQ(reloadBlocker(*r.config, *again.config), "");
    } else {
      ++refused;
    }
  }
  // The mutations are mild enough that both outcomes occur (about 1% are
  // accepted: 54 of 5,000 with this seed).
  EXPECT_GT(accepted, size_t(kMutations / 200));
  EXPECT_GT(refused, size_t(kMutations / 200));
}

}  // namespace
}  // namespace ferry
