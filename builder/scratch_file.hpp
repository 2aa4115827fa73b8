// An anonymous temporary file (never visible under a name once created):
// appended to, read back at offsets, gone when closed.
#pragma once

#include <cstdint>
#include <filesystem>

#include "format/bytes.hpp"
#include "format/error.hpp"
#include "format/file.hpp"

namespace rafs::builder {

class ScratchFile {
public:
  // Created in `dir` (the same filesystem as the output it feeds).
  [[nodiscard]] static Result<ScratchFile> create(const std::filesystem::path& dir);

  // Appends; returns the offset the bytes start at.
  [[nodiscard]] Result<std::uint64_t> append(Bytes data);
  [[nodiscard]] Result<void> read_at(std::uint64_t offset, MutableBytes out) const;
  std::uint64_t size() const noexcept { return m_size; }

private:
  UniqueFd m_fd;
  std::uint64_t m_size = 0;
  std::filesystem::path m_dir;
};

} // namespace rafs::builder
