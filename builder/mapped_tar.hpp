// A plain (uncompressed) tar file handed to libarchive as memory-mapped
// windows: no read() copy and no read-ahead thread. The kernel reads ahead
// of the window being parsed (POSIX_FADV_WILLNEED on the next one).
#pragma once

#include <memory>
#include <string>

#include "builder/read_ahead.hpp"

namespace rafs::builder {

// Null (not an error) when `path` is not a regular file or its data is
// compressed: the caller reads it as a stream instead. A file that shrinks
// while it is read fails at the next window ("NAME: file shrank while
// being read").
// `window`: bytes mapped at a time (rounded down to whole pages); the
// chunks of a window keep it mapped until they are written.
inline constexpr std::size_t k_map_window = 8 << 20;
[[nodiscard]] Result<std::unique_ptr<ReadAheadReader>> map_plain_tar(const std::string& path,
                                                                    std::size_t window = k_map_window);

} // namespace rafs::builder
