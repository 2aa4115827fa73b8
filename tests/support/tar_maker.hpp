// Tar layers built in code with libarchive's write API, for tests of
// `rafs create`: every entry type, PAX and GNU long names, xattrs, sparse
// maps, large uid/gid, nanosecond mtimes, gzip and zstd filters.
// (GNU tar itself is run through rafs::test::sh.)
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace rafs::test {

enum class TarFormat : std::uint8_t {
  pax,            // full PAX interchange (mtime nsec, xattrs, sparse 1.0)
  pax_restricted, // PAX headers only where ustar cannot hold a value
  gnutar,         // GNU long names (././@LongLink); no xattrs, no sparse
  ustar,
};

enum class TarFilter : std::uint8_t { none, gzip, zstd };

struct TarEntry {
  std::string path;             // written as given (raw bytes)
  std::uint32_t type = 0100000; // S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO
  std::uint32_t perm = 0644;    // permission bits (may include 07000)
  std::int64_t uid = 0;
  std::int64_t gid = 0;
  std::int64_t mtime = 1700000000;
  long mtime_nsec = 0;
  std::string data;      // regular files: the whole contents (holes included)
  std::string symlink;   // symlink target
  std::string hardlink;  // non-empty: a hard-link entry to this path
  std::uint32_t rdev_major = 0;
  std::uint32_t rdev_minor = 0;
  std::vector<std::pair<std::string, std::string>> xattrs; // name, raw value
  // Data extents (offset, length) of a sparse file; empty: not sparse.
  // PAX formats only. `data` still holds every byte (zeros in the holes).
  std::vector<std::pair<std::uint64_t, std::uint64_t>> sparse;

  // Fluent setters for the common extras.
  TarEntry& with_owner(std::int64_t u, std::int64_t g) {
    uid = u;
    gid = g;
    return *this;
  }
  TarEntry& with_mtime(std::int64_t s, long ns = 0) {
    mtime = s;
    mtime_nsec = ns;
    return *this;
  }
  TarEntry& with_xattr(std::string name, std::string value) {
    xattrs.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

TarEntry tar_file(std::string path, std::string data, std::uint32_t perm = 0644);
TarEntry tar_dir(std::string path, std::uint32_t perm = 0755);
TarEntry tar_symlink(std::string path, std::string target);
TarEntry tar_hardlink(std::string path, std::string target);
TarEntry tar_chardev(std::string path, std::uint32_t major, std::uint32_t minor);
TarEntry tar_blockdev(std::string path, std::uint32_t major, std::uint32_t minor);
TarEntry tar_fifo(std::string path);
// A sparse regular file of `size` bytes: `extents` are (offset, bytes) of
// data, everything else is a hole.
TarEntry tar_sparse(std::string path, std::uint64_t size,
                    const std::vector<std::pair<std::uint64_t, std::string>>& extents);

struct TarOptions {
  TarFormat format = TarFormat::pax;
  TarFilter filter = TarFilter::none;
  // false: no padding of the last record to 10240 bytes (the archive ends
  // right after its two zero blocks). Compressed output is never padded.
  bool pad_last_block = true;
};

// The archive's bytes. Throws std::runtime_error when libarchive refuses
// an entry.
std::vector<std::uint8_t> make_tar(const std::vector<TarEntry>& entries, const TarOptions& options = {});
// make_tar() written to a file.
void write_tar(const std::filesystem::path& path, const std::vector<TarEntry>& entries,
               const TarOptions& options = {});

// Deterministic pseudo-random bytes (incompressible test contents).
std::string random_bytes(std::size_t n, std::uint32_t seed);

// `s` as one shell word: in single quotes, inner quotes escaped.
std::string shell_quote(const std::string& s);

} // namespace rafs::test
