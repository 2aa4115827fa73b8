// Layers, bootstraps and blobs cut at every 64th of their length (k * len / 64
// for k = 0..63), through the rafs binary:
//   `rafs create` on a cut tar, tar+gzip or tar+zstd layer exits 1 with one
//   line naming the layer and leaves nothing at the output names (the
//   writers' temporary files are gone too), also when a plain tar stops
//   right after an entry (convert, which checks digests, takes that);
//   a cut bootstrap fails to open, naming the file (what the commands print:
//   bad_input_test.cpp);
//   `rafs check -D` on a cut blob reports its size, its digest and exactly
//   the chunks that reach past the cut, and verifies every chunk before it.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "format/bootstrap.hpp"
#include "support/oci_maker.hpp"
#include "support/run.hpp"
#include "support/tar_maker.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using Buf = std::vector<std::uint8_t>;
using rafs::test::run_rafs;
using rafs::test::RunResult;
using rafs::test::TarFilter;
using rafs::test::TempDir;

constexpr const char* k_chunk_size = "0x1000";

std::size_t count_lines(const std::string& s) {
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

Buf cut(const Buf& bytes, std::size_t n) { return {bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n)}; }

// Several entries, one of them 10 chunks of random data, one compressible.
std::vector<rafs::test::TarEntry> layer_entries() {
  using namespace rafs::test;
  std::string text;
  for (int i = 0; i < 600; ++i) {
    text += "line " + std::to_string(i) + " of a compressible file\n";
  }
  return {tar_dir("./", 0755),
          tar_file("big", random_bytes(40000, 7)),
          tar_dir("d", 0755),
          tar_file("d/text", text),
          tar_hardlink("d/big-link", "big"),
          tar_symlink("d/link", "../big"),
          tar_file("small", "small\n")};
}

// The layer with nothing after its two end-of-archive blocks. Over 64 blocks
// long, every cut (at most 63/64 of it) is more than a block before the end,
// so no cut of the plain tar leaves a complete archive.
Buf make_layer(TarFilter filter) {
  return rafs::test::make_tar(layer_entries(), {rafs::test::TarFormat::pax, filter, false});
}

RunResult create(const fs::path& layer, const fs::path& out) {
  return run_rafs({"create", layer.string(), "--chunk-size", k_chunk_size, "-B", (out / "image.boot").string(),
                   "-D", out.string(), "-J", (out / "summary.json").string()});
}

// `rafs create` on the layer cut at k * len / 64 for k = 0..63.
void sweep_layer(const std::string& name, TarFilter filter) {
  TempDir tmp;
  const Buf full = make_layer(filter);
  REQUIRE(full.size() > 64 * 512); // the last cut is more than one block before the end
  const fs::path layer = tmp / name;
  for (std::size_t k = 0; k < 64; ++k) {
    const std::size_t len = full.size() * k / 64;
    CAPTURE(len);
    rafs::test::write_file(layer, cut(full, len));
    const fs::path out = tmp / ("out-" + std::to_string(k));
    fs::create_directories(out);
    RunResult r = create(layer, out);
    INFO(r.err);
    if (len == 0) {
      // An empty file is the empty layer (a policy: see create's test of
      // the upstream fixture tar/empty.tar).
      CHECK(r.exit_code == 0);
      auto b = rafs::v5::Bootstrap::open(out / "image.boot");
      REQUIRE(b);
      CHECK(b->inode_count() == 1);
      CHECK(b->blobs().empty());
      continue;
    }
    CHECK(r.exit_code == 1);
    CHECK(count_lines(r.err) == 1);
    CHECK(r.err.rfind("rafs: " + layer.string() + ": ", 0) == 0);
    CHECK(fs::is_empty(out)); // no bootstrap, blob, summary or temporary file
  }
}

// A good image of the layer: TMP/image/image.boot and its one blob.
struct Image {
  fs::path dir;
  fs::path boot;
  fs::path blob;
  Buf boot_bytes;
  Buf blob_bytes;

  explicit Image(const TempDir& tmp) : dir(tmp / "image"), boot(dir / "image.boot") {
    fs::create_directories(dir);
    rafs::test::write_file(tmp / "layer.tar", make_layer(TarFilter::none));
    RunResult r = create(tmp / "layer.tar", dir);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    fs::remove(dir / "summary.json");
    auto b = rafs::v5::Bootstrap::open(boot);
    REQUIRE(b);
    REQUIRE(b->blobs().size() == 1);
    blob = dir / b->blobs()[0].id;
    boot_bytes = rafs::test::read_file(boot);
    blob_bytes = rafs::test::read_file(blob);
  }
};

} // namespace

