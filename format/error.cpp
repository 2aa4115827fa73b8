#include "format/error.hpp"

#include <cerrno>
#include <cstring>

namespace rafs {

std::string_view errc_name(Errc code) noexcept {
  switch (code) {
  case Errc::io: return "io";
  case Errc::corrupted: return "corrupted";
  case Errc::unsupported: return "unsupported";
  case Errc::invalid_argument: return "invalid_argument";
  case Errc::out_of_range: return "out_of_range";
  case Errc::overflow: return "overflow";
  case Errc::compression: return "compression";
  case Errc::not_found: return "not_found";
  case Errc::internal: return "internal";
  }
  return "unknown";
}

Error Error::with_context(std::string_view context) const {
  Error e = *this;
  e.message = std::string(context) + ": " + message;
  return e;
}

int Error::to_errno() const noexcept {
  switch (code) {
  case Errc::io: return sys_errno != 0 ? sys_errno : EIO;
  case Errc::not_found: return ENOENT;
  case Errc::invalid_argument: return EINVAL;
  case Errc::unsupported: return EOPNOTSUPP;
  case Errc::out_of_range: return ERANGE;
  case Errc::overflow: return EOVERFLOW;
  case Errc::corrupted:
  case Errc::compression:
  case Errc::internal: return EIO;
  }
  return EIO;
}

Error make_error(Errc code, std::string message) {
  return Error{code, std::move(message), 0};
}

Error sys_error(std::string_view what) {
  int err = errno;
  return Error{Errc::io, std::string(what) + ": " + std::strerror(err), err};
}

} // namespace rafs
