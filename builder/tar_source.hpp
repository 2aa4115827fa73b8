// A tar layer (plain, gzip or zstd, detected from magic bytes) read once,
// as a stream, through libarchive.
#pragma once

#include <memory>
#include <string>

#include "builder/source_entry.hpp"

namespace rafs::builder {

// "-" reads stdin. Returns the source ready for next().
[[nodiscard]] Result<std::unique_ptr<Source>> open_tar_source(const std::string& path);

} // namespace rafs::builder
