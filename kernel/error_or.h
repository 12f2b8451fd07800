// ErrorOr<T>: a value or an Errno, the return type of every kernel and syscall handler (SerenityOS
// style). GCC 12 has no std::expected in C++20 and tl::expected is not among the project's
// dependencies; this is the small subset futexbox needs. FUTEXBOX_TRY propagates an error, like
// Serenity's TRY.
#pragma once

#include <cassert>
#include <type_traits>
#include <utility>

#include "abi/errno.h"

namespace futexbox::kernel {

// The kernel speaks the ABI's error numbers (abi/errno.h).
using Errno = abi::Errno;

template <class T>
class [[nodiscard]] ErrorOr {
 public:
  ErrorOr(T value) : has_value_(true), value_(std::move(value)) {}  // NOLINT: implicit by design
  ErrorOr(Errno error) : has_value_(false), error_(error) {}       // NOLINT: implicit by design

  [[nodiscard]] bool has_value() const noexcept { return has_value_; }
  explicit operator bool() const noexcept { return has_value_; }
  [[nodiscard]] Errno error() const noexcept {
    assert(!has_value_);
    return error_;
  }
  T& value() & noexcept {
    assert(has_value_);
    return value_;
  }
  const T& value() const& noexcept {
    assert(has_value_);
    return value_;
  }
  T&& value() && noexcept {
    assert(has_value_);
    return std::move(value_);
  }

 private:
  static_assert(std::is_trivially_destructible_v<T>, "ErrorOr holds small trivial values");
  bool has_value_;
  union {
    T value_;
    Errno error_;
  };
};

template <>
class [[nodiscard]] ErrorOr<void> {
 public:
  ErrorOr() = default;
  ErrorOr(Errno error) : has_error_(true), error_(error) {}  // NOLINT: implicit by design

  [[nodiscard]] bool has_value() const noexcept { return !has_error_; }
  explicit operator bool() const noexcept { return !has_error_; }
  [[nodiscard]] Errno error() const noexcept {
    assert(has_error_);
    return error_;
  }
  void value() const noexcept {}

 private:
  bool has_error_ = false;
  Errno error_ = Errno::kEINVAL;
};

}  // namespace futexbox::kernel

// Evaluates an ErrorOr expression; returns its error from the enclosing function, or yields its
// value.
#define FUTEXBOX_TRY(expr)                                    \
  __extension__({                                             \
    auto futexbox_try_result_ = (expr);                       \
    if (!futexbox_try_result_) return futexbox_try_result_.error(); \
    std::move(futexbox_try_result_).value();                  \
  })
