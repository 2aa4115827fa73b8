// The chunk store on upstream's v5 fixtures: every file reads as the format
// library's ChunkReader reads it, cached or not, and the cache is reused.
#include <doctest/doctest.h>

#include "format/chunk_reader.hpp"
#include "store_fixture.hpp"

using namespace rafs;
using namespace rafs::store_test;

TEST_SUITE("runtime::ChunkStore upstream fixtures") {
  TEST_CASE("every file of the repeatable fixtures reads as ChunkReader reads it") {
    SKIP_WITHOUT_FIXTURES();
    for (const char* name : {"sha256-nocompress-repeatable", "blake3-lz4_block-non_repeatable"}) {
      INFO(name);
      auto boot = v5::Bootstrap::open(nydus / "repeatable" / name);
      REQUIRE(boot);
      const fs::path blobs = nydus / "repeatable" / "blobs";
      test::TempDir dir;
      RuntimeConfig config;
      config.blob_dir = blobs;
      config.digest_validate = true;
      config.cache_dir = dir / "cache";
      for (int round = 0; round < 3; ++round) {
        config.cache_enabled = round > 0; // no cache, cache filled, cache reused
        auto store = runtime::open_chunk_store(*boot, config);
        REQUIRE(store);
        v5::ChunkReader reader(*boot, blobs);
        std::size_t files = 0;
        for (std::uint32_t i = 1; i <= boot->inode_count(); ++i) {
          if (!boot->inode(i).is_reg()) {
            continue;
          }
          ++files;
          const std::uint64_t size = boot->inode(i).size;
          std::vector<std::uint8_t> want(size);
          REQUIRE(reader.read_file(i, 0, want, true));
          std::vector<std::uint8_t> got(size + 10);
          auto n = (*store)->read_file(i, 0, got);
          REQUIRE_MESSAGE(n, (n ? std::string() : n.error().message));
          CHECK(*n == size);
          got.resize(*n);
          CHECK_MESSAGE(got == want, boot->path(i));
        }
        CHECK(files > 0);
        const auto stats = (*store)->stats();
        CHECK(stats.bad_chunks == 0);
        if (round == 2) {
          CHECK(stats.backend_reads == 0);
        }
      }
    }
  }
}
