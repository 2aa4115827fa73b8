// The persistent cache and prefetch through `rafs mount`, counted with
// --metrics: a restarted daemon reuses the cache (after a clean unmount and
// after kill -9 in the middle of a prefetch), prefetch keeps to
// bandwidth_rate, and after prefetch a whole-tree read needs no backend.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>
#include <signal.h>

#include <chrono>
#include <map>

#include <nlohmann/json.hpp>

#include "runtime/mount_helpers.hpp"
#include "support/tree_compare.hpp"

namespace {

using namespace rafs::test;

constexpr std::size_t k_chunk = 0x10000;

struct Image {
  std::map<std::string, std::string> files;
  std::uint64_t chunks = 0; // distinct chunks in the blob
  std::uint64_t bytes = 0;  // blob size
};

// Incompressible files of `total` bytes or so (so the blob is that big and
// each chunk distinct), with chunk size 64 KiB.
Image create_image(const TempDir& tmp, std::size_t total) {
  Image img;
  std::vector<TarEntry> e{tar_dir("./", 0755), tar_dir("d", 0755)};
  std::uint32_t seed = 1;
  for (std::size_t sum = 0; sum < total; ++seed) {
    const std::size_t size = std::min<std::size_t>(total - sum, (seed % 7 + 1) * k_chunk + seed * 13);
    const std::string path = (seed % 2 == 0 ? "d/" : "") + ("file" + std::to_string(seed));
    img.files[path] = random_bytes(size, seed);
    e.push_back(tar_file(path, img.files[path]));
    sum += size;
  }
  write_tar(tmp / "layer.tar", e);
  fs::create_directories(tmp / "blobs");
  RunResult r = run_rafs({"create", (tmp / "layer.tar").string(), "-B", (tmp / "img.boot").string(), "-D",
                          (tmp / "blobs").string(), "--chunk-size", "0x10000"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  RunResult d = run_rafs({"dump", "--json", (tmp / "img.boot").string()});
  REQUIRE(d.exit_code == 0);
  const auto blob = nlohmann::json::parse(d.out)["blobs"][0];
  img.chunks = blob["chunk_count"].get<std::uint64_t>();
  img.bytes = blob["compressed_size"].get<std::uint64_t>();
  return img;
}

std::string config(const TempDir& tmp, const std::string& prefetch) {
  return R"({"mode": "direct", "device": {"backend": {"type": "localfs", "config": {"dir": ")" +
         (tmp / "blobs").string() + R"("}}, "cache": {"type": "blobcache", "config": {"work_dir": ")" +
         (tmp / "cache").string() + R"("}}})" + (prefetch.empty() ? "" : ", \"fs_prefetch\": " + prefetch) + "}";
}

// Every file through the mount equals its source.
void check_every_byte(const Mount& m, const Image& img) {
  for (const auto& [path, data] : img.files) {
    CAPTURE(path);
    CHECK(slurp(m / path) == data);
  }
}

std::vector<std::string> mount_args(const TempDir& tmp, const std::string& cfg_name) {
  return {"--config", (tmp / cfg_name).string(), "--metrics", (tmp / "m.json").string()};
}

} // namespace

