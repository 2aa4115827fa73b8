#include "builder/source_entry.hpp"

namespace rafs::builder {

Result<std::string> normalize_entry_path(std::string_view raw) {
  if (!raw.empty() && raw.front() == '/') {
    return make_error(Errc::corrupted, "entry path '" + std::string(raw) + "' is absolute");
  }
  std::string out;
  std::size_t pos = 0;
  while (pos <= raw.size()) {
    std::size_t slash = raw.find('/', pos);
    std::string_view part = raw.substr(pos, slash == std::string_view::npos ? raw.npos : slash - pos);
    pos = slash == std::string_view::npos ? raw.size() + 1 : slash + 1;
    if (part.empty() || part == ".") {
      continue;
    }
    if (part == "..") {
      return make_error(Errc::corrupted, "entry path '" + std::string(raw) + "' contains '..'");
    }
    if (part.find('\0') != std::string_view::npos) {
      return make_error(Errc::corrupted, "entry path contains a NUL byte");
    }
    if (part.size() > 255) {
      return make_error(Errc::corrupted, "entry path '" + std::string(raw) +
                                             "' has a component longer than 255 bytes");
    }
    if (!out.empty()) {
      out += '/';
    }
    out += part;
  }
  return out;
}

} // namespace rafs::builder
