// Inode digests: the Merkle rules of RAFS v5.
//   regular file  H(block_id[0] || block_id[1] || ...), H("") when empty
//   symlink       H(target bytes)
//   directory     H(child digests in child-index order), H("") when empty
//   other         H("")
#pragma once

#include <cstdint>
#include <vector>

#include "format/bootstrap.hpp"

namespace rafs::v5 {

// The digest the index's record should carry, from its own chunk records,
// target or children's stored digests (so each mismatch is reported where
// it is, not in every ancestor).
Digest expected_inode_digest(const Bootstrap& b, std::uint32_t index);

struct DigestMismatch {
  std::uint32_t index = 0;
  Digest expected{};
  Digest found{};
};

std::vector<DigestMismatch> verify_inode_digests(const Bootstrap& b);

} // namespace rafs::v5
