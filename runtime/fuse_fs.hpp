// The read-only filesystem a mount serves: the libfuse low-level callbacks
// over a validated bootstrap (metadata) and a ChunkStore (file data).
//
// - FUSE inode numbers are the image's inode numbers (i_ino): stable across
//   mounts, the root is 1 (FUSE_ROOT_ID), and every link of a hard-link group
//   answers with the ino of its first record, whose index equals that ino.
//   Inodes live as long as the bootstrap, so forget is a no-op.
// - Attributes are the image's: mode, nlink, size, blocks, mtime with
//   nanoseconds (also as atime and ctime), rdev; uid/gid as stored, or the
//   daemon's euid/egid when the superblock lacks EXPLICIT_UID_GID (nydusd's
//   rule for images built with --repeatable). st_blksize is 4096.
// - Entry and attribute timeouts are effectively infinite, negative lookups
//   are cached too, files are opened with keep_cache and directories with
//   cache_readdir: the image never changes. Where the kernel allows it, open
//   and opendir answer ENOSYS once, and later opens never reach the daemon.
// - Every write operation answers EROFS; opening for writing too.
// - xattrs are served when `serve_xattrs` (the image has HAS_XATTR, or the
//   config's enable_xattr); otherwise getxattr/listxattr answer ENOSYS, so
//   the kernel stops asking.
// - A read the store cannot serve (bad chunk, backend error) answers EIO;
//   no exception leaves a callback.
#pragma once

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>

#include "format/bootstrap.hpp"
#include "format/error.hpp"
#include "format/file.hpp"
#include "runtime/chunk_store.hpp"
#include "runtime/wake_latency.hpp"
#include "runtime/wake_spinner.hpp"

struct fuse_lowlevel_ops;

namespace rafs::runtime {

struct FsOptions {
  bool serve_xattrs = false;
  // Non-empty: append each regular file's path, the first time it is opened,
  // to this file (created if missing), one per line, flushed per line.
  std::filesystem::path record_access;
  // Non-null: touched by every request (see wake_spinner.hpp). Must outlive
  // the filesystem.
  WakeSpinner* spinner = nullptr;
  // Non-null: touched by every request (see wake_latency.hpp). Must outlive
  // the filesystem.
  WakeLatencyHold* latency_hold = nullptr;
};

class FuseFs {
public:
  // `boot` and `store` must outlive the filesystem. Fails only when the
  // record_access file cannot be opened.
  [[nodiscard]] static Result<std::unique_ptr<FuseFs>> create(const v5::Bootstrap& boot,
                                                              ChunkStore& store, FsOptions options);
  ~FuseFs();
  FuseFs(const FuseFs&) = delete;
  FuseFs& operator=(const FuseFs&) = delete;

  // The callback table; the session's userdata must be this FuseFs.
  static const fuse_lowlevel_ops& operations();

  const v5::Bootstrap& bootstrap() const noexcept { return m_boot; }
  ChunkStore& store() const noexcept { return m_store; }
  bool serve_xattrs() const noexcept { return m_options.serve_xattrs; }

  // The bootstrap index of a FUSE inode number, if it is one we handed out.
  std::optional<std::uint32_t> index_of(std::uint64_t ino) const noexcept;
  // Attributes of the inode whose record is at `index` (st_ino = its ino).
  struct stat attributes(std::uint32_t index) const noexcept;
  struct statvfs filesystem_stats() const noexcept;
  // Notes the first open of a regular file (when recording accesses).
  void opened(std::uint32_t index);
  bool records_access() const noexcept { return !m_options.record_access.empty(); }
  // A request arrived (keeps the spinner and the wake-latency hold going,
  // where there are).
  void request_arrived() const noexcept {
    if (m_options.spinner != nullptr) {
      m_options.spinner->touch();
    }
    if (m_options.latency_hold != nullptr) {
      m_options.latency_hold->touch();
    }
  }
  // Set at FUSE init: open / opendir may answer ENOSYS (see above).
  void set_zero_message_open(bool files, bool dirs) noexcept {
    m_zero_open.store(files);
    m_zero_opendir.store(dirs);
  }
  bool zero_message_open() const noexcept { return m_zero_open.load(std::memory_order_relaxed); }
  bool zero_message_opendir() const noexcept { return m_zero_opendir.load(std::memory_order_relaxed); }

private:
  FuseFs(const v5::Bootstrap& boot, ChunkStore& store, FsOptions options);

  const v5::Bootstrap& m_boot;
  ChunkStore& m_store;
  FsOptions m_options;
  std::optional<std::uint32_t> m_uid; // reported instead of the stored uid/gid
  std::optional<std::uint32_t> m_gid;
  std::uint64_t m_total_blocks = 0; // 512-byte units, each ino counted once
  // Access recording: one flag per index (first open), one writer at a time.
  std::unique_ptr<std::atomic<bool>[]> m_seen;
  std::mutex m_record_mutex;
  UniqueFd m_record_fd;
  std::atomic<bool> m_zero_open{false};
  std::atomic<bool> m_zero_opendir{false};
};

} // namespace rafs::runtime
