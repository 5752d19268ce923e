// Precompiled header of every test executable: GoogleTest, nlohmann/json and
// the standard headers nearly every test file includes. Parsing these took
// 2–3 s of each test file's compile; each test executable now parses them
// once. meson passes it with -include, so test files still include what they
// use themselves. (No include guard: the compiler reads it once, as the
// main file of the precompile.)

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>
