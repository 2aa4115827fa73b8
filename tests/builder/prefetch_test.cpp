// The prefetch list (parsing, coverage), where ImageBuilder puts the data of
// prefetched files (one contiguous region at the end of each layer's blob,
// in list order, covered exactly by the blob's readahead range with
// --prefetch-policy blob), the fs policy's prefetch table, cross-layer
// dedup and chunk dictionaries.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "builder/build.hpp"
#include "builder/image_builder.hpp"
#include "builder/prefetch_list.hpp"
#include "builder/tar_source.hpp"
#include "format/bootstrap.hpp"
#include "support/run.hpp"
#include "support/tar_maker.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace rafs;
using namespace rafs::builder;
using rafs::test::random_bytes;
using rafs::test::tar_dir;
using rafs::test::tar_file;
using rafs::test::tar_hardlink;
using rafs::test::TarEntry;

namespace {

using Strings = std::vector<std::string>;
constexpr std::uint32_t k_small_chunk = 0x1000;
constexpr std::size_t k_mib = 1 << 20;

PrefetchList parse(const std::string& text, Strings& warnings) {
  return PrefetchList::parse(text, warnings);
}

struct Img {
  std::unique_ptr<test::TempDir> dir;
  std::vector<LayerReport> reports;
  BuiltImage image;
  std::unique_ptr<v5::Bootstrap> boot;
  fs::path boot_path;
  fs::path blob_dir;

  const fs::path& blobs() const { return blob_dir; }
};

BuildOptions small_options(PrefetchPolicy policy = PrefetchPolicy::none) {
  BuildOptions o;
  o.chunk_size = k_small_chunk;
  o.prefetch_policy = policy;
  o.threads = 3;
  return o;
}

// Layers (lowest first) through one ImageBuilder. The bootstrap is also
// written to the image's own temporary directory (boot_path), every blob to
// DIR/blobs/, DIR being `in_dir` when given, else that same directory.
Img build_image(const std::vector<std::vector<TarEntry>>& layers, const BuildOptions& options,
                const std::string& list = {}, const v5::Bootstrap* dict = nullptr,
                const fs::path& dict_blobs = {}, const test::TempDir* in_dir = nullptr) {
  Img out;
  out.dir = std::make_unique<test::TempDir>();
  fs::path root = in_dir != nullptr ? in_dir->path() : out.dir->path();
  out.blob_dir = root / "blobs";
  fs::create_directories(out.blob_dir);
  Strings list_warnings;
  ImageBuilder image(options, PrefetchList::parse(list, list_warnings));
  CHECK(list_warnings.empty());
  if (dict != nullptr) {
    auto r = image.add_chunk_dict(*dict, dict_blobs);
    INFO((r ? std::string() : r.error().message));
    REQUIRE(r);
  }
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const fs::path tar = *out.dir / ("layer" + std::to_string(i) + ".tar");
    test::write_tar(tar, layers[i]);
    auto source = open_tar_source(tar.string());
    REQUIRE(source);
    auto report = image.add_layer(**source, LayerOutputs{out.blob_dir, {}, {}}, true);
    INFO("layer " << i << ": " << (report ? std::string() : report.error().message));
    REQUIRE(report);
    out.reports.push_back(std::move(*report));
  }
  auto built = image.finish();
  REQUIRE(built);
  out.image = std::move(*built);
  out.boot_path = *out.dir / "image.boot";
  test::write_file(out.boot_path, out.image.bootstrap);
  auto boot = v5::Bootstrap::from_bytes(out.image.bootstrap, out.boot_path.string());
  INFO((boot ? std::string() : boot.error().message));
  REQUIRE(boot);
  out.boot = std::make_unique<v5::Bootstrap>(std::move(*boot));
  return out;
}

std::uint32_t index_of(const v5::Bootstrap& b, std::string_view path) {
  auto i = b.lookup(path);
  INFO(path);
  REQUIRE(i);
  return *i;
}

std::vector<v5::ChunkInfo> chunks_of(const v5::Bootstrap& b, std::string_view path) {
  const std::uint32_t i = index_of(b, path);
  std::vector<v5::ChunkInfo> out;
  for (std::uint32_t k = 0; k < b.chunk_count(i); ++k) {
    out.push_back(b.chunk(i, k));
  }
  return out;
}

