// The bytes of the bootstrap layer of a Nydus OCI image: a tar holding one
// file, gzip'd. Both are written here rather than with libarchive so that the
// bytes depend on nothing but the input (and zlib's deflate).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "format/bytes.hpp"
#include "format/error.hpp"

namespace rafs::builder {

// A POSIX ustar archive of one regular file `name` holding `data`: mode 0644,
// uid/gid 0, mtime 0, empty owner names; the data padded to 512 bytes, then
// the two zero blocks that end an archive and no record padding.
// Errc::invalid_argument if `name` is empty or over 100 bytes;
// Errc::overflow if `data` is 8 GiB or more (ustar's 11 octal digits).
[[nodiscard]] Result<std::vector<std::uint8_t>> ustar_single_file(std::string_view name,
                                                                  Bytes data);

// RFC 1952 gzip of `data` in one member: deflate level 6, a 10-byte header
// with mtime 0, no name and OS 255 ("unknown"), as Go's compress/gzip writes
// by default. Errc::compression if zlib fails.
[[nodiscard]] Result<std::vector<std::uint8_t>> gzip_deterministic(Bytes data);

} // namespace rafs::builder
