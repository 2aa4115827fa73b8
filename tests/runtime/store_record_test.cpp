// The cache record file on its own (claims, tombstones, torn tails, headers,
// generations) and the prefetch token bucket.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "format/file.hpp"
#include "runtime/cache_record.hpp"
#include "runtime/rate_limiter.hpp"
#include "support/temp_dir.hpp"

using namespace rafs;
using namespace rafs::runtime;

namespace {

// Three slots: chunk indexes 0, 5 and 9.
BlobLayout layout(std::uint8_t fingerprint_seed = 1) {
  BlobLayout l;
  l.indexes = {0, 5, 9};
  for (std::uint32_t i = 0; i < 3; ++i) {
    ChunkSlot s;
    s.uncompressed_offset = i * 0x1000;
    s.uncompressed_size = 0x1000;
    s.compressed_offset = i * 0x1000;
    s.compressed_size = 0x1000;
    l.slots.push_back(s);
  }
  l.data_size = 3 * 0x1000;
  l.fingerprint.fill(fingerprint_seed);
  return l;
}

struct RecordFile {
  test::TempDir dir;
  std::filesystem::path path = dir / "r";
  UniqueFd fd{::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)};
};

LoadedRecord load(const RecordFile& f, const BlobLayout& l) {
  CacheRecord r(f.fd.get(), f.path.string(), l);
  auto loaded = r.load();
  REQUIRE(loaded);
  return *loaded;
}

void append_raw(const RecordFile& f, const std::string& bytes) {
  const auto end = ::lseek(f.fd.get(), 0, SEEK_END);
  REQUIRE(::pwrite(f.fd.get(), bytes.data(), bytes.size(), end) ==
          static_cast<ssize_t>(bytes.size()));
}

} // namespace

TEST_SUITE("runtime::CacheRecord") {
  TEST_CASE("an empty file is a new cache, and a fresh header claims nothing") {
    RecordFile f;
    const BlobLayout l = layout();
    auto first = load(f, l);
    CHECK_FALSE(first.header_ok);
    CHECK(first.problem == "new cache");
    CacheRecord r(f.fd.get(), f.path.string(), l);
    REQUIRE(r.write_header());
    auto second = load(f, l);
    CHECK(second.header_ok);
    CHECK(second.present == std::vector<std::uint8_t>{0, 0, 0});
  }

  TEST_CASE("claims survive a reload, tombstones undo them, the last entry wins") {
    RecordFile f;
    const BlobLayout l = layout();
    CacheRecord r(f.fd.get(), f.path.string(), l);
    REQUIRE(r.write_header());
    const std::uint32_t a[] = {0, 2};
    const std::uint32_t b[] = {2};
    const std::uint32_t c[] = {1};
    REQUIRE(r.append(a, false));
    REQUIRE(r.append(b, true));
    REQUIRE(r.append(c, false));
    REQUIRE(r.append(c, true));
    REQUIRE(r.append(c, false));
    auto loaded = load(f, l);
    CHECK(loaded.header_ok);
    CHECK(loaded.present == std::vector<std::uint8_t>{1, 1, 0});
    CHECK(loaded.entries == 6);
    CHECK(loaded.bad_entries == 0);
  }

  TEST_CASE("torn and garbage entries are ignored and counted, good ones after them still count") {
    RecordFile f;
    const BlobLayout l = layout();
    CacheRecord r(f.fd.get(), f.path.string(), l);
    REQUIRE(r.write_header());
    const std::uint32_t first[] = {0};
    REQUIRE(r.append(first, false));
    append_raw(f, std::string(16, '\0'));                              // zero-filled blocks
    append_raw(f, std::string("\x05\x00\x00\x00\xde\xad\xbe\xef", 8)); // index 5, wrong check
    append_raw(f, std::string("\x07\x00\x00\x00\x00\x00\x00\x00", 8)); // index 7: no such chunk
    auto loaded = load(f, l);
    CHECK(loaded.present == std::vector<std::uint8_t>{1, 0, 0});
    CHECK(loaded.bad_entries == 4);
    append_raw(f, "xyz"); // a partial entry
    loaded = load(f, l);
    CHECK(loaded.bad_entries == 5);
    // rewrite() drops the bad ones.
    CacheRecord again(f.fd.get(), f.path.string(), l);
    REQUIRE(again.load());
    REQUIRE(again.rewrite(loaded.present));
    loaded = load(f, l);
    CHECK(loaded.present == std::vector<std::uint8_t>{1, 0, 0});
    CHECK(loaded.bad_entries == 0);
    CHECK(std::filesystem::file_size(f.path) == sizeof(CacheRecordHeader) + 8);
  }

  TEST_CASE("entries of an earlier generation never validate after a rewrite or reset") {
    RecordFile f;
    const BlobLayout l = layout();
    CacheRecord r(f.fd.get(), f.path.string(), l);
    REQUIRE(r.write_header());
    const std::uint32_t all[] = {0, 1, 2};
    REQUIRE(r.append(all, false));
    std::string old_entries(24, '\0');
    REQUIRE(::pread(f.fd.get(), old_entries.data(), 24, sizeof(CacheRecordHeader)) == 24);
    REQUIRE(r.rewrite({1, 0, 0}));
    append_raw(f, old_entries); // stale blocks coming back after a crash
    auto loaded = load(f, l);
    CHECK(loaded.present == std::vector<std::uint8_t>{1, 0, 0});
    CHECK(loaded.bad_entries == 3);
    REQUIRE(r.clear());
    REQUIRE(r.write_header());
    append_raw(f, old_entries);
    loaded = load(f, l);
    CHECK(loaded.present == std::vector<std::uint8_t>{0, 0, 0});
  }

  TEST_CASE("a record of another layout, or with a damaged header, is not usable") {
    RecordFile f;
    const BlobLayout l = layout(1);
    CacheRecord r(f.fd.get(), f.path.string(), l);
    REQUIRE(r.write_header());
    CHECK_FALSE(load(f, layout(2)).header_ok);
    BlobLayout bigger = layout(1);
    bigger.data_size += 1;
    CHECK_FALSE(load(f, bigger).header_ok);
    CHECK(load(f, l).header_ok);
    REQUIRE(::pwrite(f.fd.get(), "X", 1, 3) == 1);
    auto loaded = load(f, l);
    CHECK_FALSE(loaded.header_ok);
    CHECK(loaded.problem == "record header is not valid");
  }
}

TEST_SUITE("runtime::RateLimiter") {
  TEST_CASE("N bytes take at least (N - burst) / rate") {
    RateLimiter limiter(200000, 20000);
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 10; ++i) {
      REQUIRE(limiter.acquire(10000));
    }
    const double took =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(took >= (100000.0 - 20000.0) / 200000.0);
  }

  TEST_CASE("a request larger than the bucket is taken in pieces, not refused") {
    RateLimiter limiter(1000000, 1000);
    CHECK(limiter.acquire(50000));
  }

  TEST_CASE("interrupt wakes a waiter at once, and later acquires fail") {
    RateLimiter limiter(1, 1); // a byte a second
    std::atomic<int> result{-1};
    std::thread t([&] { result = limiter.acquire(1000) ? 1 : 0; });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    limiter.interrupt();
    t.join();
    CHECK(result.load() == 0);
    CHECK_FALSE(limiter.acquire(1));
  }

  TEST_CASE("rate 0 never waits") {
    RateLimiter limiter(0, 0);
    CHECK(limiter.acquire(std::uint64_t{1} << 40));
  }
}