bool inside_readahead(const v5::Bootstrap& b, const v5::ChunkInfo& c) {
  const v5::BlobInfo& blob = b.blobs().at(c.blob_index);
  const std::uint64_t lo = blob.readahead_offset;
  const std::uint64_t hi = lo + blob.readahead_size;
  return c.compressed_offset >= lo && c.compressed_offset + c.compressed_size <= hi;
}

bool outside_readahead(const v5::Bootstrap& b, const v5::ChunkInfo& c) {
  const v5::BlobInfo& blob = b.blobs().at(c.blob_index);
  const std::uint64_t lo = blob.readahead_offset;
  const std::uint64_t hi = lo + blob.readahead_size;
  return c.compressed_offset + c.compressed_size <= lo || c.compressed_offset >= hi;
}

// The chunks of `files`, in that order, all in blob `blob`, tile its
// readahead range exactly, and the range ends where the blob ends.
void check_region_tiles(const v5::Bootstrap& b, std::uint32_t blob, const Strings& files) {
  const v5::BlobInfo& info = b.blobs().at(blob);
  CHECK(info.readahead_size > 0);
  std::uint64_t at = info.readahead_offset;
  for (const auto& f : files) {
    for (const auto& c : chunks_of(b, f)) {
      CAPTURE(f);
      CAPTURE(c.file_offset);
      CHECK(c.blob_index == blob);
      CHECK(c.compressed_offset == at);
      at = c.compressed_offset + c.compressed_size;
    }
  }
  CHECK(at == std::uint64_t{info.readahead_offset} + info.readahead_size);
  CHECK(at == info.compressed_size);
}

} // namespace

TEST_SUITE("builder::prefetch list") {
  TEST_CASE("lines are trimmed, empty lines ignored and the order kept") {
    Strings w;
    PrefetchList l = parse(" /b \n\n\t/a\r\n   \n/c/d\t\n/e", w);
    CHECK(l.paths() == Strings{"b", "a", "c/d", "e"});
    CHECK(w.empty());
    CHECK_FALSE(l.empty());
    CHECK(parse("\n \n\t\n", w).empty());
    CHECK(parse("", w).empty());
  }

  TEST_CASE("paths are normalized: repeated slashes, '.' components and trailing slashes go") {
    Strings w;
    PrefetchList l = parse("//usr///lib/./x/\n/./etc/\n", w);
    CHECK(l.paths() == Strings{"usr/lib/x", "etc"});
    CHECK(w.empty());
  }

  TEST_CASE("relative lines are skipped with a warning naming them") {
    Strings w;
    PrefetchList l = parse("rel/x\n/ok\n./y\n~/z\n", w);
    CHECK(l.paths() == Strings{"ok"});
    CHECK(w == Strings{"prefetch list: skipping relative path rel/x",
                       "prefetch list: skipping relative path ./y",
                       "prefetch list: skipping relative path ~/z"});
  }

  TEST_CASE("lines with a '..' component are skipped with a warning") {
    Strings w;
    PrefetchList l = parse("/a/../b\n/c\n/..\n/d..e\n", w);
    CHECK(l.paths() == Strings{"c", "d..e"});
    REQUIRE(w.size() == 2);
    CHECK(w[0].starts_with("prefetch list: skipping /a/../b: "));
    CHECK(w[0].find("'..'") != std::string::npos);
    CHECK(w[1].starts_with("prefetch list: skipping /..: "));
  }

  TEST_CASE("a path equal to or below an earlier one is dropped, one above a later one is kept") {
    Strings w;
    PrefetchList l = parse("/a\n/a/b\n/a\n/ab\n/c/d\n/c\n/c/d/e\n", w);
    CHECK(l.paths() == Strings{"a", "ab", "c/d", "c"});
    CHECK(w.empty());
  }

  TEST_CASE("position_of gives the earliest list entry equal to or above the path") {
    Strings w;
    PrefetchList l = parse("/a\n/ab\n/c/d\n/c\n", w);
    CHECK(l.position_of("a") == 0u);
    CHECK(l.position_of("a/b/c") == 0u);
    CHECK(l.position_of("ab") == 1u);
    CHECK(l.position_of("ab/x") == 1u);
    CHECK_FALSE(l.position_of("abc").has_value());
    CHECK_FALSE(l.position_of("b").has_value());
    CHECK_FALSE(l.position_of("").has_value());
    CHECK(l.position_of("c/d") == 2u);
    CHECK(l.position_of("c/d/e/f") == 2u);
    CHECK(l.position_of("c") == 3u);
    CHECK(l.position_of("c/x") == 3u);
    CHECK_FALSE(l.position_of("cd").has_value());
    CHECK_FALSE(PrefetchList().position_of("a").has_value());
  }

  TEST_CASE("the root covers everything listed after it") {
    Strings w;
    PrefetchList l = parse("/x\n/\n/y\n///\n/x/z\n", w);
    CHECK(l.paths() == Strings{"x", ""});
    CHECK(l.position_of("x/q") == 0u);
    CHECK(l.position_of("y/z") == 1u);
    CHECK(l.position_of("") == 1u);
    PrefetchList all = parse("/\n/etc\n", w);
    CHECK(all.paths() == Strings{""});
    CHECK(all.position_of("deep/down/file") == 0u);
    CHECK(w.empty());
  }
}

