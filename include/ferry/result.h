// How setup code says it failed: a value or a message, never both, and the
// caller cannot drop it unread ([[nodiscard]]). Setup code is everything that
// runs before or between packets (opening sockets, binding, creating
// devices, starting threads); the packet path never fails this way, it
// counts. The message names what was being done and what is wrong, ready
// for an operator ("interface 'up': bind 10.0.0.1:4789: Address in use").
//
//   Result<Fd> openUdpSocket(...);          // a socket or why not
//   Status setup();                          // nothing or why not
//
//   auto fd = openUdpSocket(...);
//   if (!fd) return Status::failure("interface '" + name + "': " + fd.error());
//   use(fd.take());
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace ferry {

template <typename T>
class [[nodiscard]] Result {
 public:
  // A success (implicit, so `return fd;` reads naturally).
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  static Result failure(std::string message) {
    return Result(std::in_place_index<1>, std::move(message));
  }

  bool ok() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  // The value: only when ok().
  T& value() & noexcept {
    assert(ok());
    return *std::get_if<0>(&state_);
  }
  const T& value() const& noexcept {
    assert(ok());
    return *std::get_if<0>(&state_);
  }
  T take() && noexcept(std::is_nothrow_move_constructible_v<T>) { return std::move(value()); }
  T take() & noexcept(std::is_nothrow_move_constructible_v<T>) { return std::move(value()); }
  T* operator->() noexcept { return &value(); }
  const T* operator->() const noexcept { return &value(); }
  T& operator*() & noexcept { return value(); }

  // The message: only when !ok().
  const std::string& error() const noexcept {
    assert(!ok());
    return *std::get_if<1>(&state_);
  }

 private:
  template <size_t I, typename... Args>
  explicit Result(std::in_place_index_t<I> index, Args&&... args)
      : state_(index, std::forward<Args>(args)...) {}

  std::variant<T, std::string> state_;
};

// Success with nothing to return, or a message.
class [[nodiscard]] Status {
 public:
  Status() = default;  // success
  static Status failure(std::string message) {
    Status s;
    s.failed_ = true;
    s.message_ = std::move(message);
    return s;
  }
  bool ok() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return ok(); }
  // The message: only when !ok().
  const std::string& error() const noexcept {
    assert(!ok());
    return message_;
  }

 private:
  bool failed_ = false;
  std::string message_;
};

}  // namespace ferry
