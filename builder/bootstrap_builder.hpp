// Turns the finished tree (chunk records resolved) into a v5 bootstrap:
// index assignment (a directory's children get consecutive indexes, then
// each child directory is processed depth first), hard-link inos, nlink,
// sizes, blocks, the inode-digest Merkle tree, the blob table (only blobs
// some chunk references, in image-wide number order) and the prefetch table.
#pragma once

#include <string>
#include <vector>

#include "builder/file_tree.hpp"
#include "builder/options.hpp"
#include "format/blob_table.hpp"
#include "format/bootstrap_writer.hpp"

namespace rafs::builder {

struct BootstrapInputs {
  const FileTree* tree = nullptr;
  // Every blob of the image, indexed by the image-wide blob number that
  // FileData::chunks carry in blob_index.
  std::vector<v5::BlobInfo> blobs;
  // Normalized paths whose inodes make the prefetch table (fs policy);
  // paths not in the tree are skipped.
  std::vector<std::string> prefetch;
};

struct BootstrapPlan {
  v5::BootstrapSpec spec;
  std::vector<std::uint32_t> blob_numbers; // blob table index -> image-wide number
};

BootstrapPlan make_bootstrap(const BootstrapInputs& in, const BuildOptions& options);

} // namespace rafs::builder