TEST_SUITE("builder::prefetch region") {
  TEST_CASE("blob policy: listed files' chunks tile each blob's readahead range at its end, in list order") {
    // Tar order differs from list order; every file is random (no dedup).
    const std::vector<std::vector<TarEntry>> layers = {
        {tar_dir("a"), tar_file("a/n1", random_bytes(0x2800, 1)), tar_file("a/p1", random_bytes(0x3800, 2)),
         tar_dir("b"), tar_file("b/p2", random_bytes(0x2000, 3)), tar_dir("c"),
         tar_file("c/n2", random_bytes(0x1000, 4))},
        {tar_file("a/n3", random_bytes(0x1800, 5)), tar_dir("d"), tar_file("d/y", random_bytes(0x1200, 7)),
         tar_file("d/x", random_bytes(0x2100, 6)), tar_file("b/p3", random_bytes(0x1100, 8)),
         tar_file("e/n4", random_bytes(0x3000, 9))},
    };
    Img img = build_image(layers, small_options(PrefetchPolicy::blob), "/b/p3\n/b/p2\n/a/p1\n/d\n/missing\n");
    const v5::Bootstrap& b = *img.boot;
    REQUIRE(b.blobs().size() == 2);
    check_region_tiles(b, 0, {"/b/p2", "/a/p1"});
    check_region_tiles(b, 1, {"/b/p3", "/d/x", "/d/y"});
    for (const char* listed : {"/a/p1", "/b/p2", "/b/p3", "/d/x", "/d/y"}) {
      CAPTURE(listed);
      for (const auto& c : chunks_of(b, listed)) {
        CHECK(inside_readahead(b, c));
      }
    }
    for (const char* other : {"/a/n1", "/c/n2", "/a/n3", "/e/n4"}) {
      CAPTURE(other);
      for (const auto& c : chunks_of(b, other)) {
        CHECK(outside_readahead(b, c));
      }
    }
    // The layer reports say the same as the blob table.
    for (std::uint32_t i = 0; i < 2; ++i) {
      CHECK(img.reports[i].region_offset == b.blobs()[i].readahead_offset);
      CHECK(img.reports[i].region_size == b.blobs()[i].readahead_size);
      CHECK(img.reports[i].blob_stats.dedup_hits == 0);
      CHECK(fs::file_size(img.reports[i].blob) == b.blobs()[i].compressed_size);
    }
    CHECK(b.blobs()[0].readahead_size == 0x2000 + 0x3800);
    CHECK(b.blobs()[1].readahead_size == 0x1100 + 0x2100 + 0x1200);
    CHECK(b.prefetch_table().empty());
    CHECK(img.image.warnings == Strings{"prefetch list: /missing is not in the image"});
    auto check = test::run_rafs({"check", img.boot_path.string(), "-D", img.blobs().string()});
    INFO(check.out << check.err);
    CHECK(check.exit_code == 0);
  }

  TEST_CASE("a listed and a non-listed file with the same data: the region keeps its own copy") {
    // What is asserted: the non-listed file written BEFORE the listed one is
    // stored outside the region and the listed one gets a second copy inside
    // it (a prefetched file never points outside the region); the non-listed
    // file written AFTER it reuses the region copy (so its chunks lie inside
    // the readahead range). The blob holds the data twice.
    const std::string data = random_bytes(0x2000, 31);
    Img img = build_image({{tar_file("n_before", data), tar_file("p", data), tar_file("z_after", data),
                            tar_file("q", random_bytes(0x1000, 32))}},
                          small_options(PrefetchPolicy::blob), "/p\n");
    const v5::Bootstrap& b = *img.boot;
    REQUIRE(b.blobs().size() == 1);
    check_region_tiles(b, 0, {"/p"});
    for (const auto& c : chunks_of(b, "/n_before")) {
      CHECK(outside_readahead(b, c));
    }
    for (const auto& c : chunks_of(b, "/q")) {
      CHECK(outside_readahead(b, c));
    }
    CHECK(chunks_of(b, "/z_after") == chunks_of(b, "/p"));
    CHECK(chunks_of(b, "/n_before") != chunks_of(b, "/p"));
    const BlobStats& s = img.reports[0].blob_stats;
    CHECK(s.chunks_submitted == 7);
    CHECK(s.chunks_stored == 5);
    CHECK(s.dedup_hits == 2);
    CHECK(s.external_hits == 0);
    CHECK(b.blobs()[0].compressed_size == 0x5000);
  }

  TEST_CASE("an upper layer's listed file reuses a lower region chunk but not a lower chunk outside a region") {
    const std::string in_region = random_bytes(0x2000, 41);
    const std::string outside = random_bytes(0x1000, 42);
    Img img = build_image({{tar_file("a/p", in_region), tar_file("n", outside)},
                           {tar_file("b/q", in_region), tar_file("b/r", outside)}},
                          small_options(PrefetchPolicy::blob), "/a/p\n/b\n");
    const v5::Bootstrap& b = *img.boot;
    REQUIRE(b.blobs().size() == 2);
    CHECK(chunks_of(b, "/b/q") == chunks_of(b, "/a/p"));
    const auto r = chunks_of(b, "/b/r");
    REQUIRE(r.size() == 1);
    CHECK(r[0].blob_index == 1);
    check_region_tiles(b, 0, {"/a/p"});
    check_region_tiles(b, 1, {"/b/r"});
    for (const char* listed : {"/a/p", "/b/q", "/b/r"}) {
      for (const auto& c : chunks_of(b, listed)) {
        CHECK(inside_readahead(b, c));
      }
    }
    CHECK(img.reports[1].blob_stats.external_hits == 2);
    CHECK(img.reports[1].blob_stats.chunks_stored == 1);
  }

  TEST_CASE("the region and the whole image are the same whatever the number of threads") {
    std::vector<TarEntry> layer;
    for (std::uint32_t i = 0; i < 24; ++i) {
      // Every third file repeats an earlier one's data: dedup into and out of the region.
      const std::uint32_t seed = i % 3 == 2 ? i - 2 : i;
      layer.push_back(tar_file("f" + std::to_string(100 + i), random_bytes(0x1000 * (1 + seed % 4) + 17, 150 + seed)));
    }
    const std::string list = "/f120\n/f105\n/f111\n/f100\n";
    Img one = build_image({layer, {tar_file("f105", random_bytes(0x1000, 1)), tar_file("g", random_bytes(0x1000, 2))}},
                          [] {
                            BuildOptions o = small_options(PrefetchPolicy::blob);
                            o.threads = 1;
                            return o;
                          }(),
                          list);
    Img many = build_image({layer, {tar_file("f105", random_bytes(0x1000, 1)), tar_file("g", random_bytes(0x1000, 2))}},
                           [] {
                             BuildOptions o = small_options(PrefetchPolicy::blob);
                             o.threads = 8;
                             return o;
                           }(),
                           list);
    CHECK(one.image.bootstrap == many.image.bootstrap);
    REQUIRE(one.reports.size() == many.reports.size());
    for (std::size_t i = 0; i < one.reports.size(); ++i) {
      CHECK(test::read_file(one.reports[i].blob) == test::read_file(many.reports[i].blob));
    }
    for (const char* listed : {"/f120", "/f105", "/f111", "/f100"}) {
      CAPTURE(listed);
      for (const auto& c : chunks_of(*one.boot, listed)) {
        CHECK(inside_readahead(*one.boot, c));
      }
    }
  }

  // A hard-link entry carries no data: its chunks were stored under the first
  // name, in the main part of the blob. close() copies them into the region.
  TEST_CASE("a listed hard link whose first name is not listed has its chunks in the region") {
    Img img = build_image({{tar_file("a", random_bytes(0x2000, 51)), tar_hardlink("b", "a")}},
                          small_options(PrefetchPolicy::blob), "/b\n");
    const v5::Bootstrap& b = *img.boot;
    REQUIRE(b.blobs().size() == 1);
    check_region_tiles(b, 0, {"/b"});
  }

  TEST_CASE("fs policy: the prefetch table holds the listed existing paths' inos in list order") {
    Img img = build_image({{tar_dir("a"), tar_file("a/f1", "1"), tar_file("a/f2", "2"), tar_dir("z"),
                            tar_file("z/f", random_bytes(0x1800, 61)), tar_hardlink("h2", "z/f")}},
                          small_options(PrefetchPolicy::fs), "/z/f\n/missing/x\n/a\n/h2\n/a/f1\n");
    const v5::Bootstrap& b = *img.boot;
    // Indexes: / 1, a 2, h2 3, z 4, a/f1 5, a/f2 6, z/f 7; the link group's ino is 3.
    CHECK(index_of(b, "/a") == 2);
    CHECK(b.inode(index_of(b, "/z/f")).ino == 3);
    CHECK(b.prefetch_table() == std::vector<std::uint32_t>{3, 2, 3});
    CHECK(img.image.warnings == Strings{"prefetch list: /missing/x is not in the image"});
    // The data is still placed together, but the blob table has no readahead range.
    CHECK(b.blobs().at(0).readahead_offset == 0);
    CHECK(b.blobs().at(0).readahead_size == 0);
    CHECK(img.reports[0].region_size == 0x1800 + 2);
    CHECK(img.reports[0].region_offset + img.reports[0].region_size == b.blobs()[0].compressed_size);
  }

  TEST_CASE("fs policy: a list of just / is the root's ino") {
    Img img = build_image({{tar_file("x", "x"), tar_file("y/z", "z")}}, small_options(PrefetchPolicy::fs),
                          "/\n/x\n");
    CHECK(img.boot->prefetch_table() == std::vector<std::uint32_t>{1});
    CHECK(img.image.warnings.empty());
  }

  TEST_CASE("policy none ignores the list: no table, no region, no warning") {
    Img img = build_image({{tar_file("x", random_bytes(0x1000, 71))}}, small_options(PrefetchPolicy::none),
                          "/x\n/missing\n");
    CHECK(img.boot->prefetch_table().empty());
    CHECK(img.reports[0].region_size == 0);
    CHECK(img.boot->blobs()[0].readahead_size == 0);
    CHECK(img.image.warnings.empty());
  }
}

