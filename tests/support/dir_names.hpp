// The names in a directory, for exact assertions on what a command left.
#pragma once

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

namespace rafs::test {

// The entries of `dir` (not recursive), sorted by name.
inline std::vector<std::string> names_in(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace rafs::test
