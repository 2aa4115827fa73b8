// Emits a v5 bootstrap from inode records given in index order. The caller
// (the builder) decides the tree: index assignment, parents, child ranges,
// digests, nlink and sizes. This only lays the bytes out:
//   superblock | inode table | prefetch table | blob table | ext blob table |
//   records (inode, name, target, xattrs, chunks), each section 8-aligned.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/blob_table.hpp"
#include "format/chunk_info.hpp"
#include "format/inode.hpp"
#include "format/xattr.hpp"

namespace rafs::v5 {

struct InodeSpec {
  // name_size, symlink_size and the XATTR flag are derived from the fields
  // below; everything else is written as given.
  Inode inode;
  std::string name;
  std::string symlink;
  std::vector<Xattr> xattrs;
  std::vector<ChunkInfo> chunks; // regular files only
};

struct BootstrapSpec {
  std::uint32_t chunk_size = 0x100000;
  std::uint64_t flags = 0;
  std::uint64_t inodes_count = 0;
  std::vector<BlobInfo> blobs;
  bool ext_blob_table = true;
  std::vector<std::uint32_t> prefetch; // inode numbers
  std::vector<InodeSpec> inodes;       // index 1 first
};

std::vector<std::uint8_t> encode_bootstrap(const BootstrapSpec& spec);

} // namespace rafs::v5
