#include "support/tiny_image.hpp"

#include <stdexcept>

#include "format/codec.hpp"
#include "format/inode.hpp"
#include "format/layout.hpp"
#include "format/superblock.hpp"
#include "support/temp_dir.hpp"

namespace rafs::test {

namespace {

using Buf = std::vector<std::uint8_t>;

// Bytes lz4 cannot shrink (a 64-bit LCG's high byte).
Buf noise(std::size_t n, std::uint64_t seed) {
  Buf out(n);
  std::uint64_t x = seed;
  for (std::size_t i = 0; i < n; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    out[i] = static_cast<std::uint8_t>(x >> 56);
  }
  return out;
}

// Bytes lz4 shrinks a lot.
Buf text(std::size_t n) {
  static const std::string k_line = "RAFS v5 tiny image, file /one, a compressible line.\n";
  Buf out(n);
  for (std::size_t i = 0; i < n; ++i) {
    out[i] = static_cast<std::uint8_t>(k_line[i % k_line.size()]);
  }
  return out;
}

v5::InodeSpec node(std::uint32_t index, std::uint64_t parent, std::uint32_t mode, std::string name) {
  v5::InodeSpec s;
  s.name = std::move(name);
  s.inode.ino = index;
  s.inode.parent = parent;
  s.inode.mode = mode;
  s.inode.nlink = 1;
  s.inode.uid = 1000;
  s.inode.gid = 100;
  s.inode.mtime = 1700000000ULL + index;
  s.inode.mtime_nsec = index * 1000;
  return s;
}

void finish_blocks(v5::InodeSpec& s) {
  s.inode.blocks = v5::blocks_for(s.inode.mode, s.inode.size, v5::xattr_total(s.xattrs));
}

Digest dir_digest(const v5::BootstrapSpec& spec, const v5::Inode& dir, DigestAlgo algo) {
  Hasher h(algo);
  if (dir.child_count > 0) {
    for (std::uint32_t c = dir.child_index; c < dir.child_index + dir.child_count; ++c) {
      h.update(spec.inodes.at(c - 1).inode.digest);
    }
  }
  return h.finalize();
}

} // namespace

void TinyImage::write_blobs(const std::filesystem::path& dir) const {
  for (std::size_t i = 0; i < blob_data.size(); ++i) {
    write_file(dir / spec.blobs.at(i).id, blob_data[i]);
  }
}

void fill_inode_digests(v5::BootstrapSpec& spec) {
  const DigestAlgo algo = v5::digester_of(spec.flags);
  for (std::size_t i = spec.inodes.size(); i-- > 0;) {
    v5::InodeSpec& s = spec.inodes[i];
    const std::uint32_t type = s.inode.mode & 0170000;
    if (type == 0040000) {
      s.inode.digest = dir_digest(spec, s.inode, algo);
    } else if (type == 0100000) {
      Hasher h(algo);
      for (const auto& c : s.chunks) {
        h.update(c.block_id);
      }
      s.inode.digest = h.finalize();
    } else if (type == 0120000) {
      s.inode.digest = digest_of(
          algo, Bytes(reinterpret_cast<const std::uint8_t*>(s.symlink.data()), s.symlink.size()));
    } else {
      s.inode.digest = digest_of(algo, Bytes{});
    }
  }
}

void fill_dir_digests(v5::BootstrapSpec& spec) {
  const DigestAlgo algo = v5::digester_of(spec.flags);
  for (std::size_t i = spec.inodes.size(); i-- > 0;) {
    v5::InodeSpec& s = spec.inodes[i];
    if ((s.inode.mode & 0170000) == 0040000) {
      s.inode.digest = dir_digest(spec, s.inode, algo);
    }
  }
}

TinyImage make_tiny_image() {
  using namespace tiny;
  TinyImage img;
  v5::BootstrapSpec& spec = img.spec;
  spec.chunk_size = k_chunk_size;
  spec.flags = v5::k_sb_compression_lz4 | v5::k_sb_hash_blake3 | v5::k_sb_explicit_uid_gid |
               v5::k_sb_has_xattr;
  spec.inodes_count = 10; // 11 records, the hard-link pair counted once, root included
  spec.prefetch = {k_one, k_dir, k_two};
  const DigestAlgo algo = DigestAlgo::blake3;

  // File contents and blobs. Blob 0: hard (raw) then one (lz4). Blob 1: two
  // (two raw chunks).
  const Buf hard = noise(100, 6);
  const Buf one = text(0x1000);
  const Buf two = noise(0x1001, 9);
  img.contents["/hard"] = hard;
  img.contents["/dir/hard2"] = hard;
  img.contents["/one"] = one;
  img.contents["/two"] = two;
  img.contents["/empty"] = {};

  Buf one_lz4;
  ChunkCompressor lz4(Compressor::lz4_block, 0);
  auto shrunk = lz4.compress(one, one_lz4);
  if (!shrunk || !*shrunk) {
    throw std::runtime_error("tiny image: lz4 did not shrink /one");
  }

  Buf blob0 = hard;
  blob0.insert(blob0.end(), one_lz4.begin(), one_lz4.end());
  Buf blob1 = two;

  v5::ChunkInfo hard_chunk;
  hard_chunk.block_id = digest_of(algo, hard);
  hard_chunk.blob_index = 0;
  hard_chunk.compressed_size = 100;
  hard_chunk.uncompressed_size = 100;
  hard_chunk.index = 0;

  v5::ChunkInfo one_chunk;
  one_chunk.block_id = digest_of(algo, one);
  one_chunk.blob_index = 0;
  one_chunk.flags = v5::k_chunk_compressed;
  one_chunk.compressed_size = static_cast<std::uint32_t>(one_lz4.size());
  one_chunk.uncompressed_size = 0x1000;
  one_chunk.compressed_offset = 100;
  one_chunk.uncompressed_offset = 100;
  one_chunk.index = 1;

  v5::ChunkInfo two0;
  two0.block_id = digest_of(algo, Bytes(two).first(0x1000));
  two0.blob_index = 1;
  two0.compressed_size = 0x1000;
  two0.uncompressed_size = 0x1000;
  two0.index = 0;

  v5::ChunkInfo two1;
  two1.block_id = digest_of(algo, Bytes(two).subspan(0x1000));
  two1.blob_index = 1;
  two1.compressed_size = 1;
  two1.uncompressed_size = 1;
  two1.compressed_offset = 0x1000;
  two1.uncompressed_offset = 0x1000;
  two1.file_offset = 0x1000;
  two1.index = 1;

  v5::BlobInfo b0;
  b0.id = to_hex(digest_of(DigestAlgo::sha256, blob0));
  b0.chunk_count = 2;
  b0.features = v5::k_blob_cap_tar_toc;
  b0.uncompressed_size = 100 + 0x1000;
  b0.compressed_size = blob0.size();
  v5::BlobInfo b1;
  b1.id = to_hex(digest_of(DigestAlgo::sha256, blob1));
  b1.chunk_count = 2;
  b1.features = v5::k_blob_cap_tar_toc;
  b1.uncompressed_size = 0x1001;
  b1.compressed_size = blob1.size();
  spec.blobs = {b0, b1};
  img.blob_data = {std::move(blob0), std::move(blob1)};

  // Inodes, in index order.
  v5::InodeSpec root = node(k_root, 0, k_mode_dir, "/");
  root.inode.uid = 0;
  root.inode.gid = 0;
  root.inode.mtime = 0;
  root.inode.mtime_nsec = 0;
  root.inode.size = 4096;
  root.inode.nlink = 3; // 2 + /dir
  root.inode.child_index = 2;
  root.inode.child_count = 8;

  v5::InodeSpec chr = node(k_chr, k_root, k_mode_chr, "chr");
  chr.inode.rdev = 0x103; // makedev(1, 3)

  v5::InodeSpec dir = node(k_dir, k_root, k_mode_dir, "dir");
  dir.inode.size = 4096;
  dir.inode.nlink = 3; // 2 + /dir/sub
  dir.inode.child_index = 10;
  dir.inode.child_count = 2;
  dir.xattrs = {{"trusted.overlay.opaque", "y"}, {"user.dir", std::string("a\0b", 3)}};

  v5::InodeSpec empty = node(k_empty, k_root, k_mode_file, "empty");

  v5::InodeSpec fifo = node(k_fifo, k_root, k_mode_fifo, "fifo");

  v5::InodeSpec hard_node = node(k_hard, k_root, k_mode_file, "hard");
  hard_node.inode.size = 100;
  hard_node.inode.nlink = 2;
  hard_node.inode.child_count = 1;
  hard_node.chunks = {hard_chunk};

  v5::InodeSpec link = node(k_link, k_root, k_mode_link, "link");
  link.symlink = "one";
  link.inode.size = 3;
  link.inode.flags = v5::k_inode_symlink;

  v5::InodeSpec one_node = node(k_one, k_root, k_mode_file, "one");
  one_node.inode.size = 0x1000;
  one_node.inode.child_count = 1;
  one_node.chunks = {one_chunk};
  one_node.xattrs = {{"user.x", "hello"}};

  v5::InodeSpec two_node = node(k_two, k_root, k_mode_exec, "two");
  two_node.inode.size = 0x1001;
  two_node.inode.child_count = 2;
  two_node.chunks = {two0, two1};

  v5::InodeSpec hard2 = hard_node;
  hard2.name = "hard2";
  hard2.inode.parent = k_dir;
  hard2.inode.ino = k_hard; // the first link's index

  v5::InodeSpec sub = node(k_sub, k_dir, k_mode_sub, "sub");
  sub.inode.size = 4096;
  sub.inode.nlink = 2;
  sub.inode.child_index = 12; // the next index when it was processed
  sub.inode.child_count = 0;

  spec.inodes = {root, chr, dir, empty, fifo, hard_node, link, one_node, two_node, hard2, sub};
  for (auto& s : spec.inodes) {
    finish_blocks(s);
  }
  fill_inode_digests(spec);
  return img;
}

} // namespace rafs::test