TEST_SUITE("cli::truncation") {
  TEST_CASE("a tar layer cut at each 64th of its length fails with one line naming it and leaves no "
            "output, the empty file excepted") {
    sweep_layer("layer.tar", TarFilter::none);
  }

  TEST_CASE("a tar+gzip layer cut at each 64th of its length fails with one line naming it and leaves no "
            "output, the empty file excepted") {
    sweep_layer("layer.tar.gz", TarFilter::gzip);
  }

  TEST_CASE("a tar+zstd layer cut at each 64th of its length fails with one line naming it and leaves no "
            "output, the empty file excepted") {
    sweep_layer("layer.tar.zst", TarFilter::zstd);
  }

  // libarchive reads a stream that stops at an entry boundary as a whole
  // archive; rafs wants at least one zero block after the last entry.
  TEST_CASE("a plain tar that stops right after an entry is refused, one zero block after it is enough") {
    TempDir tmp;
    using namespace rafs::test;
    const Buf full = make_tar({tar_file("a", std::string(1000, 'a')), tar_file("b", "b\n")},
                              {TarFormat::ustar, TarFilter::none, false});
    REQUIRE(full.size() == 7 * 512); // a: header + 2 blocks, b: header + 1 block, 2 zero blocks
    const fs::path layer = tmp / "cut.tar";
    for (std::size_t entries : {1u, 2u}) {
      const std::size_t len = entries == 1 ? 3 * 512 : 5 * 512;
      CAPTURE(entries);
      rafs::test::write_file(layer, cut(full, len));
      const fs::path out = tmp / ("out-" + std::to_string(entries));
      fs::create_directories(out);
      RunResult r = create(layer, out);
      CHECK(r.exit_code == 1);
      CHECK(r.err == "rafs: " + layer.string() + ": truncated: the archive ends after entry " +
                         std::to_string(entries) + " without an end-of-archive block\n");
      CHECK(fs::is_empty(out));
    }
    rafs::test::write_file(layer, cut(full, 6 * 512));
    const fs::path out = tmp / "out-lone-block";
    fs::create_directories(out);
    RunResult r = create(layer, out);
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(fs::exists(out / "image.boot"));
  }

  // A layer of an image is checked against its digest and diff_id instead:
  // a trailer-less tar that matches them is what its author published.
  TEST_CASE("convert takes an image layer that stops right after an entry when its digests match") {
    TempDir tmp;
    using namespace rafs::test;
    const Buf tar = make_tar({tar_file("a", std::string(1000, 'a'))}, {TarFormat::ustar, TarFilter::none, false});
    const Buf no_end = cut(tar, 3 * 512);
    OciLayerSpec layer{{}, TarFilter::gzip, "", std::string(no_end.begin(), no_end.end())};
    write_oci_layout(tmp / "src", {OciImageSpec{{layer}}});
    RunResult r = run_rafs({"convert", (tmp / "src").string(), "-o", (tmp / "out").string(), "-B",
                            (tmp / "image.boot").string()});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto b = rafs::v5::Bootstrap::open(tmp / "image.boot");
    REQUIRE(b);
    auto a = b->lookup("/a");
    REQUIRE(a);
    CHECK(b->inode(*a).size == 1000);
  }

  TEST_CASE("a bootstrap made by rafs create, cut at each 64th of its length, fails to open naming the file") {
    TempDir tmp;
    const Image image(tmp);
    const fs::path p = tmp / "cut.boot";
    for (std::size_t k = 0; k < 64; ++k) {
      const std::size_t len = image.boot_bytes.size() * k / 64;
      CAPTURE(len);
      rafs::test::write_file(p, cut(image.boot_bytes, len));
      auto b = rafs::v5::Bootstrap::open(p);
      REQUIRE_FALSE(b);
      CHECK(b.error().code == rafs::Errc::corrupted);
      CHECK(b.error().message.rfind(p.string() + ": ", 0) == 0);
    }
  }

  TEST_CASE("check -D on a blob cut at each 64th of its length reports the size, the digest and exactly "
            "the chunks past the cut, and verifies every chunk before it") {
    TempDir tmp;
    const Image image(tmp);
    auto b = rafs::v5::Bootstrap::open(image.boot);
    REQUIRE(b);
    // Stored chunks as check reads them: once per (blob, offset), by end offset.
    std::set<std::pair<std::uint64_t, std::uint64_t>> chunks; // (end, uncompressed size)
    std::set<std::uint64_t> offsets;
    for (std::uint32_t i = 1; i <= b->inode_count(); ++i) {
      for (std::uint32_t k = 0; k < b->chunk_count(i); ++k) {
        const rafs::v5::ChunkInfo c = b->chunk(i, k);
        if (offsets.insert(c.compressed_offset).second) {
          chunks.insert({c.compressed_offset + c.compressed_size, c.uncompressed_size});
        }
      }
    }
    REQUIRE(chunks.size() >= 12); // big's 10, text's 2 (or more), small's 1
    const std::string size = std::to_string(image.blob_bytes.size());
    for (std::size_t k = 0; k < 64; ++k) {
      const std::size_t len = image.blob_bytes.size() * k / 64;
      CAPTURE(len);
      rafs::test::write_file(image.blob, cut(image.blob_bytes, len));
      std::size_t before = 0;
      std::uint64_t bytes_before = 0;
      for (const auto& [end, bytes] : chunks) {
        before += end <= len ? 1u : 0u;
        bytes_before += end <= len ? bytes : 0u;
      }
      const std::size_t past = chunks.size() - before;
      RunResult r = run_rafs({"check", image.boot.string(), "-D", image.dir.string()});
      INFO(r.out);
      CHECK(r.exit_code == 1);
      CHECK(r.err == "rafs: " + image.boot.string() + ": " + std::to_string(past + 2) + " problems found\n");
      CHECK(r.out.find("problem: " + image.blob.string() + ": size " + std::to_string(len) + " != compressed size " +
                       size + " in the blob table\n") != std::string::npos);
      CHECK(r.out.find("problem: " + image.blob.string() + ": sha256 of the blob file is ") != std::string::npos);
      CHECK(r.out.find("data: " + std::to_string(before) + " chunks (" + std::to_string(bytes_before) +
                       " bytes) verified in 1 blobs\n") != std::string::npos);
      const std::string beyond_end = " is beyond the end (" + std::to_string(len) + " bytes)\n";
      std::size_t beyond = 0;
      for (std::size_t at = r.out.find(beyond_end); at != std::string::npos; at = r.out.find(beyond_end, at + 1)) {
        ++beyond;
      }
      CHECK(beyond == past);
    }
  }
}
