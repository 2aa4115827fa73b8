// A directory tree read as a Source: lstat, xattrs and hard links (by device
// and inode) from the filesystem, children in sorted order, never following
// symlinks.
#pragma once

#include <filesystem>
#include <memory>

#include "builder/source_entry.hpp"

namespace rafs::builder {

[[nodiscard]] Result<std::unique_ptr<Source>> open_dir_source(const std::filesystem::path& root);

} // namespace rafs::builder
