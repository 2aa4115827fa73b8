// File-system steps of the OCI layout writer (builder/oci_output.hpp), apart
// so that tests can drive each path: durable writes, adding a blob by link or
// copy, and putting a finished directory in place of another.
#pragma once

#include <filesystem>

#include "format/bytes.hpp"
#include "format/error.hpp"

namespace rafs::builder {

// Writes `data` to `path` (created, or truncated; mode 0644 before umask)
// and fsyncs it.
[[nodiscard]] Result<void> write_file_synced(const std::filesystem::path& path, Bytes data);

// fsync of an existing file or directory (a directory's entries).
[[nodiscard]] Result<void> fsync_path(const std::filesystem::path& path);

enum class Transfer {
  link_or_copy, // a hard link where possible, else a copy
  copy,         // always a copy
};

// Makes `dest` hold the bytes of the regular file `src` (symlinks followed).
// A copy goes through a temporary file beside `dest` (copy_file_range, or
// sendfile where that is refused) and is fsynced and renamed into place, so
// `dest` never holds part of a file. An existing `dest` is kept as it is.
[[nodiscard]] Result<void> add_file(const std::filesystem::path& src,
                                    const std::filesystem::path& dest, Transfer how);

enum class Swap {
  exchange,     // swap atomically (RENAME_EXCHANGE), else as rename_aside
  rename_aside, // rename out aside, rename staging in, restore out on failure
};

// Moves the directory `staging` to `out`, which must be absent or a
// directory (a symlink is refused: Errc::invalid_argument). An existing `out`
// is replaced, and deleted once the new one is in place. Any failure leaves
// `out` as it was. Once `out` is in place nothing fails: out's parent is
// fsynced and the old directory deleted best-effort.
// REQUIRES: staging and out are in the same directory.
[[nodiscard]] Result<void> install_dir(const std::filesystem::path& staging,
                                       const std::filesystem::path& out, Swap how);

} // namespace rafs::builder
