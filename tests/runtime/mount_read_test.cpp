// Reading through `rafs mount`: many threads reading random ranges get
// every byte right; a corrupted chunk fails only its own reads, with EIO,
// and the daemon keeps serving.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <random>

#include <nlohmann/json.hpp>

#include "runtime/mount_helpers.hpp"

namespace {

using namespace rafs::test;

constexpr std::size_t k_chunk = 0x10000;

// Files of many sizes around the chunk size (and holes), by path.
std::map<std::string, std::string> sample_files() {
  std::map<std::string, std::string> files;
  const std::size_t sizes[] = {0, 1, 100, k_chunk - 1, k_chunk, k_chunk + 1, 3 * k_chunk + 77,
                               10 * k_chunk, 1 << 20, (1 << 20) + 12345, 37 * k_chunk + 1};
  std::uint32_t seed = 100;
  for (std::size_t size : sizes) {
    files["f/" + std::to_string(size)] = random_bytes(size, seed++);
  }
  // A compressible file and one with a long zero run (a hole chunk).
  std::string text;
  while (text.size() < 5 * k_chunk) {
    text += "compressible line " + std::to_string(text.size()) + "\n";
  }
  files["text"] = text;
  files["zeros-inside"] = random_bytes(k_chunk, 7) + std::string(4 * k_chunk, '\0') + random_bytes(100, 8);
  return files;
}

std::vector<TarEntry> entries_of(const std::map<std::string, std::string>& files) {
  std::vector<TarEntry> e{tar_dir("./", 0755), tar_dir("f", 0755)};
  for (const auto& [path, data] : files) {
    e.push_back(tar_file(path, data));
  }
  return e;
}

void create_image(const TempDir& tmp, const std::map<std::string, std::string>& files) {
  write_tar(tmp / "layer.tar", entries_of(files));
  fs::create_directories(tmp / "blobs");
  RunResult r = run_rafs({"create", (tmp / "layer.tar").string(), "-B", (tmp / "img.boot").string(), "-D",
                          (tmp / "blobs").string(), "--chunk-size", "0x10000"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

// pread of [off, off+len) through the mount; errno (0 on success). With
// `uncached`, the file's pages are dropped first, so the read reaches the
// daemon instead of the page cache.
int read_range(const fs::path& p, std::uint64_t off, std::size_t len, std::string& out, bool uncached = false) {
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return errno;
  }
  if (uncached) {
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  }
  out.assign(len, '\0');
  std::size_t done = 0;
  int err = 0;
  while (done < len) {
    const ssize_t n = ::pread(fd, out.data() + done, len - done, static_cast<off_t>(off + done));
    if (n < 0) {
      err = errno;
      break;
    }
    if (n == 0) {
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  out.resize(done);
  return err;
}

std::string cfg_json(const fs::path& blobs, const fs::path& cache, bool digest_validate) {
  return R"({"mode": "direct", "digest_validate": )" + std::string(digest_validate ? "true" : "false") +
         R"(, "device": {"backend": {"type": "localfs", "config": {"dir": ")" + blobs.string() +
         R"("}}, "cache": {"type": "blobcache", "config": {"work_dir": ")" + cache.string() + R"("}}}})";
}

} // namespace

