#include "format/inode_digest.hpp"

namespace rafs::v5 {

Digest expected_inode_digest(const Bootstrap& b, std::uint32_t index) {
  const Inode& n = b.inode(index);
  Hasher h(b.digester());
  if (n.is_reg()) {
    for (std::uint32_t k = 0; k < b.chunk_count(index); ++k) {
      h.update(b.chunk(index, k).block_id);
    }
  } else if (n.is_symlink()) {
    std::string_view t = b.symlink_target(index);
    h.update(Bytes(reinterpret_cast<const std::uint8_t*>(t.data()), t.size()));
  } else if (n.is_dir()) {
    for (std::uint32_t c = b.child_begin(index); c < b.child_end(index); ++c) {
      h.update(b.inode(c).digest);
    }
  }
  return h.finalize();
}

std::vector<DigestMismatch> verify_inode_digests(const Bootstrap& b) {
  std::vector<DigestMismatch> out;
  for (std::uint32_t i = 1; i <= b.inode_count(); ++i) {
    Digest want = expected_inode_digest(b, i);
    if (want != b.inode(i).digest) {
      out.push_back({i, want, b.inode(i).digest});
    }
  }
  return out;
}

} // namespace rafs::v5
