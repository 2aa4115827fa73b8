// The v5 xattr block, present after an inode's name and symlink target when
// the inode has the XATTR flag:
//   u64 total   (sum over pairs of 4 + name_len + 1 + value_len)
//   per pair:   u32 pair_size (name_len + 1 + value_len), name, NUL, value
//   zero padding to align8(total) - total bytes
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/bytes.hpp"
#include "format/error.hpp"

namespace rafs::v5 {

struct Xattr {
  std::string name;
  std::string value; // raw bytes, may hold NULs

  bool operator==(const Xattr&) const = default;
};

// True for the prefixes RAFS accepts: user., security., trusted.,
// system.posix_acl_access, system.posix_acl_default.
bool xattr_name_allowed(std::string_view name) noexcept;

// The block header's total: the sum over pairs of 4 + name_len + 1 + value_len.
std::uint64_t xattr_total(const std::vector<Xattr>& xattrs) noexcept;

// Encodes pairs in the given order (writers sort by name for reproducibility).
std::vector<std::uint8_t> encode_xattrs(const std::vector<Xattr>& xattrs);

// The block's size on disk, header and padding included, from its first 8
// bytes; fails if it does not fit in `available` bytes.
[[nodiscard]] Result<std::uint64_t> xattr_block_size(Bytes available);

// Parses a whole block (as sized by xattr_block_size).
[[nodiscard]] Result<std::vector<Xattr>> decode_xattrs(Bytes block);

} // namespace rafs::v5
