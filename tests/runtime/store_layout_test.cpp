// The per-blob chunk layout the cache and prefetch work on.
#include <doctest/doctest.h>

#include "runtime/chunk_cache_layout.hpp"
#include "store_fixture.hpp"

using namespace rafs;
using namespace rafs::store_test;

TEST_SUITE("runtime::BlobLayout") {
  TEST_CASE("each distinct chunk gets one slot, slots ordered by index and by offset") {
    StoreImage img = build_image({sample_layer(1), sample_layer(2, "l2/")});
    auto layouts = runtime::build_blob_layouts(*img.boot);
    REQUIRE(layouts.size() == 2);
    std::size_t total = 0;
    for (std::uint32_t b = 0; b < 2; ++b) {
      const auto& l = layouts[b];
      CHECK(l.consistent);
      CHECK(std::is_sorted(l.indexes.begin(), l.indexes.end()));
      CHECK(l.by_offset.size() == l.slots.size());
      for (std::size_t i = 1; i < l.by_offset.size(); ++i) {
        CHECK(l.slots[l.by_offset[i - 1]].compressed_offset <
              l.slots[l.by_offset[i]].compressed_offset);
      }
      CHECK(l.data_size == img.boot->blobs()[b].uncompressed_size);
      total += l.slots.size();
      for (std::uint32_t s = 0; s < l.slots.size(); ++s) {
        CHECK(l.slot_of(l.indexes[s]) == s);
        CHECK(l.chunk(b, s).index == l.indexes[s]);
      }
      CHECK(l.slot_of(1U << 30) == -1);
    }
    CHECK(total == distinct_chunks(*img.boot));
    CHECK(layouts[0].fingerprint != layouts[1].fingerprint);
    CHECK(runtime::build_blob_layouts(*img.boot)[0].fingerprint == layouts[0].fingerprint);
  }
}
