// The prefetch list of `--prefetch-policy fs|blob`: one absolute path per
// line (read from stdin by the cli), as nydus-image reads it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace rafs::builder {

class PrefetchList {
public:
  PrefetchList() = default;
  // Lines are trimmed; empty lines ignored; relative lines and lines with
  // ".." are skipped with a warning; a path equal to or below an earlier one
  // is dropped as already covered; the order is kept.
  static PrefetchList parse(std::string_view text, std::vector<std::string>& warnings);

  bool empty() const noexcept { return m_paths.empty(); }
  // Normalized paths ("" is the root, else "a/b"), in list order.
  const std::vector<std::string>& paths() const noexcept { return m_paths; }
  // The list position of the first path equal to `path` or above it, if any.
  std::optional<std::size_t> position_of(std::string_view path) const;

private:
  std::vector<std::string> m_paths;
  std::unordered_map<std::string, std::size_t> m_position;
};

} // namespace rafs::builder
