// The one error type of rafs, and Result<T>, an expected-like return value.
//
// Library code never prints: it returns an Error whose message names the file,
// the structure and the offset, adding context as the error travels up. Only
// the cli prints it, and only the FUSE adapter maps it to an errno.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace rafs {

// What kind of failure, which decides the exit code and the errno.
enum class Errc {
  io,               // the OS refused a read, write, open...
  corrupted,        // the input breaks a rule of its format
  unsupported,      // valid, but a feature we do not implement
  invalid_argument, // the caller (or user) asked for something impossible
  out_of_range,     // an offset or index beyond what exists
  overflow,         // a declared size beyond a cap we enforce
  compression,      // a codec failed on data that should be valid
  not_found,        // a path or id that does not exist
  internal,         // a bug in rafs
};

std::string_view errc_name(Errc code) noexcept;

struct Error {
  Errc code = Errc::internal;
  std::string message;
  int sys_errno = 0;

  // "context: message", so an error reads outermost first.
  [[nodiscard]] Error with_context(std::string_view context) const;
  // An errno that fits this error (EIO for corruption, ENOENT for not_found...).
  [[nodiscard]] int to_errno() const noexcept;
};

[[nodiscard]] Error make_error(Errc code, std::string message);
// An io error built from the current errno: "what: strerror(errno)".
[[nodiscard]] Error sys_error(std::string_view what);

template <typename T> class [[nodiscard]] Result {
public:
  Result(T value) : m_v(std::in_place_index<0>, std::move(value)) {} // NOLINT: implicit by design
  Result(Error error) : m_v(std::in_place_index<1>, std::move(error)) {} // NOLINT

  bool ok() const noexcept { return m_v.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { return std::get<0>(m_v); }
  const T& value() const& { return std::get<0>(m_v); }
  T&& value() && { return std::get<0>(std::move(m_v)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { return std::get<1>(m_v); }
  Error&& error() && { return std::get<1>(std::move(m_v)); }

private:
  std::variant<T, Error> m_v;
};

template <> class [[nodiscard]] Result<void> {
public:
  Result() = default;
  Result(Error error) : m_error(std::move(error)), m_ok(false) {} // NOLINT

  bool ok() const noexcept { return m_ok; }
  explicit operator bool() const noexcept { return m_ok; }
  const Error& error() const& { return m_error; }
  Error&& error() && { return std::move(m_error); }

private:
  Error m_error;
  bool m_ok = true;
};

} // namespace rafs

#define RAFS_CONCAT_INNER(a, b) a##b
#define RAFS_CONCAT(a, b) RAFS_CONCAT_INNER(a, b)

// Return the error of a failed Result from the enclosing function.
#define RAFS_TRY(expr)                                                         \
  do {                                                                         \
    auto rafs_try_result_ = (expr);                                            \
    if (!rafs_try_result_) {                                                   \
      return std::move(rafs_try_result_).error();                              \
    }                                                                          \
  } while (0)

// `RAFS_TRY_ASSIGN(auto x, f());` declares x from a successful Result, or
// returns its error.
#define RAFS_TRY_ASSIGN(decl, expr)                                            \
  RAFS_TRY_ASSIGN_IMPL(RAFS_CONCAT(rafs_try_, __LINE__), decl, expr)
#define RAFS_TRY_ASSIGN_IMPL(tmp, decl, expr)                                  \
  auto tmp = (expr);                                                           \
  if (!tmp) {                                                                  \
    return std::move(tmp).error();                                             \
  }                                                                            \
  decl = std::move(tmp).value()
