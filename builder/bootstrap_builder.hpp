// Turns the finished tree and the blob's chunk records into a v5 bootstrap:
// index assignment (a directory's children get consecutive indexes, then
// each child directory is processed depth first), hard-link inos, nlink,
// sizes, blocks and the inode-digest Merkle tree.
#pragma once

#include <functional>
#include <vector>

#include "builder/file_tree.hpp"
#include "builder/options.hpp"
#include "format/blob_table.hpp"
#include "format/bootstrap_writer.hpp"

namespace rafs::builder {

struct BootstrapInputs {
  const FileTree* tree = nullptr;
  // Chunk record for a slot id (file_offset is set by the builder).
  std::function<v5::ChunkInfo(std::uint32_t slot)> chunk;
  std::vector<v5::BlobInfo> blobs;
};

v5::BootstrapSpec make_bootstrap(const BootstrapInputs& in, const BuildOptions& options);

} // namespace rafs::builder
