// Leftovers of killed runs. rafs writes every output under a temporary name
// beside it and renames it into place when complete (format/file.hpp's
// AtomicFile: ".<name>.tmp-XXXXXX"; the OCI layout's staging directory
// ".<name>.tmp-XXXXXX" and the replaced one ".<name>.old-XXXXXX"; a scratch
// file ".rafs-scratch-XXXXXX"), so a SIGKILL never leaves part of a file at
// a final name, but it does leave those temporaries.
//
// Every rafs run holds a shared flock(2) on each directory it writes into,
// until it exits (the kernel drops it when the process dies, however it
// dies). A run that gets that lock exclusively first knows that no other
// rafs run is writing there, so the temporaries it finds of the names it is
// about to write are a killed run's: it removes them, then holds the lock
// shared like everyone else. Only names of exactly those patterns are ever
// removed, and only a regular file (or, for a staging directory, a
// directory), never what a symlink points to.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "format/file.hpp"

namespace rafs::builder {

class OutputDirs {
public:
  // A file written through a temporary file beside it.
  void add_file(const std::filesystem::path& path);
  // A directory built under a staging name beside it (an OCI layout).
  void add_dir(const std::filesystem::path& path);
  // A directory of blobs (and bootstraps) named by their sha256.
  void add_blob_dir(const std::filesystem::path& dir);

  // Locks every directory added (shared, until this object goes), removing
  // the stale temporaries where no other run holds a lock. Best effort: a
  // directory that cannot be opened or locked is skipped (writing there
  // fails later, with the error that matters). May be called again for
  // directories added since; one this object already holds is locked again
  // but not cleaned up (that needs the lock exclusively).
  void claim();

private:
  struct Pattern {
    std::string prefix; // the name up to the 6 random characters
    bool directory = false;
    bool digest_name = false; // ".<64 hex digits>.tmp-": any digest, prefix unused
  };
  static bool matches(const Pattern& p, std::string_view name);
  static void remove_stale(int dir_fd, const std::filesystem::path& dir,
                           const std::vector<Pattern>& patterns);

  std::vector<std::pair<std::filesystem::path, Pattern>> m_wanted;
  std::vector<UniqueFd> m_locks;
};

} // namespace rafs::builder
