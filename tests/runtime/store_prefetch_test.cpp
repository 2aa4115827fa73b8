// Prefetch: what it fetches (listed inodes, subtrees, everything), merging,
// readahead, the bandwidth limit (a lower bound) and a prompt shutdown.
#include <doctest/doctest.h>

#include "store_fixture.hpp"

using namespace rafs;
using namespace rafs::store_test;

namespace {

RuntimeConfig prefetch_config(const StoreImage& img, bool cache = true) {
  RuntimeConfig c = config_for(img, cache);
  c.prefetch.enable = true;
  c.prefetch.threads_count = 3;
  c.prefetch.merging_size = 4 * 0x1000;
  c.prefetch.prefetch_all = true;
  return c;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

} // namespace

TEST_SUITE("runtime::ChunkStore prefetch") {
  TEST_CASE(
      "prefetch_all brings every chunk into the cache; a whole read then makes no backend read") {
    StoreImage img = build_image({sample_layer(1), sample_layer(2, "l2/")});
    TestBackend* backend = nullptr;
    auto store = open_test_store(img, prefetch_config(img), backend);
    store->start_prefetch({});
    wait_prefetch(*store);
    CHECK(store->stats().prefetch_chunks == distinct_chunks(*img.boot));
    const auto reads = backend->reads();
    check_all_files(*store, img);
    CHECK(backend->reads() == reads);
    CHECK(store->stats().chunks_fetched == distinct_chunks(*img.boot));
  }

  TEST_CASE("prefetch of listed inodes fetches their chunks only, directories with their subtree") {
    StoreImage img = build_image({sample_layer()});
    RuntimeConfig config = prefetch_config(img);
    config.prefetch.prefetch_all = false;
    TestBackend* backend = nullptr;
    auto store = open_test_store(img, config, backend);
    const std::vector<std::uint32_t> listed = {img.index("/d/exact"), img.index("/d/e")};
    store->start_prefetch(listed);
    wait_prefetch(*store);
    const std::vector<std::uint32_t> files = {img.index("/d/exact"), img.index("/d/e/small"),
                                              img.index("/d/e/copy"), img.index("/d/e/link"),
                                              img.index("/d/e/empty")};
    CHECK(store->stats().prefetch_chunks == distinct_chunks(*img.boot, files));
    const auto reads = backend->reads();
    for (std::uint32_t f : files) {
      CHECK(read_all(*store, f).size() == img.boot->inode(f).size);
    }
    CHECK(backend->reads() == reads);
    CHECK(read_all(*store, img.index("/big")) == img.files.at("/big"));
    CHECK(backend->reads() > reads);
  }

  TEST_CASE("a list holding only the root means everything") {
    StoreImage img = build_image({sample_layer()});
    RuntimeConfig config = prefetch_config(img);
    config.prefetch.prefetch_all = false;
    auto store = open_store(img, config);
    store->start_prefetch({v5::Bootstrap::k_root});
    wait_prefetch(*store);
    CHECK(store->stats().prefetch_chunks == distinct_chunks(*img.boot));
  }

  TEST_CASE("merging_size merges neighbouring chunks into one backend read") {
    StoreImage img = build_image({sample_layer()});
    for (std::uint64_t merging : {std::uint64_t{0}, std::uint64_t{16} << 20}) {
      INFO("merging_size " << merging);
      RuntimeConfig config = prefetch_config(img);
      config.prefetch.threads_count = 1;
      config.prefetch.merging_size = merging;
      config.cache_dir = img.dir->path() / ("cache" + std::to_string(merging));
      TestBackend* backend = nullptr;
      auto store = open_test_store(img, config, backend);
      store->start_prefetch({});
      wait_prefetch(*store);
      // The blob is the chunks back to back: one read holds them all.
      CHECK(backend->reads() == (merging == 0 ? distinct_chunks(*img.boot) : 1));
      check_all_files(*store, img);
    }
  }

  TEST_CASE("prefetch reads ahead each blob's readahead range, with or without a cache") {
    builder::BuildOptions options = small_chunks();
    options.prefetch_policy = builder::PrefetchPolicy::blob;
    StoreImage img = build_image({sample_layer()}, options, "/d/e\n");
    REQUIRE(img.boot->blobs()[0].readahead_size > 0);
    for (bool cache : {false, true}) {
      INFO("cache " << cache);
      RuntimeConfig config = prefetch_config(img, cache);
      config.prefetch.prefetch_all = false;
      config.cache_dir = img.dir->path() / (cache ? "cache1" : "cache0");
      TestBackend* backend = nullptr;
      auto store = open_test_store(img, config, backend);
      store->start_prefetch({});
      wait_prefetch(*store);
      CHECK(backend->readaheads() == 1);
      CHECK(backend->reads() == 0); // nothing listed, nothing fetched
    }
  }

  TEST_CASE("without a cache, or when disabled, prefetch fetches nothing") {
    StoreImage img = build_image({sample_layer()});
    for (bool enabled : {false, true}) {
      RuntimeConfig config = prefetch_config(img, false);
      config.prefetch.enable = enabled;
      TestBackend* backend = nullptr;
      auto store = open_test_store(img, config, backend);
      CHECK(store->stats().prefetch_done);
      store->start_prefetch({v5::Bootstrap::k_root});
      wait_prefetch(*store);
      CHECK(backend->reads() == 0);
      CHECK(store->stats().prefetch_chunks == 0);
    }
  }

  TEST_CASE("bandwidth_rate: prefetching N bytes takes at least (N - one bucket) / rate") {
    StoreImage img = build_image({{test::tar_file("f", test::random_bytes(48 * 0x1000, 4))}},
                                 small_chunks(Compressor::none));
    RuntimeConfig config = prefetch_config(img);
    const std::uint64_t rate = 128 * 1024;
    config.prefetch.bandwidth_rate = rate;
    auto store = open_store(img, config);
    const auto start = std::chrono::steady_clock::now();
    store->start_prefetch({});
    wait_prefetch(*store);
    const double elapsed = seconds_since(start);
    const auto bytes = static_cast<double>(store->stats().backend_bytes);
    const double bucket = std::max(0x1000 * 1.0, static_cast<double>(rate) / 10);
    CHECK(store->stats().prefetch_chunks == 48);
    CHECK(elapsed >= (bytes - bucket) / static_cast<double>(rate));
  }

  TEST_CASE("a rate below the chunk size is raised to it") {
    StoreImage img = build_image({{test::tar_file("f", test::random_bytes(4 * 0x1000, 4))}},
                                 small_chunks(Compressor::none));
    RuntimeConfig config = prefetch_config(img);
    config.prefetch.bandwidth_rate = 1; // one byte a second would take hours
    config.prefetch.merging_size = 0;
    auto store = open_store(img, config);
    store->start_prefetch({});
    wait_prefetch(*store); // about 3 s at one chunk a second
    CHECK(store->stats().prefetch_chunks == 4);
  }

  TEST_CASE("shutdown during a slow rate-limited prefetch returns promptly and stops the workers") {
    StoreImage img = build_image({{test::tar_file("f", test::random_bytes(64 * 0x1000, 4))}},
                                 small_chunks(Compressor::none));
    RuntimeConfig config = prefetch_config(img);
    config.prefetch.bandwidth_rate = 0x1000; // a chunk a second: about a minute in all
    config.prefetch.merging_size = 0;
    TestBackend* backend = nullptr;
    auto store = open_test_store(img, config, backend);
    store->start_prefetch({});
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const auto start = std::chrono::steady_clock::now();
    store->shutdown();
    const double took = seconds_since(start);
    CHECK(took < 5.0); // generous: the whole prefetch would take a minute
    CHECK(store->stats().prefetch_done);
    const auto reads = backend->reads();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK(backend->reads() == reads);
    store->shutdown(); // idempotent
    // Reads still work after shutdown.
    CHECK(read_all(*store, img.index("/f")) == img.files.at("/f"));
  }
}
