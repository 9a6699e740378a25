// Errors as values: `status` for an outcome, `result<T>` for a value or the
// status that explains its absence. The kernel reports failures this way;
// exceptions stay inside the code that throws them.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace mosaic {

enum class errc {
  ok = 0,
  invalid_argument,
  not_found,
  already_exists,
  corrupt,
  limit,
  unsupported,
  config,
  io,
  internal,
};

const char* errc_name(errc code) noexcept;

class [[nodiscard]] status {
 public:
  status() = default;
  status(errc code, std::string message) : code_(code), message_(std::move(message)) {}

  static status ok_status() { return {}; }
  bool ok() const noexcept { return code_ == errc::ok; }
  explicit operator bool() const noexcept { return ok(); }
  errc code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }

 private:
  errc code_ = errc::ok;
  std::string message_;
};

template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::move(value)) {}       // NOLINT(google-explicit-constructor)
  result(status error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const status& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, status> v_;
};

}  // namespace mosaic
