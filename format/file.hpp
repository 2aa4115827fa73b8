// File handles: an owned descriptor, whole-file reads with a cap, positioned
// reads, and output files that appear under their final name only on commit.
#pragma once

#include <cstdint>
#include <filesystem>
#include <future>
#include <string>
#include <vector>

#include "format/bytes.hpp"
#include "format/error.hpp"
#include "format/huge_pages.hpp"

namespace rafs {

// Move-only owner of a file descriptor.
class UniqueFd {
public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) noexcept : m_fd(fd) {}
  ~UniqueFd();
  UniqueFd(UniqueFd&& o) noexcept : m_fd(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const noexcept { return m_fd; }
  explicit operator bool() const noexcept { return m_fd >= 0; }
  int release() noexcept;
  void reset(int fd = -1) noexcept;

private:
  int m_fd = -1;
};

// Fills `out` from `offset` of an open file; a short file is an error
// naming `name`.
[[nodiscard]] Result<void> pread_full(int fd, std::uint64_t offset, MutableBytes out,
                                      const std::string& name);

// Reads a whole regular file; fails (Errc::overflow) past `max_size` bytes
// before allocating.
[[nodiscard]] Result<std::vector<std::uint8_t>> read_whole_file(const std::filesystem::path& path,
                                                                std::uint64_t max_size);
// The same into huge-page-backed memory (format/huge_pages.hpp), for the
// large files read at the start of a mount (a bootstrap).
[[nodiscard]] Result<HugeBuffer> read_whole_file_huge(const std::filesystem::path& path,
                                                      std::uint64_t max_size);

// A read-only file read at offsets (thread-safe: pread).
class RandomAccessFile {
public:
  [[nodiscard]] static Result<RandomAccessFile> open(const std::filesystem::path& path);
  std::uint64_t size() const noexcept { return m_size; }
  const std::string& name() const noexcept { return m_name; }
  // Fills `out` from `offset`; a short file is an error.
  [[nodiscard]] Result<void> read_at(std::uint64_t offset, MutableBytes out) const;

private:
  UniqueFd m_fd;
  std::uint64_t m_size = 0;
  std::string m_name;
};

// Writes go to "<dir>/.<name>.tmp-XXXXXX"; commit() fsyncs and renames to
// the final path. Destroyed uncommitted, the temp file is removed, so no
// partial output is ever left under the final name.
class AtomicFile {
public:
  [[nodiscard]] static Result<AtomicFile> create(const std::filesystem::path& final_path);
  ~AtomicFile();
  AtomicFile(AtomicFile&&) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  int fd() const noexcept { return m_fd.get(); }
  const std::filesystem::path& temp_path() const noexcept { return m_temp; }
  // Appends. Every 8 MiB, writeback of what was written is started in the
  // background (sync_file_range), so commit()'s fsync finds little left.
  [[nodiscard]] Result<void> write(Bytes data);
  // Starts the fsync of what is written so far on a thread of its own, for
  // a caller with other work to do before commit(), which waits for it
  // (and syncs again only if more was written since).
  void sync_in_background();
  [[nodiscard]] Result<void> commit();
  // Commits under another name (e.g. a blob named by its digest, known only
  // once everything is written).
  [[nodiscard]] Result<void> commit_as(const std::filesystem::path& final_path);

private:
  AtomicFile() = default;
  UniqueFd m_fd;
  std::filesystem::path m_temp;
  std::filesystem::path m_final;
  bool m_committed = false;
  std::uint64_t m_written = 0; // bytes written so far
  std::uint64_t m_kicked = 0;  // writeback started up to here
  std::uint64_t m_synced = 0;  // sync_in_background() covers up to here
  std::future<int> m_sync;     // sync_in_background()'s errno, 0 on success
};

} // namespace rafs