TEST_SUITE("runtime::mount cache") {
  TEST_CASE("after a clean unmount, a new mount on the same cache reads everything with no backend read") {
    TempDir tmp;
    const Image img = create_image(tmp, 2 << 20);
    write_text(tmp / "cfg.json", config(tmp, ""));
    {
      Mount m(tmp / "mnt");
      m.start_ok(tmp / "img.boot", mount_args(tmp, "cfg.json"));
      check_every_byte(m, img);
      CHECK(m.unmount() == 0);
      // Written at exit.
      const auto first = nlohmann::json::parse(read_text(tmp / "m.json"));
      CHECK(first["chunks_fetched"] == img.chunks);
      CHECK(first["backend_reads"].get<std::uint64_t>() >= 1);
    }
    Mount m(tmp / "mnt");
    m.start_ok(tmp / "img.boot", mount_args(tmp, "cfg.json"));
    check_every_byte(m, img);
    CHECK(m.unmount() == 0);
    const auto second = nlohmann::json::parse(read_text(tmp / "m.json"));
    CHECK(second["backend_reads"] == 0);
    CHECK(second["chunks_fetched"] == 0);
    CHECK(second["cache_hits"].get<std::uint64_t>() >= img.chunks);
  }

  TEST_CASE("kill -9 during a slow prefetch, then a new mount on the same cache: every byte right, "
            "cached chunks not fetched again") {
    TempDir tmp;
    const Image img = create_image(tmp, 4 << 20);
    // 4 chunks a second: the whole blob takes about 16 s.
    write_text(tmp / "slow.json",
               config(tmp, R"({"enable": true, "threads_count": 2, "bandwidth_rate": 262144, "merging_size": 65536})"));
    write_text(tmp / "plain.json", config(tmp, ""));
    std::uint64_t prefetched = 0;
    {
      Mount m(tmp / "mnt");
      m.start_ok(tmp / "img.boot", mount_args(tmp, "slow.json"));
      REQUIRE(wait_until(
          [&] {
            prefetched = metrics_now(m, tmp / "m.json")["prefetch_chunks"].get<std::uint64_t>();
            return prefetched >= 8;
          },
          20));
      CHECK(metrics_now(m, tmp / "m.json")["prefetch_done"] == false);
      // The cache record commits claims within ~100 ms of the data: a second
      // later every chunk counted above is durably recorded.
      std::this_thread::sleep_for(std::chrono::seconds(1));
      m.signal(SIGKILL);
      CHECK(m.reap() == -SIGKILL);
      CHECK(is_mounted(m.path())); // dead: "transport endpoint is not connected"
      m.unmount();
      CHECK(!is_mounted(m.path()));
    }
    MESSAGE("chunks prefetched before kill -9: " << prefetched << " of " << img.chunks);
    Mount m(tmp / "mnt");
    m.start_ok(tmp / "img.boot", mount_args(tmp, "plain.json"));
    check_every_byte(m, img);
    const auto after = metrics_now(m, tmp / "m.json");
    INFO(after.dump());
    // The chunks cached before the kill are not fetched again.
    CHECK(after["chunks_fetched"].get<std::uint64_t>() <= img.chunks - prefetched);
    CHECK(after["cache_hits"].get<std::uint64_t>() > 0);
    CHECK(after["bad_chunks"] == 0);
    CHECK(m.unmount() == 0);
  }

  TEST_CASE("prefetch under bandwidth_rate takes at least the time the rate implies, then a whole-tree read "
            "makes no backend read") {
    TempDir tmp;
    const Image img = create_image(tmp, 3 << 20);
    const std::uint64_t rate = 1 << 20;
    write_text(tmp / "cfg.json", config(tmp, R"({"enable": true, "bandwidth_rate": 1048576})"));
    Mount m(tmp / "mnt");
    const auto start = std::chrono::steady_clock::now();
    m.start_ok(tmp / "img.boot", mount_args(tmp, "cfg.json"));
    REQUIRE(wait_until([&] { return metrics_now(m, tmp / "m.json")["prefetch_done"] == true; }, 30));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // Lower bound only, allowing one second's worth of burst.
    const double implied = static_cast<double>(img.bytes) / static_cast<double>(rate) - 1.0;
    MESSAGE("prefetch of " << img.bytes << " bytes at " << rate << " B/s took " << seconds << " s");
    CHECK(seconds >= implied);
    const auto before = metrics_now(m, tmp / "m.json");
    CHECK(before["prefetch_chunks"] == img.chunks);
    check_every_byte(m, img);
    const auto after = metrics_now(m, tmp / "m.json");
    CHECK(after["backend_reads"] == before["backend_reads"]);
    CHECK(after["chunks_fetched"] == before["chunks_fetched"]);
    CHECK(m.unmount() == 0);
  }

  TEST_CASE("prefetch of the bootstrap's table (built with --prefetch-policy fs) or of --prefetch-files, "
            "without prefetch_all, fetches just those files") {
    TempDir tmp;
    const Image img = create_image(tmp, 1 << 20);
    const std::string listed = img.files.begin()->first; // one file
    const std::uint64_t listed_chunks = (img.files.begin()->second.size() + k_chunk - 1) / k_chunk;
    write_text(tmp / "list.txt", "/" + listed + "\n/not/there\n");
    write_text(tmp / "cfg.json", config(tmp, R"({"enable": true, "prefetch_all": false})"));
    SUBCASE("--prefetch-files") {
      Mount m(tmp / "mnt");
      RunResult r = m.start(tmp / "img.boot",
                            {"--config", (tmp / "cfg.json").string(), "--metrics", (tmp / "m.json").string(),
                             "--prefetch-files", (tmp / "list.txt").string()});
      REQUIRE(r.exit_code == 0);
      CHECK(r.err.find("/not/there is not in the image") != std::string::npos);
      REQUIRE(wait_until([&] { return metrics_now(m, tmp / "m.json")["prefetch_done"] == true; }));
      CHECK(metrics_now(m, tmp / "m.json")["prefetch_chunks"] == listed_chunks);
      CHECK(m.unmount() == 0);
    }
    SUBCASE("the bootstrap's prefetch table") {
      RunResult b = run_rafs({"create", (tmp / "layer.tar").string(), "-B", (tmp / "pf.boot").string(), "-D",
                              (tmp / "blobs").string(), "--chunk-size", "0x10000", "--prefetch-policy", "fs"},
                             "/" + listed + "\n");
      INFO(b.err);
      REQUIRE(b.exit_code == 0);
      Mount m(tmp / "mnt");
      m.start_ok(tmp / "pf.boot", mount_args(tmp, "cfg.json"));
      REQUIRE(wait_until([&] { return metrics_now(m, tmp / "m.json")["prefetch_done"] == true; }));
      CHECK(metrics_now(m, tmp / "m.json")["prefetch_chunks"] == listed_chunks);
      check_every_byte(m, img);
      CHECK(m.unmount() == 0);
    }
  }
}
