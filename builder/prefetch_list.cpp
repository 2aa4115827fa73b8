#include "builder/prefetch_list.hpp"

#include "builder/source_entry.hpp"

namespace rafs::builder {

namespace {

std::string_view trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; };
  while (!s.empty() && space(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && space(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

} // namespace

PrefetchList PrefetchList::parse(std::string_view text, std::vector<std::string>& warnings) {
  PrefetchList list;
  while (!text.empty()) {
    const std::size_t eol = text.find('\n');
    std::string_view line = trim(text.substr(0, eol));
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    if (line.empty()) {
      continue;
    }
    if (line.front() != '/') {
      warnings.push_back("prefetch list: skipping relative path " + std::string(line));
      continue;
    }
    auto path = normalize_entry_path(line.substr(line.find_first_not_of('/') == std::string_view::npos
                                                     ? line.size()
                                                     : line.find_first_not_of('/')));
    if (!path) {
      warnings.push_back("prefetch list: skipping " + std::string(line) + ": " +
                         path.error().message);
      continue;
    }
    if (list.position_of(*path)) {
      continue; // covered by an earlier path
    }
    list.m_position.emplace(*path, list.m_paths.size());
    list.m_paths.push_back(std::move(*path));
  }
  return list;
}

std::optional<std::size_t> PrefetchList::position_of(std::string_view path) const {
  if (m_paths.empty()) {
    return std::nullopt;
  }
  std::optional<std::size_t> best;
  const auto consider = [&](std::string_view prefix) {
    auto it = m_position.find(std::string(prefix));
    if (it != m_position.end() && (!best || it->second < *best)) {
      best = it->second;
    }
  };
  consider("");
  for (std::size_t slash = path.find('/'); slash != std::string_view::npos;
       slash = path.find('/', slash + 1)) {
    consider(path.substr(0, slash));
  }
  if (!path.empty()) {
    consider(path);
  }
  return best;
}

} // namespace rafs::builder
