// The persistent chunk cache: reuse across restarts, crash safety (torn
// records, kill -9), detection of a cache that belongs to something else,
// bad chunks never cached, cache_validate, one process per cache.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "store_fixture.hpp"

using namespace rafs;
using namespace rafs::store_test;

namespace {

fs::path record_file(const fs::path& cache, const std::string& id) {
  return cache / (id + ".rafs-record");
}
fs::path data_file(const fs::path& cache, const std::string& id) {
  return cache / (id + ".rafs-data");
}

void append_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::app);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out);
}

void patch_bytes(const fs::path& p, std::uint64_t offset, const std::string& bytes) {
  std::fstream f(p, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f);
}

// Reads every file through a fresh store and shuts it down: the cache then
// holds every chunk.
void fill_cache(const StoreImage& img, const RuntimeConfig& config) {
  auto store = open_store(img, config);
  check_all_files(*store, img);
  store->shutdown();
}

} // namespace

TEST_SUITE("runtime::ChunkStore cache") {
  TEST_CASE("a reopened store serves every cached chunk without a backend read") {
    StoreImage img = build_image({sample_layer(1), sample_layer(2, "l2/")});
    RuntimeConfig config = config_for(img, true);
    config.cache_dir = img.dir->path() / "not" / "yet" / "there";
    const std::size_t distinct = distinct_chunks(*img.boot);
    {
      auto store = open_store(img, config);
      check_all_files(*store, img);
      CHECK(store->stats().chunks_fetched == distinct);
      SUBCASE("shut down explicitly") { store->shutdown(); }
      SUBCASE("destroyed (the destructor shuts down)") {}
    }
    for (const auto& blob : img.boot->blobs()) {
      CHECK(fs::is_regular_file(record_file(config.cache_dir, blob.id)));
      CHECK(fs::is_regular_file(data_file(config.cache_dir, blob.id)));
    }
    TestBackend* backend = nullptr;
    auto store = open_test_store(img, config, backend);
    check_all_files(*store, img);
    CHECK(backend->reads() == 0);
    CHECK(store->stats().backend_reads == 0);
    CHECK(store->stats().chunks_fetched == 0);
    CHECK(store->stats().cache_hits > 0);
  }

  TEST_CASE("the cache flusher sleeps while nothing is stored, and records a lone chunk within the interval") {
    StoreImage img = build_image({sample_layer(7)});
    RuntimeConfig config = config_for(img, true);
    runtime::StoreOptions options;
    options.commit_batch = 64;
    options.commit_interval = std::chrono::milliseconds(20);
    TestBackend* backend = nullptr;
    auto store = open_test_store(img, config, backend, options);
    std::this_thread::sleep_for(std::chrono::milliseconds(200)); // ten intervals, nothing stored
    CHECK(store->stats().cache_flushes == 0);
    std::vector<std::uint8_t> byte(1);
    REQUIRE(store->read_file(img.index("/d/e/small"), 0, byte)); // one chunk: far from a batch
    CHECK(store->stats().chunks_fetched == 1);
    const fs::path record = record_file(config.cache_dir, img.boot->blobs().front().id);
    auto claims = [&] {
      std::error_code ec;
      const auto size = fs::file_size(record, ec);
      return !ec && size > 104 ? (size - 104) / 8 : 0;
    };
    for (int i = 0; i < 1000 && claims() == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(claims() == 1);
    const std::uint64_t passes = store->stats().cache_flushes;
    CHECK(passes >= 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(200)); // idle again
    CHECK(store->stats().cache_flushes == passes);
  }

  TEST_CASE("torn or garbage entries at the end of the record are ignored, valid claims kept") {
    StoreImage img = build_image({sample_layer()});
    RuntimeConfig config = config_for(img, true);
    fill_cache(img, config);
    const fs::path record = record_file(config.cache_dir, img.boot->blobs()[0].id);
    const auto clean_size = fs::file_size(record);
    std::string tail;
    SUBCASE("a partial entry") { tail = std::string("\x05\x00\x00", 3); }
    SUBCASE("zero-filled entries (size extended, data lost)") { tail = std::string(64, '\0'); }
    SUBCASE("random bytes") { tail = test::random_bytes(77, 9); }
    SUBCASE("a claim of an index the blob does not have") {
      tail = std::string("\xff\xff\x00\x00\x12\x34\x56\x78", 8);
    }
    append_bytes(record, tail);
    LogCapture log;
    TestBackend* backend = nullptr;
    auto store = open_test_store(img, config, backend, {log.sink()});
    check_all_files(*store, img);
    CHECK(backend->reads() == 0);
    CHECK(log.count_containing("cache reset") == 0);
    store->shutdown();
    // Rewritten clean at open: header + one entry per cached chunk.
    CHECK(fs::file_size(record) == clean_size);
  }

  TEST_CASE("a cache that belongs to another blob, or is damaged, is reset, not trusted") {
    StoreImage a = build_image({sample_layer(1)});
    StoreImage b = build_image({sample_layer(2)});
    const std::string id_a = a.boot->blobs()[0].id;
    const std::string id_b = b.boot->blobs()[0].id;
    RuntimeConfig config_a = config_for(a, true);
    fill_cache(a, config_a);
    RuntimeConfig config_b = config_for(b, true);
    fs::create_directories(config_b.cache_dir);
    const fs::path rec = record_file(config_b.cache_dir, id_b);
    const fs::path dat = data_file(config_b.cache_dir, id_b);
    fs::copy_file(record_file(config_a.cache_dir, id_a), rec);
    fs::copy_file(data_file(config_a.cache_dir, id_a), dat);
    SUBCASE("another blob's cache files under this blob's id") {}
    SUBCASE("this blob's cache with a damaged record header") {
      fs::remove(rec);
      fs::remove(dat);
      fill_cache(b, config_b);
      patch_bytes(rec, 20, "\x01");
    }
    SUBCASE("this blob's cache with a data file of the wrong size") {
      fs::remove(rec);
      fs::remove(dat);
      fill_cache(b, config_b);
      fs::resize_file(dat, fs::file_size(dat) - 1);
    }
    SUBCASE("this blob's cache with a record shorter than its header") {
      fs::remove(rec);
      fs::remove(dat);
      fill_cache(b, config_b);
      fs::resize_file(rec, 50);
    }
    LogCapture log;
    TestBackend* backend = nullptr;
    auto store = open_test_store(b, config_b, backend, {log.sink()});
    CHECK(log.count_containing("blob " + id_b + ": cache reset") == 1);
    check_all_files(*store, b);
    CHECK(store->stats().chunks_fetched == distinct_chunks(*b.boot));
    store.reset();
    // The reset cache is good afterwards.
    auto again = open_test_store(b, config_b, backend);
    check_all_files(*again, b);
    CHECK(backend->reads() == 0);
  }

  TEST_CASE(
      "a corrupted chunk fails its file only, is logged and counted once, and is not cached") {
    for (Compressor comp : {Compressor::none, Compressor::zstd}) {
      INFO(compressor_name(comp));
      StoreImage img = build_image({sample_layer()}, small_chunks(comp));
      RuntimeConfig config = config_for(img, true);
      const std::uint32_t victim = img.index("/d/text");
      const v5::ChunkInfo c = img.boot->chunk(victim, 1);
      const fs::path blob = only_blob(img);
      const auto original = test::read_file(blob);
      auto damaged = original;
      damaged[c.compressed_offset + c.compressed_size / 2] ^= 0x5A;
      test::write_file(blob, damaged);

      LogCapture log;
      TestBackend* backend = nullptr;
      auto store = open_test_store(img, config, backend, {log.sink()});
      const std::string where =
          "blob " + img.boot->blobs()[0].id + " chunk " + std::to_string(c.index) + ":";
      std::vector<std::uint8_t> buf(img.files.at("/d/text").size());
      for (int i = 0; i < 3; ++i) {
        auto r = store->read_file(victim, 0, buf);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == Errc::corrupted);
        CHECK(r.error().message.find(where) == 0);
      }
      // The hard link shares the chunk.
      CHECK_FALSE(store->read_file(img.index("/d/e/link"), 0, buf));
      // Other chunks of the same file are fine.
      std::vector<std::uint8_t> head(0x1000);
      auto ok = store->read_file(victim, 0, head);
      REQUIRE(ok);
      CHECK(std::string(reinterpret_cast<const char*>(head.data()), *ok) ==
            img.files.at("/d/text").substr(0, 0x1000));
      for (const auto& [path, data] : img.files) {
        if (path != "/d/text" && path != "/d/e/link") {
          INFO(path);
          CHECK(read_all(*store, img.index(path)) == data);
        }
      }
      CHECK(store->stats().bad_chunks == 1);
      CHECK(log.count_containing(where) == 1);
      // Not cached: once the blob is repaired the chunk comes from the backend.
      test::write_file(blob, original);
      const auto before = backend->reads();
      CHECK(read_all(*store, victim) == img.files.at("/d/text"));
      CHECK(backend->reads() == before + 1);
      store->shutdown();
      store.reset(); // the cache files stay locked while the store lives
      auto again = open_test_store(img, config, backend);
      check_all_files(*again, img);
      CHECK(backend->reads() == 0);
    }
  }

  TEST_CASE("with cache_validate a damaged cached chunk is fetched again") {
    StoreImage img = build_image({sample_layer()});
    RuntimeConfig config = config_for(img, true);
    config.cache_validate = true;
    fill_cache(img, config);
    const v5::ChunkInfo c = img.boot->chunk(img.index("/big"), 2);
    patch_bytes(data_file(config.cache_dir, img.boot->blobs()[0].id), c.uncompressed_offset + 5,
                "garbage");
    LogCapture log;
    TestBackend* backend = nullptr;
    auto store = open_test_store(img, config, backend, {log.sink()});
    check_all_files(*store, img);
    CHECK(backend->reads() == 1);
    CHECK(log.count_containing("cached data does not match") == 1);
    store.reset();
    // Repaired in the cache: no backend read next time.
    auto again = open_test_store(img, config, backend);
    check_all_files(*again, img);
    CHECK(backend->reads() == 0);
  }

  TEST_CASE("a second store on a cache in use by another runs uncached and still reads right") {
    StoreImage img = build_image({sample_layer()});
    RuntimeConfig config = config_for(img, true);
    auto first = open_store(img, config);
    LogCapture log;
    TestBackend* backend = nullptr;
    auto second = open_test_store(img, config, backend, {log.sink()});
    CHECK(log.count_containing("in use by another process") == 1);
    check_all_files(*second, img);
    check_all_files(*first, img);
  }

  TEST_CASE("kill -9 during prefetch: the next store reads every byte right and refetches no "
            "recorded chunk") {
    StoreImage img = build_image({sample_layer(5), sample_layer(6, "l2/")});
    RuntimeConfig config = config_for(img, true);
    config.prefetch.enable = true;
    config.prefetch.threads_count = 2;
    config.prefetch.prefetch_all = true;
    config.prefetch.merging_size = 0x1000;
    config.prefetch.bandwidth_rate = 16 * 0x1000; // ~16 chunks a second: killed midway
    fs::create_directories(config.cache_dir);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      // The child: no doctest here; it prefetches (and reads) until killed.
      runtime::StoreOptions options;
      options.log = [](const std::string&) {};
      options.commit_batch = 1;
      options.commit_interval = std::chrono::milliseconds(5);
      auto store = runtime::open_chunk_store(
          *img.boot, config, std::move(*runtime::open_localfs_backend(*img.boot, config)), options);
      if (!store) {
        ::_exit(2);
      }
      (*store)->start_prefetch({});
      std::vector<std::uint8_t> buf(0x1800);
      for (;;) {
        (void)(*store)->read_file(img.index("/big"), 0x2800, buf);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    // Kill it once both blobs' records hold a few claims.
    std::vector<fs::path> records;
    for (const auto& b : img.boot->blobs()) {
      records.push_back(record_file(config.cache_dir, b.id));
    }
    auto claims = [&] {
      std::uint64_t n = 0;
      for (const auto& r : records) {
        std::error_code ec;
        const auto size = fs::file_size(r, ec);
        n += !ec && size > 104 ? (size - 104) / 8 : 0;
      }
      return n;
    };
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (claims() < 8 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    const std::uint64_t seen = claims();
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    CHECK(WIFSIGNALED(status));
    REQUIRE(seen >= 8);
    const std::size_t distinct = distinct_chunks(*img.boot);
    REQUIRE(seen < distinct); // killed mid-prefetch

    TestBackend* backend = nullptr;
    auto store = open_test_store(img, config, backend);
    check_all_files(*store, img);
    CHECK(store->stats().bad_chunks == 0);
    CHECK(store->stats().chunks_fetched <= distinct - seen);
  }
}
