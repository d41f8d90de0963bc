// Expected failures are values: Status (ok or a message) and Expected<T> (a T or a Status).
// Messages say what went wrong and what to do about it.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace mirai {

class Status {
 public:
  Status() = default;
  static Status error(std::string message) { return Status(std::move(message), 0); }
  // A failure of a system call, with its errno for code that branches on it.
  static Status error(std::string message, int error_number) {
    return Status(std::move(message), error_number);
  }
  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const std::string& message() const { return message_; }
  // The errno of the system call that failed; 0 when none is known.
  int error_number() const { return errno_; }

 private:
  Status(std::string message, int error_number)
      : failed_(true), errno_(error_number), message_(std::move(message)) {}
  bool failed_ = false;
  int errno_ = 0;
  std::string message_;
};

template <typename T>
class Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}       // NOLINT: implicit by design
  Expected(Status error) : v_(std::move(error)) {}  // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  // On a temporary (`*f.get()`, `for (x : *f.get())`) the value moves out: nothing dangles.
  T value() && { return std::move(std::get<0>(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Status& status() const { return std::get<1>(v_); }
  const std::string& message() const { return status().message(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace mirai
