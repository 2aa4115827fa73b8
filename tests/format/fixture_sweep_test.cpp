// Every byte of a real upstream bootstrap flipped, one at a time: opening
// either fails with an error, or every accessor stays in bounds.
#include <doctest/doctest.h>

#include "format/bootstrap.hpp"
#include "format/inode_digest.hpp"
#include "support/temp_dir.hpp"

namespace {

// Touches everything a reader can ask for; returns a value so nothing is
// optimised away.
std::uint64_t walk(const rafs::v5::Bootstrap& b) {
  std::uint64_t acc = 0;
  for (std::uint32_t i = 1; i <= b.inode_count(); ++i) {
    const std::string p = b.path(i);
    auto found = b.lookup(p);
    acc += found ? *found : 0;
    acc += b.name(i).size() + b.symlink_target(i).size() + b.xattrs(i).size();
    acc += b.ino_index(i) + b.parent_index(i);
    for (std::uint32_t k = 0; k < b.chunk_count(i); ++k) {
      acc += b.chunk(i, k).compressed_offset;
    }
    auto [first, last] = b.chunks_covering(i, b.inode(i).size / 2, 4096);
    acc += first + last;
  }
  for (std::uint32_t ino : b.prefetch_table()) {
    acc += b.path(ino).size();
  }
  acc += rafs::v5::verify_inode_digests(b).size();
  return acc;
}

} // namespace

TEST_SUITE("format::Bootstrap corruption") {
  TEST_CASE("each byte of the upstream sha256 bootstrap inverted: open fails cleanly or stays in bounds") {
    const auto nydus = rafs::test::nydus_fixtures();
    if (nydus.empty()) {
      MESSAGE("skipped: ../shared/testdata/nydus is absent");
      return;
    }
    const auto good = rafs::test::read_file(nydus / "repeatable" / "sha256-nocompress-repeatable");
    REQUIRE(rafs::v5::Bootstrap::from_bytes(good, "good"));
    std::size_t opened = 0;
    std::size_t rejected = 0;
    std::size_t digest_caught = 0;
    for (std::size_t off = 0; off < good.size(); ++off) {
      for (std::uint8_t mask : {std::uint8_t{0xFF}, std::uint8_t{0x01}}) {
        auto bytes = good;
        bytes[off] ^= mask;
        auto b = rafs::v5::Bootstrap::from_bytes(std::move(bytes), "flipped");
        if (!b) {
          CHECK(b.error().message.rfind("flipped: ", 0) == 0);
          ++rejected;
          continue;
        }
        ++opened;
        walk(*b);
        digest_caught += rafs::v5::verify_inode_digests(*b).empty() ? 0u : 1u;
      }
    }
    MESSAGE("opened " << opened << ", rejected " << rejected << ", digest mismatches " << digest_caught);
    CHECK(opened + rejected == 2 * good.size());
    // Every byte of the reserved superblock area (8112 bytes) must be caught.
    CHECK(rejected >= 2 * 8112);
  }
}