TEST_SUITE("builder::dedup and chunk dict") {
  TEST_CASE("the same 3 MiB file in a second layer stores none of its chunks again") {
    const std::string big = random_bytes(3 * k_mib, 81);
    BuildOptions o;
    o.threads = 2;
    Img img = build_image({{tar_file("big", big), tar_file("small", "s")},
                           {tar_file("copy", big), tar_file("new", "n")},
                           {tar_file("again/copy2", big)}},
                          o);
    const BlobStats& s1 = img.reports[1].blob_stats;
    CHECK(s1.chunks_submitted == 4);
    CHECK(s1.external_hits == 3);
    CHECK(s1.dedup_hits == 3);
    CHECK(s1.dedup_bytes == 3 * k_mib);
    CHECK(s1.chunks_stored == 1);
    CHECK(s1.compressed_size < 100);
    // A layer whose every chunk is found below writes no blob at all.
    const BlobStats& s2 = img.reports[2].blob_stats;
    CHECK(s2.chunks_submitted == 3);
    CHECK(s2.external_hits == 3);
    CHECK(s2.chunks_stored == 0);
    CHECK(img.reports[2].blob.empty());
    CHECK(img.reports[2].blob_id.empty());
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(img.blobs())) {
      files.push_back(e.path().filename().string());
    }
    std::sort(files.begin(), files.end());
    Strings want{img.reports[0].blob_id, img.reports[1].blob_id};
    std::sort(want.begin(), want.end());
    CHECK(files == want);

    const v5::Bootstrap& b = *img.boot;
    REQUIRE(b.blobs().size() == 2);
    const auto original = chunks_of(b, "/big");
    REQUIRE(original.size() == 3);
    for (const char* p : {"/copy", "/again/copy2"}) {
      CAPTURE(p);
      const auto c = chunks_of(b, p);
      REQUIRE(c.size() == 3);
      for (std::size_t k = 0; k < 3; ++k) {
        CHECK(c[k] == original[k]);
        CHECK(c[k].blob_index == 0);
        CHECK(c[k].file_offset == k * k_mib);
      }
    }
    auto check = test::run_rafs({"check", img.boot_path.string(), "-D", img.blobs().string()});
    INFO(check.out << check.err);
    CHECK(check.exit_code == 0);
  }

  TEST_CASE("dedup within one layer is not counted as external") {
    const std::string data = random_bytes(2 * k_small_chunk, 91);
    Img img = build_image({{tar_file("a", data), tar_file("b", data)}}, small_options());
    const BlobStats& s = img.reports[0].blob_stats;
    CHECK(s.dedup_hits == 2);
    CHECK(s.dedup_bytes == 2 * k_small_chunk);
    CHECK(s.external_hits == 0);
    CHECK(s.chunks_stored == 2);
  }

  TEST_CASE("a chunk dict's chunks are referenced and only its referenced blobs join the blob table") {
    // The dict: two layers, so two blobs.
    const std::string da = random_bytes(0x2000, 101);
    const std::string db = random_bytes(0x1800, 102);
    Img dict = build_image({{tar_file("da", da)}, {tar_file("db", db)}}, small_options());
    REQUIRE(dict.boot->blobs().size() == 2);
    const std::string blob_a = dict.boot->blobs()[0].id;
    const std::string blob_b = dict.boot->blobs()[1].id;

    // Written into the dict's own folder so that `rafs check -D` finds every blob.
    const std::string fresh = random_bytes(0x1000, 103);
    Img img = build_image({{tar_file("f", db), tar_file("g", fresh)}}, small_options(), {}, dict.boot.get(),
                          dict.blobs(), dict.dir.get());
    const BlobStats& s = img.reports[0].blob_stats;
    CHECK(s.external_hits == 2);
    CHECK(s.chunks_stored == 1);
    const v5::Bootstrap& b = *img.boot;
    REQUIRE(b.blobs().size() == 2);
    CHECK(b.blobs()[0].id == blob_b);
    CHECK(b.blobs()[1].id == img.reports[0].blob_id);
    REQUIRE(img.image.blobs.size() == 2);
    CHECK(img.image.blobs[0].from_chunk_dict);
    CHECK(img.image.blobs[0].file == dict.blobs() / blob_b);
    CHECK_FALSE(img.image.blobs[1].from_chunk_dict);
    const auto f = chunks_of(b, "/f");
    const auto orig = chunks_of(*dict.boot, "/db");
    REQUIRE(f.size() == 2);
    REQUIRE(orig.size() == 2);
    for (std::size_t k = 0; k < 2; ++k) {
      CHECK(f[k].blob_index == 0);
      CHECK(f[k].block_id == orig[k].block_id);
      CHECK(f[k].compressed_offset == orig[k].compressed_offset);
      CHECK(f[k].compressed_size == orig[k].compressed_size);
      CHECK(f[k].index == orig[k].index);
      CHECK(f[k].file_offset == k * k_small_chunk);
    }
    auto check = test::run_rafs({"check", img.boot_path.string(), "-D", dict.blobs().string()});
    INFO(check.out << check.err);
    CHECK(check.exit_code == 0);

    // Nothing referenced: the dict's blobs stay out of the table.
    Img none = build_image({{tar_file("g", fresh)}}, small_options(), {}, dict.boot.get(), dict.blobs());
    REQUIRE(none.boot->blobs().size() == 1);
    CHECK(none.boot->blobs()[0].id == none.reports[0].blob_id);
    CHECK(none.reports[0].blob_stats.external_hits == 0);
  }

  TEST_CASE("a prefetched file stores its own copy of data the chunk dict has (dict chunks lie in no region)") {
    const std::string shared = random_bytes(0x2000, 131);
    Img dict = build_image({{tar_file("d", shared)}}, small_options());
    Img img = build_image({{tar_file("p", shared), tar_file("n", shared)}}, small_options(PrefetchPolicy::blob),
                          "/p\n", dict.boot.get(), dict.blobs());
    const v5::Bootstrap& b = *img.boot;
    // n, not listed and written after p, reuses p's region copy: the dict is not referenced.
    REQUIRE(b.blobs().size() == 1);
    CHECK(b.blobs()[0].id == img.reports[0].blob_id);
    check_region_tiles(b, 0, {"/p"});
    CHECK(chunks_of(b, "/n") == chunks_of(b, "/p"));
    CHECK(img.reports[0].blob_stats.external_hits == 0);
    CHECK(img.reports[0].blob_stats.chunks_stored == 2);
  }

  TEST_CASE("a lower blob stays in the table while a chunk references it, after the file that stored it is gone") {
    const std::string data = random_bytes(0x1800, 141);
    Img img = build_image({{tar_file("a", data)}, {tar_file("b", data), tar_file("c", "c")}, {tar_file(".wh.a", "")}},
                          small_options());
    const v5::Bootstrap& b = *img.boot;
    REQUIRE(b.blobs().size() == 2);
    CHECK(b.blobs()[0].id == img.reports[0].blob_id);
    CHECK(b.blobs()[1].id == img.reports[1].blob_id);
    for (const auto& c : chunks_of(b, "/b")) {
      CHECK(c.blob_index == 0);
    }
    CHECK(img.reports[2].blob.empty());

    // Once /b goes too, layer 0's blob leaves the table and layer 1's becomes index 0.
    Img gone = build_image({{tar_file("a", data)}, {tar_file("b", data), tar_file("c", "c")},
                            {tar_file(".wh.a", ""), tar_file(".wh.b", "")}},
                           small_options());
    REQUIRE(gone.boot->blobs().size() == 1);
    CHECK(gone.boot->blobs()[0].id == gone.reports[1].blob_id);
    CHECK(chunks_of(*gone.boot, "/c").at(0).blob_index == 0);
  }

  TEST_CASE("a chunk dict with another compressor or digester is refused naming it") {
    Img lz4;
    {
      BuildOptions o = small_options();
      o.compressor = Compressor::lz4_block;
      lz4 = build_image({{tar_file("x", "x")}}, o);
    }
    auto dict = v5::Bootstrap::from_bytes(lz4.image.bootstrap, "dict.boot");
    REQUIRE(dict);
    ImageBuilder image(small_options(), PrefetchList());
    auto r = image.add_chunk_dict(*dict, lz4.blobs());
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::invalid_argument);
    CHECK(r.error().message ==
          "dict.boot: the chunk dict uses compressor lz4_block, this image uses zstd (a v5 image has one compressor)");

    BuildOptions sha = small_options();
    sha.digester = DigestAlgo::sha256;
    Img sha_img = build_image({{tar_file("x", "x")}}, sha);
    auto dict2 = v5::Bootstrap::from_bytes(sha_img.image.bootstrap, "dict2.boot");
    REQUIRE(dict2);
    ImageBuilder image2(small_options(), PrefetchList());
    auto r2 = image2.add_chunk_dict(*dict2, sha_img.blobs());
    REQUIRE_FALSE(r2);
    CHECK(r2.error().message == "dict2.boot: the chunk dict uses digester sha256, this image uses blake3");
  }

  TEST_CASE("rafs create --chunk-dict bootstrap=PATH --chunk-dict-blob-dir references the dict's blob") {
    test::TempDir tmp;
    const std::string shared = random_bytes(0x3000, 111);
    test::write_tar(tmp / "dict.tar", {tar_file("d", shared)});
    test::write_tar(tmp / "layer.tar", {tar_file("same", shared), tar_file("own", "own data")});
    fs::create_directories(tmp / "dictblobs");
    fs::create_directories(tmp / "blobs");
    auto d = test::run_rafs({"create", (tmp / "dict.tar").string(), "-B", (tmp / "dict.boot").string(), "-D",
                             (tmp / "dictblobs").string(), "--chunk-size", "0x1000"});
    REQUIRE(d.exit_code == 0);
    auto dict_boot = v5::Bootstrap::open(tmp / "dict.boot");
    REQUIRE(dict_boot);
    const std::string dict_blob = dict_boot->blobs().at(0).id;

    auto c = test::run_rafs({"create", (tmp / "layer.tar").string(), "-B", (tmp / "out.boot").string(), "-D",
                             (tmp / "blobs").string(), "--chunk-size", "0x1000", "--chunk-dict",
                             "bootstrap=" + (tmp / "dict.boot").string(), "--chunk-dict-blob-dir",
                             (tmp / "dictblobs").string()});
    INFO(c.err);
    REQUIRE(c.exit_code == 0);
    auto out = v5::Bootstrap::open(tmp / "out.boot");
    REQUIRE(out);
    REQUIRE(out->blobs().size() == 2);
    CHECK(out->blobs()[0].id == dict_blob);
    for (const auto& ch : chunks_of(*out, "/same")) {
      CHECK(ch.blob_index == 0);
    }
    // Only the layer's own chunk went to its blob.
    CHECK(out->blobs()[1].chunk_count == 1);
    CHECK(c.out.find("1 chunks stored, 3 deduplicated") != std::string::npos);

    // Another compressor: exit 1, one line naming the dict.
    auto bad = test::run_rafs({"create", (tmp / "layer.tar").string(), "-B", (tmp / "bad.boot").string(), "-D",
                               (tmp / "blobs").string(), "--chunk-size", "0x1000", "--compressor", "lz4_block",
                               "--chunk-dict", (tmp / "dict.boot").string()});
    CHECK(bad.exit_code == 1);
    CHECK(bad.err == "rafs: " + (tmp / "dict.boot").string() +
                         ": the chunk dict uses compressor zstd, this image uses lz4_block (a v5 image has one "
                         "compressor)\n");
    CHECK_FALSE(fs::exists(tmp / "bad.boot"));

    auto bad_type = test::run_rafs({"create", (tmp / "layer.tar").string(), "-B", (tmp / "bad.boot").string(),
                                    "-D", (tmp / "blobs").string(), "--chunk-dict", "blobcache=x"});
    CHECK(bad_type.exit_code == 2);
    CHECK(bad_type.err == "rafs: --chunk-dict blobcache=x: the only chunk dict type is bootstrap\n");
  }

  TEST_CASE("rafs create --prefetch-policy reads the list from stdin") {
    test::TempDir tmp;
    test::write_tar(tmp / "layer.tar", {tar_file("a", random_bytes(0x2000, 121)),
                                        tar_file("b", random_bytes(0x1000, 122))});
    fs::create_directories(tmp / "blobs");
    auto blob = test::run_rafs({"create", (tmp / "layer.tar").string(), "-B", (tmp / "blob.boot").string(), "-D",
                                (tmp / "blobs").string(), "--chunk-size", "0x1000", "--prefetch-policy", "blob"},
                               "/b\nrel\n/gone\n");
    INFO(blob.err);
    REQUIRE(blob.exit_code == 0);
    CHECK(blob.err == "rafs: warning: prefetch list: skipping relative path rel\n"
                      "rafs: warning: prefetch list: /gone is not in the image\n");
    auto bb = v5::Bootstrap::open(tmp / "blob.boot");
    REQUIRE(bb);
    CHECK(bb->blobs().at(0).readahead_offset == 0x2000);
    CHECK(bb->blobs().at(0).readahead_size == 0x1000);
    CHECK(bb->prefetch_table().empty());

    auto fsp = test::run_rafs({"create", (tmp / "layer.tar").string(), "-B", (tmp / "fs.boot").string(), "-D",
                               (tmp / "blobs").string(), "--prefetch-policy", "fs"},
                              "/b\n/a\n");
    REQUIRE(fsp.exit_code == 0);
    CHECK(fsp.err == "");
    auto fb = v5::Bootstrap::open(tmp / "fs.boot");
    REQUIRE(fb);
    CHECK(fb->prefetch_table() == std::vector<std::uint32_t>{3, 2});

    auto from_stdin = test::run_rafs({"create", "-", "-B", (tmp / "x.boot").string(), "-D",
                                      (tmp / "blobs").string(), "--prefetch-policy", "fs"});
    CHECK(from_stdin.exit_code == 2);
    CHECK(from_stdin.err == "rafs: create: the prefetch list is read from stdin, so SOURCE cannot be -\n");
  }
}
