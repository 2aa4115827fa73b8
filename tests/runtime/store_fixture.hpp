// Shared by the chunk store tests (tests/runtime/store_*_test.cpp): images
// built in the test from tar layers, configs, whole-file reads, and test
// backends wrapping localfs (gated, slowed, counting).
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "builder/image_builder.hpp"
#include "builder/tar_source.hpp"
#include "format/bootstrap.hpp"
#include "runtime/backend_store.hpp"
#include "runtime/blob_backend.hpp"
#include "runtime/chunk_store.hpp"
#include "support/tar_maker.hpp"
#include "support/temp_dir.hpp"

namespace rafs::store_test {

namespace fs = std::filesystem;
using runtime::BlobBackend;
using runtime::ChunkStore;
using runtime::RuntimeConfig;

struct StoreImage {
  std::unique_ptr<test::TempDir> dir;
  std::unique_ptr<v5::Bootstrap> boot;
  fs::path blob_dir;
  std::map<std::string, std::string> files; // "/path" -> contents (regular files)

  fs::path cache_dir() const { return dir->path() / "cache"; }
  std::uint32_t index(const std::string& path) const {
    auto i = boot->lookup(path);
    REQUIRE_MESSAGE(i, path);
    return *i;
  }
};

inline builder::BuildOptions small_chunks(Compressor c = Compressor::zstd) {
  builder::BuildOptions o;
  o.chunk_size = 0x1000;
  o.compressor = c;
  o.threads = 2;
  return o;
}

// Layers (lowest first), one blob each, through one ImageBuilder. Files of
// a later layer replace those of an earlier one (no whiteouts here).
// `prefetch_list` (one path a line) is used with options.prefetch_policy.
inline StoreImage build_image(const std::vector<std::vector<test::TarEntry>>& layers,
                              const builder::BuildOptions& options = small_chunks(),
                              const std::string& prefetch_list = {}) {
  StoreImage img;
  img.dir = std::make_unique<test::TempDir>();
  img.blob_dir = img.dir->path() / "blobs";
  fs::create_directories(img.blob_dir);
  std::vector<std::string> warnings;
  builder::ImageBuilder image(options, builder::PrefetchList::parse(prefetch_list, warnings));
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const fs::path tar = img.dir->path() / ("layer" + std::to_string(i) + ".tar");
    test::write_tar(tar, layers[i]);
    auto source = builder::open_tar_source(tar.string());
    REQUIRE(source);
    auto report = image.add_layer(**source, builder::LayerOutputs{img.blob_dir, {}, {}}, true);
    REQUIRE_MESSAGE(report, (report ? std::string() : report.error().message));
    for (const auto& e : layers[i]) {
      if (e.type == 0100000 && e.hardlink.empty()) {
        img.files["/" + e.path] = e.data;
      }
    }
    for (const auto& e : layers[i]) {
      if (!e.hardlink.empty()) {
        img.files["/" + e.path] = img.files.at("/" + e.hardlink);
      }
    }
  }
  auto built = image.finish();
  REQUIRE(built);
  auto boot = v5::Bootstrap::from_bytes(built->bootstrap, "image.boot");
  REQUIRE_MESSAGE(boot, (boot ? std::string() : boot.error().message));
  img.boot = std::make_unique<v5::Bootstrap>(std::move(*boot));
  return img;
}

// Compressible text of n bytes (varies with seed).
inline std::string text_bytes(std::size_t n, unsigned seed) {
  std::string line = "line " + std::to_string(seed) + ": the quick brown fox, chunk after chunk.\n";
  std::string s;
  while (s.size() < n) {
    s += line;
  }
  s.resize(n);
  return s;
}

// One layer with files of many shapes: multi-chunk incompressible and
// compressible files, exact chunk multiples, tiny and empty files, a
// duplicate (shared chunks), a hard link, a directory tree. Paths start
// with `top` ("" or "name/").
inline std::vector<test::TarEntry> sample_layer(unsigned seed = 1, const std::string& top = "") {
  std::vector<test::TarEntry> entries;
  if (!top.empty()) {
    entries.push_back(test::tar_dir(top.substr(0, top.size() - 1)));
  }
  std::vector<test::TarEntry> rest = {
      test::tar_dir(top + "d"),
      test::tar_file(top + "d/random", test::random_bytes(5 * 0x1000 + 123, seed)),
      test::tar_file(top + "d/text", text_bytes(7 * 0x1000 + 1, seed)),
      test::tar_file(top + "d/exact", test::random_bytes(3 * 0x1000, seed + 100)),
      test::tar_dir(top + "d/e"),
      test::tar_file(top + "d/e/small", "hello"),
      test::tar_file(top + "d/e/empty", ""),
      test::tar_file(top + "d/e/copy", test::random_bytes(5 * 0x1000 + 123, seed)),
      test::tar_file(top + "big", test::random_bytes(40 * 0x1000 + 7, seed + 200)),
      test::tar_hardlink(top + "d/e/link", top + "d/text"),
  };
  entries.insert(entries.end(), rest.begin(), rest.end());
  return entries;
}

inline RuntimeConfig config_for(const StoreImage& img, bool cache) {
  RuntimeConfig c;
  c.blob_dir = img.blob_dir;
  c.cache_enabled = cache;
  c.cache_dir = img.cache_dir();
  c.digest_validate = true;
  return c;
}

