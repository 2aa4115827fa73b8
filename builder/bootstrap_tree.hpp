// A bootstrap read back into a FileTree (rafs merge): every inode as an
// entry, hard links sharing their data, chunk records with blob_index
// turned into image-wide blob numbers. Directories with exactly the
// attributes the builder gives a directory it had to imply (0755, root,
// mtime 0, no xattrs) are marked implicit, so that merging keeps a lower
// directory's attributes under them.
#pragma once

#include <cstdint>
#include <vector>

#include "builder/file_tree.hpp"
#include "format/bootstrap.hpp"

namespace rafs::builder {

// `blob_numbers[i]`: the image-wide number of the bootstrap's blob i.
[[nodiscard]] Result<FileTree> tree_from_bootstrap(const v5::Bootstrap& b,
                                                   const std::vector<std::uint32_t>& blob_numbers);

} // namespace rafs::builder
