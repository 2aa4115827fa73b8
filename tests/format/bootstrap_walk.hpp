// Everything a reader can ask of an opened bootstrap, for the corruption
// sweeps: an image that opened must answer every question in bounds (ASan
// and UBSan watch) with data or an Error, never a crash.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "format/bootstrap.hpp"
#include "format/chunk_reader.hpp"
#include "format/inode_digest.hpp"

namespace rafs::test {

struct WalkResult {
  std::uint64_t sink = 0;         // folded answers, so nothing is optimised away
  std::size_t inconsistent = 0;   // answers that contradict each other (must stay 0)
  std::size_t digest_mismatches = 0;
  // With a reader: each regular file read in full and verified, or its error.
  std::map<std::uint32_t, std::vector<std::uint8_t>> files;
  std::map<std::uint32_t, Error> read_errors;
};

// Files are read only up to this size (a sweep over a real image stays fast).
inline constexpr std::uint64_t k_walk_read_limit = std::uint64_t{1} << 20;

// Lookup of every path, the children of each directory (by index and by
// name), names, symlink targets, xattrs, chunk records, chunks_covering, the
// prefetch table, the blob table and the inode digests; with `reader`, every
// regular file of at most k_walk_read_limit bytes read through it.
inline WalkResult walk(const v5::Bootstrap& b, v5::ChunkReader* reader = nullptr) {
  WalkResult w;
  auto expect = [&w](bool ok) {
    if (!ok) {
      ++w.inconsistent;
    }
  };
  for (std::uint32_t i = 1; i <= b.inode_count(); ++i) {
    const v5::Inode& n = b.inode(i);
    auto found = b.lookup(b.path(i));
    expect(found && *found == i);
    w.sink += b.name(i).size() + b.symlink_target(i).size() + b.ino_index(i) + b.parent_index(i);
    for (const v5::Xattr& x : b.xattrs(i)) {
      w.sink += x.name.size() + x.value.size();
    }
    for (std::uint32_t c = b.child_begin(i); c < b.child_end(i); ++c) {
      expect(b.parent_index(c) == i && b.lookup_child(i, b.name(c)) == c);
    }
    for (std::uint32_t k = 0; k < b.chunk_count(i); ++k) {
      w.sink += b.chunk(i, k).compressed_offset;
    }
    for (std::uint64_t at : {std::uint64_t{0}, n.size / 2, n.size}) {
      auto [first, last] = b.chunks_covering(i, at, b.chunk_size());
      expect(first <= last && last <= b.chunk_count(i));
    }
    if (reader != nullptr && n.is_reg() && n.size <= k_walk_read_limit) {
      std::vector<std::uint8_t> data(n.size);
      if (auto r = reader->read_file(i, 0, data, true); r) {
        w.files.emplace(i, std::move(data));
      } else {
        w.read_errors.emplace(i, r.error());
      }
    }
  }
  for (std::uint32_t ino : b.prefetch_table()) {
    w.sink += b.path(ino).size();
  }
  for (const v5::BlobInfo& blob : b.blobs()) {
    w.sink += blob.id.size() + blob.chunk_count + blob.compressed_size;
  }
  w.digest_mismatches = v5::verify_inode_digests(b).size();
  return w;
}

} // namespace rafs::test
