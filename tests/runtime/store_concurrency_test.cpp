// ChunkStore under concurrent readers: every byte right, one backend read
// per chunk however many readers miss on it at once, and adjacent misses of
// one request merged into one backend read.
#include <doctest/doctest.h>

#include <cstring>
#include <random>

#include "store_fixture.hpp"

using namespace rafs;
using namespace rafs::store_test;

namespace {

// 8 threads read random ranges of random files for `duration`; returns the
// number of mismatches (0 expected).
std::size_t hammer(ChunkStore& store, const StoreImage& img, std::chrono::milliseconds duration) {
  std::vector<std::pair<std::uint32_t, const std::string*>> files;
  for (const auto& [path, data] : img.files) {
    files.emplace_back(img.index(path), &data);
  }
  std::atomic<std::size_t> bad{0};
  std::atomic<std::size_t> errors{0};
  const auto until = std::chrono::steady_clock::now() + duration;
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(1234 + t);
      std::vector<std::uint8_t> buf;
      while (std::chrono::steady_clock::now() < until) {
        const auto& [index, data] = files[rng() % files.size()];
        const std::uint64_t off = data->empty() ? 0 : rng() % (data->size() + 10);
        const std::size_t len = rng() % (3 * 0x1000 + 100);
        buf.assign(len, 0xCC);
        auto n = store.read_file(index, off, buf);
        if (!n) {
          errors.fetch_add(1);
          continue;
        }
        const std::string want = off >= data->size() ? std::string() : data->substr(off, len);
        if (want.size() != *n || std::memcmp(buf.data(), want.data(), *n) != 0) {
          bad.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  return bad.load() + errors.load();
}

} // namespace

TEST_SUITE("runtime::ChunkStore concurrency") {
  TEST_CASE("8 threads reading random ranges of random files see every byte right") {
    StoreImage img = build_image({sample_layer(1), sample_layer(2, "l2/")});
    for (bool cache : {false, true}) {
      INFO("cache " << cache);
      auto store = open_store(img, config_for(img, cache));
      CHECK(hammer(*store, img, std::chrono::milliseconds(1500)) == 0);
      CHECK(store->stats().bad_chunks == 0);
    }
  }

  TEST_CASE("8 threads reading while prefetch runs see every byte right") {
    StoreImage img = build_image({sample_layer(3)});
    RuntimeConfig config = config_for(img, true);
    config.prefetch.enable = true;
    config.prefetch.threads_count = 4;
    config.prefetch.prefetch_all = true;
    config.prefetch.merging_size = 3 * 0x1000;
    auto store = open_store(img, config);
    store->start_prefetch({});
    CHECK(hammer(*store, img, std::chrono::milliseconds(1000)) == 0);
    store->shutdown();
  }

  TEST_CASE("concurrent misses on one chunk cause one backend read") {
    StoreImage img = build_image({sample_layer()});
    TestBackend* backend = nullptr;
    auto store = open_test_store(img, config_for(img, true), backend);
    const std::uint32_t big = img.index("/big");
    const std::string want = img.files.at("/big").substr(3 * 0x1000 + 10, 100);
    backend->close_gate();
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&] {
        std::vector<std::uint8_t> buf(100);
        auto n = store->read_file(big, 3 * 0x1000 + 10, buf);
        if (!n || *n != 100 || std::memcmp(buf.data(), want.data(), 100) != 0) {
          wrong.fetch_add(1);
        }
      });
    }
    backend->wait_arrivals(1);
    // Give the other readers time to find the chunk in flight; any that come
    // later find it in the cache, so the count below holds either way.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    backend->open_gate();
    for (auto& t : threads) {
      t.join();
    }
    CHECK(wrong.load() == 0);
    CHECK(backend->reads() == 1);
    CHECK(store->stats().backend_reads == 1);
    CHECK(store->stats().chunks_fetched == 1);
  }

  TEST_CASE("adjacent missing chunks of one request are one backend read, up to amplify_io") {
    StoreImage img = build_image({sample_layer()}, small_chunks(Compressor::none));
    const std::uint32_t big = img.index("/big");
    const std::size_t len = 10 * 0x1000;
    const std::string want = img.files.at("/big").substr(0, len);
    struct Case {
      std::uint64_t amplify;
      std::uint64_t reads;
    };
    for (Case c : {Case{1 << 20, 1}, Case{0, 10}, Case{3 * 0x1000, 4}, Case{0x1000, 10}}) {
      INFO("amplify_io " << c.amplify);
      RuntimeConfig config = config_for(img, false);
      config.amplify_io = c.amplify;
      TestBackend* backend = nullptr;
      auto store = open_test_store(img, config, backend);
      std::vector<std::uint8_t> buf(len);
      auto n = store->read_file(big, 0, buf);
      REQUIRE(n);
      CHECK(std::string(reinterpret_cast<const char*>(buf.data()), *n) == want);
      CHECK(backend->reads() == c.reads);
      CHECK(store->stats().backend_reads == c.reads);
      CHECK(store->stats().backend_bytes == len);
      CHECK(store->stats().chunks_fetched == 10);
    }
  }

  TEST_CASE("a merged read that fails is retried chunk by chunk") {
    StoreImage img = build_image({{test::tar_file("f", test::random_bytes(6 * 0x1000, 5))}},
                                 small_chunks(Compressor::none));
    // Cut the blob inside its 5th chunk: chunks 0-3 are whole.
    fs::resize_file(only_blob(img), 4 * 0x1000 + 100);
    LogCapture log;
    TestBackend* backend = nullptr;
    auto store = open_test_store(img, config_for(img, false), backend, {log.sink()});
    std::vector<std::uint8_t> buf(6 * 0x1000);
    auto r = store->read_file(img.index("/f"), 0, buf);
    REQUIRE_FALSE(r);
    CHECK(store->stats().bad_chunks == 2);
    CHECK(backend->reads() == 1 + 6);
    std::vector<std::uint8_t> head(4 * 0x1000);
    auto ok = store->read_file(img.index("/f"), 0, head);
    REQUIRE(ok);
    CHECK(std::string(reinterpret_cast<const char*>(head.data()), *ok) ==
          img.files.at("/f").substr(0, 4 * 0x1000));
  }
}