// The whole file through read_file, in `piece`-byte reads.
inline std::string read_all(ChunkStore& store, std::uint32_t index, std::size_t piece = 50000) {
  std::string out;
  std::vector<std::uint8_t> buf(piece);
  for (std::uint64_t off = 0;;) {
    auto n = store.read_file(index, off, buf);
    REQUIRE_MESSAGE(n, (n ? std::string() : n.error().message));
    if (*n == 0) {
      return out;
    }
    out.append(reinterpret_cast<const char*>(buf.data()), *n);
    off += *n;
  }
}

// Every regular file of the image compared byte for byte.
inline void check_all_files(ChunkStore& store, const StoreImage& img) {
  for (const auto& [path, data] : img.files) {
    INFO(path);
    CHECK(read_all(store, img.index(path)) == data);
  }
}

// Captures the store's problem lines.
struct LogCapture {
  std::mutex mutex;
  std::vector<std::string> lines;

  runtime::LogSink sink() {
    return [this](const std::string& line) {
      std::lock_guard lock(mutex);
      lines.push_back(line);
    };
  }
  std::size_t count_containing(const std::string& s) {
    std::lock_guard lock(mutex);
    std::size_t n = 0;
    for (const auto& l : lines) {
      n += l.find(s) != std::string::npos ? 1U : 0U;
    }
    return n;
  }
};

// localfs underneath, plus: a count of reads, an optional delay per read,
// and an optional gate that holds every read until opened.
class TestBackend final : public BlobBackend {
public:
  explicit TestBackend(std::unique_ptr<BlobBackend> inner) : m_inner(std::move(inner)) {}

  Result<void> read(std::uint32_t blob, std::uint64_t offset, MutableBytes out) override {
    m_reads.fetch_add(1);
    {
      std::unique_lock lock(m_mutex);
      ++m_arrived;
      m_cv.notify_all();
      m_cv.wait(lock, [&] { return m_open; });
    }
    if (m_delay.count() > 0) {
      std::this_thread::sleep_for(m_delay);
    }
    return m_inner->read(blob, offset, out);
  }
  void readahead(std::uint32_t blob, std::uint64_t offset, std::uint64_t size) override {
    m_readaheads.fetch_add(1);
    m_inner->readahead(blob, offset, size);
  }

  void close_gate() {
    std::lock_guard lock(m_mutex);
    m_open = false;
  }
  void open_gate() {
    std::lock_guard lock(m_mutex);
    m_open = true;
    m_cv.notify_all();
  }
  // Waits until `n` reads have reached the backend (gate closed or not).
  void wait_arrivals(std::size_t n) {
    std::unique_lock lock(m_mutex);
    m_cv.wait(lock, [&] { return m_arrived >= n; });
  }
  void set_delay(std::chrono::milliseconds d) { m_delay = d; }
  std::uint64_t reads() const { return m_reads.load(); }
  std::uint64_t readaheads() const { return m_readaheads.load(); }

private:
  std::unique_ptr<BlobBackend> m_inner;
  std::atomic<std::uint64_t> m_reads{0};
  std::atomic<std::uint64_t> m_readaheads{0};
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::size_t m_arrived = 0;
  bool m_open = true;
  std::chrono::milliseconds m_delay{0};
};

// A store over a TestBackend (returned through `backend`, owned by the store).
inline std::unique_ptr<ChunkStore> open_test_store(const StoreImage& img,
                                                   const RuntimeConfig& config,
                                                   TestBackend*& backend,
                                                   runtime::StoreOptions options = {}) {
  auto local = runtime::open_localfs_backend(*img.boot, config);
  REQUIRE(local);
  auto wrapped = std::make_unique<TestBackend>(std::move(*local));
  backend = wrapped.get();
  auto store = runtime::open_chunk_store(*img.boot, config, std::move(wrapped), std::move(options));
  REQUIRE_MESSAGE(store, (store ? std::string() : store.error().message));
  return std::move(*store);
}

inline std::unique_ptr<ChunkStore> open_store(const StoreImage& img, const RuntimeConfig& config) {
  auto store = runtime::open_chunk_store(*img.boot, config);
  REQUIRE_MESSAGE(store, (store ? std::string() : store.error().message));
  return std::move(*store);
}

// The one blob file of a single-layer image.
inline fs::path only_blob(const StoreImage& img) {
  REQUIRE(img.boot->blobs().size() == 1);
  return img.blob_dir / img.boot->blobs()[0].id;
}

// Distinct chunks (blob, index) of the given files (all when empty).
inline std::size_t distinct_chunks(const v5::Bootstrap& boot,
                                   std::vector<std::uint32_t> files = {}) {
  if (files.empty()) {
    for (std::uint32_t i = 1; i <= boot.inode_count(); ++i) {
      files.push_back(i);
    }
  }
  std::vector<std::uint64_t> keys;
  for (std::uint32_t i : files) {
    for (std::uint32_t k = 0; k < boot.chunk_count(i); ++k) {
      const auto c = boot.chunk(i, k);
      keys.push_back((std::uint64_t{c.blob_index} << 32) | c.index);
    }
  }
  std::sort(keys.begin(), keys.end());
  return static_cast<std::size_t>(std::unique(keys.begin(), keys.end()) - keys.begin());
}

// Polls until the prefetch is done (fails after a minute).
inline void wait_prefetch(const ChunkStore& store) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!store.stats().prefetch_done && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  REQUIRE(store.stats().prefetch_done);
}

} // namespace rafs::store_test
