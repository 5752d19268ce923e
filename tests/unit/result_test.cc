// ferry::Result and ferry::Status: what setup code returns.
#include "ferry/result.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace ferry {
namespace {

Result<int> half(int n) {
  if (n % 2 != 0) return Result<int>::failure(std::to_string(n) + " is odd");
  return n / 2;
}

Status checkEven(int n) {
  auto h = half(n);
  if (!h) return Status::failure("checkEven: " + h.error());
  return {};
}

TEST(Result, HoldsAValueOrAMessage) {
  auto ok = half(8);
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(static_cast<bool>(ok));
  EXPECT_EQ(ok.value(), 4);
  EXPECT_EQ(*ok, 4);
  auto bad = half(7);
  ASSERT_FALSE(bad.ok());
  EXPECT_FALSE(static_cast<bool>(bad));
  EXPECT_EQ(bad.error(), "7 is odd");
}

TEST(Result, MoveOnlyValuesAreTakenOut) {
  auto make = [](bool fail) -> Result<std::unique_ptr<int>> {
    if (fail) return Result<std::unique_ptr<int>>::failure("no");
    return std::make_unique<int>(42);
  };
  auto r = make(false);
  ASSERT_TRUE(r);
  std::unique_ptr<int> p = std::move(r).take();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 42);
  EXPECT_EQ(make(true).error(), "no");
}

TEST(Result, AStringValueIsNotAMessage) {
  Result<std::string> value(std::string("hello"));
  ASSERT_TRUE(value);
  EXPECT_EQ(value.value(), "hello");
  EXPECT_EQ(value->size(), 5u);
  auto failed = Result<std::string>::failure("hello");
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error(), "hello");
}

TEST(Status, SuccessOrAMessagePassedOn) {
  const Status ok = checkEven(2);
  EXPECT_TRUE(ok.ok());
  const Status bad = checkEven(3);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), "checkEven: 3 is odd");
  EXPECT_EQ(Status::failure("x").error(), "x");
  EXPECT_TRUE(Status{}.ok());
}

}  // namespace
}  // namespace ferry
