// One filesystem entry read from a layer (tar) or a directory, with no
// third-party types: what the tree needs to know about it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "format/error.hpp"
#include "format/xattr.hpp"

namespace rafs::builder {

enum class EntryKind : std::uint8_t { regular, directory, symlink, hardlink, chardev, blockdev, fifo, socket };

struct SourceEntry {
  // Normalized: components joined by '/', no leading '/' or "./", no "." or
  // ".." components; "" is the root.
  std::string path;
  EntryKind kind = EntryKind::regular;
  std::uint32_t mode = 0; // full st_mode (type and permission bits)
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint64_t mtime = 0;
  std::uint32_t mtime_nsec = 0;
  std::uint64_t size = 0;      // regular files
  std::uint32_t rdev_major = 0;
  std::uint32_t rdev_minor = 0;
  std::string link_target; // symlink target (raw), or hard-link target (normalized path)
  std::vector<v5::Xattr> xattrs;
};

// The data of the current regular-file entry, as blocks at file offsets;
// bytes between blocks (holes) are zeros.
class DataReader {
public:
  virtual ~DataReader() = default;
  // Next block: sets `data`/`len` (valid until the next call) and its file
  // `offset`; returns false at the end of the file's data.
  [[nodiscard]] virtual Result<bool> next_block(const std::uint8_t*& data, std::size_t& len,
                                                std::uint64_t& offset) = 0;
  // What keeps the last block's bytes valid while it is held, past the next
  // call (a mapped input file), so they can be used without a copy; null
  // when they are only valid until the next call.
  virtual std::shared_ptr<const void> block_owner() const { return nullptr; }
};

// A stream of entries (tar order, or sorted directory walk).
class Source {
public:
  virtual ~Source() = default;
  // Fills `entry`; returns false at the end. For a regular file, `data()`
  // then reads its contents (before the next call to next()).
  [[nodiscard]] virtual Result<bool> next(SourceEntry& entry) = 0;
  virtual DataReader& data() = 0;
  // The source's path, for error messages.
  virtual std::string name() const { return "source"; }
  // Warnings collected so far (e.g. skipped xattr names); the cli prints them.
  virtual std::vector<std::string> take_warnings() { return {}; }
  // Bytes of input consumed so far (compressed bytes for a compressed layer).
  virtual std::uint64_t bytes_read() const { return 0; }
};

// Normalizes a path from a tar header: strips "./" and "/" prefixes and
// trailing '/', removes "." components. Fails on ".." components (an
// entry must not escape the root) and on empty components in the middle.
[[nodiscard]] Result<std::string> normalize_entry_path(std::string_view raw);

} // namespace rafs::builder
