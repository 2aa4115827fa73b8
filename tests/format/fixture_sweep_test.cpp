// Every byte of a real upstream bootstrap flipped, one at a time: opening
// either fails with an error, or every accessor stays in bounds.
#include <doctest/doctest.h>

#include "format/bootstrap.hpp"
#include "format/bootstrap_walk.hpp"
#include "support/temp_dir.hpp"

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
    std::size_t inconsistent = 0;
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
        const rafs::test::WalkResult w = rafs::test::walk(*b);
        inconsistent += w.inconsistent;
        digest_caught += w.digest_mismatches == 0 ? 0u : 1u;
      }
    }
    MESSAGE("opened " << opened << ", rejected " << rejected << ", digest mismatches " << digest_caught);
    CHECK(opened + rejected == 2 * good.size());
    CHECK(inconsistent == 0);
    // Every byte of the reserved superblock area (8112 bytes) must be caught.
    CHECK(rejected >= 2 * 8112);
  }
}