TEST_SUITE("runtime::mount read") {
  TEST_CASE("8 threads reading random ranges of random files for 10 s get every byte right") {
    TempDir tmp;
    const auto files = sample_files();
    create_image(tmp, files);
    write_text(tmp / "cfg.json", cfg_json(tmp / "blobs", tmp / "cache", true));
    Mount m(tmp / "mnt");
    m.start_ok(tmp / "img.boot", {"--config", (tmp / "cfg.json").string(), "--metrics", (tmp / "m.json").string()});

    std::vector<std::pair<std::string, std::string>> list(files.begin(), files.end());
    std::atomic<std::uint64_t> reads{0};
    std::mutex errors_mutex;
    std::vector<std::string> errors;
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937_64 rng(t * 7919 + 1);
        std::string got;
        while (std::chrono::steady_clock::now() < end) {
          const auto& [path, data] = list[rng() % list.size()];
          const std::uint64_t off = data.empty() ? 0 : rng() % (data.size() + 10);
          const std::size_t len = static_cast<std::size_t>(rng() % (3 * k_chunk)) + 1;
          const int err = read_range(m / path, off, len, got, rng() % 2 == 0);
          const std::string want = off >= data.size() ? std::string() : data.substr(off, len);
          if (err != 0 || got != want) {
            const std::lock_guard lock(errors_mutex);
            errors.push_back(path + " at " + std::to_string(off) + "+" + std::to_string(len) + ": " +
                             (err != 0 ? std::strerror(err) : "wrong bytes"));
          }
          ++reads;
        }
      });
    }
    for (auto& th : threads) {
      th.join();
    }
    INFO("first errors: " << (errors.empty() ? "" : errors.front()));
    CHECK(errors.empty());
    CHECK(reads > 100);
    MESSAGE("random reads in 5 s: " << reads.load());
    const auto metrics = metrics_now(m, tmp / "m.json");
    MESSAGE("daemon: " << metrics.dump());
    CHECK(metrics["bad_chunks"] == 0);
    CHECK(metrics["cache_hits"].get<std::uint64_t>() > 100); // the reads did reach the daemon
    CHECK(m.unmount() == 0);
  }

  TEST_CASE("a corrupted chunk gives EIO for its file only, other files read right, the daemon stays up") {
    TempDir tmp;
    auto files = sample_files();
    files["victim"] = random_bytes(5 * k_chunk, 99);
    create_image(tmp, files);
    RunResult d = run_rafs({"dump", "--json", "--chunks", (tmp / "img.boot").string()});
    REQUIRE(d.exit_code == 0);
    const auto dump = nlohmann::json::parse(d.out);
    nlohmann::json bad_chunk;
    for (const auto& inode : dump["inodes"]) {
      if (inode["path"] == "/victim") {
        bad_chunk = inode["chunks"][2];
      }
    }
    REQUIRE(bad_chunk.is_object());
    // Corrupt a copy of the blob, in the middle of the victim's third chunk.
    fs::copy(tmp / "blobs", tmp / "bad-blobs");
    const fs::path blob = fs::directory_iterator(tmp / "bad-blobs")->path();
    auto bytes = read_file(blob);
    const auto at = bad_chunk["compressed_offset"].get<std::size_t>() +
                    bad_chunk["compressed_size"].get<std::size_t>() / 2;
    for (std::size_t i = at; i < at + 16; ++i) {
      bytes[i] ^= 0x5a;
    }
    write_file(blob, bytes);
    write_text(tmp / "cfg.json", cfg_json(tmp / "bad-blobs", tmp / "cache", true));
    Mount m(tmp / "mnt");
    m.start_ok(tmp / "img.boot", {"--config", (tmp / "cfg.json").string(), "--metrics", (tmp / "m.json").string()});

    std::string got;
    CHECK(read_range(m / "victim", 0, files["victim"].size(), got) == EIO);
    // The chunks before it still read; the bad one keeps failing.
    CHECK(read_range(m / "victim", 0, 2 * k_chunk, got) == 0);
    CHECK(got == files["victim"].substr(0, 2 * k_chunk));
    CHECK(read_range(m / "victim", 2 * k_chunk + 10, 100, got) == EIO);
    CHECK(read_range(m / "victim", 3 * k_chunk, 2 * k_chunk, got) == 0);
    CHECK(got == files["victim"].substr(3 * k_chunk));
    for (const auto& [path, data] : files) {
      if (path != "victim") {
        CAPTURE(path);
        CHECK(read_range(m / path, 0, data.size() + 1, got) == 0);
        CHECK(got == data);
      }
    }
    struct stat st {};
    CHECK(::stat((m / "f").c_str(), &st) == 0);
    CHECK(is_mounted(m.path()));
    const auto metrics = metrics_now(m, tmp / "m.json");
    CHECK(metrics["bad_chunks"] == 1);
    CHECK(m.unmount() == 0);
  }
}
