// A plain tar file read as memory-mapped windows (builder/mapped_tar), and
// the chunks taken from those windows without a copy.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "builder/build.hpp"
#include "builder/layer_stream.hpp"
#include "builder/mapped_tar.hpp"
#include "builder/tar_source.hpp"
#include "support/run.hpp"
#include "support/tar_maker.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace rafs;
using namespace rafs::builder;

namespace {

const std::size_t k_page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));

// `n` bytes that start like no compressed stream and repeat nowhere nearby.
std::string pattern_bytes(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) {
    s[i] = static_cast<char>((i * 2654435761u) >> 13);
  }
  s[0] = 'p';
  return s;
}

std::string as_string(Bytes b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

void put(const fs::path& p, const std::string& s) { test::write_file(p, std::vector<std::uint8_t>(s.begin(), s.end())); }

// An image of `source`: the bootstrap's bytes and the blob's.
struct ImageBytes {
  std::vector<std::uint8_t> bootstrap;
  std::vector<std::uint8_t> blob;
};
ImageBytes build_from(Source& source, const BuildOptions& options, const test::TempDir& dir,
                      const std::string& name) {
  fs::create_directories(dir / name);
  BuildOutputs out{dir / name / "boot", dir / name, {}, {}};
  auto built = build(source, options, out);
  INFO((built ? std::string() : built.error().message));
  REQUIRE(built);
  return {test::read_file(out.bootstrap), test::read_file(built->blob)};
}

} // namespace

TEST_SUITE("builder::mapped tar") {
  TEST_CASE("a mapped tar comes in whole windows, and a window stays readable while its owner is held") {
    test::TempDir dir;
    const std::string data = pattern_bytes(3 * k_page + 100);
    put(dir / "f", data);
    auto r = map_plain_tar((dir / "f").string(), k_page + k_page / 2); // rounded down to one page
    REQUIRE(r);
    REQUIRE(*r);
    ReadAheadReader& m = **r;
    auto first = m.view();
    REQUIRE(first);
    std::shared_ptr<const void> first_owner = m.view_owner();
    CHECK(first_owner != nullptr);
    std::vector<std::size_t> sizes{first->size()};
    std::string seen = as_string(*first);
    for (;;) {
      auto v = m.view();
      REQUIRE(v);
      if (v->empty()) {
        break;
      }
      sizes.push_back(v->size());
      seen += as_string(*v);
    }
    CHECK(sizes == std::vector<std::size_t>{k_page, k_page, k_page, 100});
    CHECK(seen == data);
    CHECK(m.raw_bytes_read() == data.size());
    CHECK(m.view_owner() == nullptr); // past the end: nothing mapped
    // The reader moved on three windows ago; the held one is still there.
    CHECK(as_string(*first) == data.substr(0, k_page));
  }

  TEST_CASE("reads and views of a mapped tar mix and cover the file in order") {
    test::TempDir dir;
    const std::string data = pattern_bytes(2 * k_page + 7);
    put(dir / "f", data);
    auto r = map_plain_tar((dir / "f").string(), k_page);
    REQUIRE(r);
    REQUIRE(*r);
    std::vector<std::uint8_t> buf(10);
    auto n = (*r)->read(buf);
    REQUIRE(n);
    CHECK(*n == 10);
    std::string seen(buf.begin(), buf.end());
    auto rest = (*r)->view(); // the rest of the first window
    REQUIRE(rest);
    CHECK(rest->size() == k_page - 10);
    seen += as_string(*rest);
    for (;;) {
      auto k = (*r)->read(buf);
      REQUIRE(k);
      if (*k == 0) {
        break;
      }
      seen.append(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*k));
    }
    CHECK(seen == data);
  }

  TEST_CASE("stdin, FIFOs, directories, tiny, missing and compressed files are left to the stream reader") {
    test::TempDir dir;
    put(dir / "gz", std::string("\x1f\x8b\x08\x00rest", 8));
    put(dir / "zst", std::string("\x28\xb5\x2f\xfdrest", 8));
    put(dir / "tiny", "abc");
    REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0); // opening it would wait for a writer
    fs::create_directory(dir / "sub");
    for (const std::string& p : {std::string("-"), (dir / "gz").string(), (dir / "zst").string(),
                                 (dir / "tiny").string(), (dir / "fifo").string(), (dir / "sub").string(),
                                 (dir / "missing").string()}) {
      CAPTURE(p);
      auto r = map_plain_tar(p);
      REQUIRE(r);
      CHECK(*r == nullptr);
    }
  }

  TEST_CASE("a mapped tar that shrinks while it is read fails at its next window, naming the file") {
    test::TempDir dir;
    const std::string path = (dir / "f").string();
    put(dir / "f", pattern_bytes(3 * k_page));
    auto r = map_plain_tar(path, k_page);
    REQUIRE(r);
    REQUIRE(*r);
    REQUIRE((*r)->view());
    REQUIRE(::truncate(path.c_str(), static_cast<off_t>(k_page + 1)) == 0);
    auto next = (*r)->view();
    REQUIRE_FALSE(next);
    CHECK(next.error().code == Errc::io);
    CHECK(next.error().message == path + ": file shrank while being read");
  }

  TEST_CASE("the data blocks of a mapped tar and of a streamed one have an owner that keeps them") {
    test::TempDir dir;
    const fs::path tar = dir / "layer.tar";
    test::write_tar(tar, {test::tar_file("a", pattern_bytes(3000))});
    auto mapped = open_tar_source(tar.string(), k_page);
    auto stream = LayerStream::open(tar.string());
    REQUIRE(stream);
    auto streamed = open_tar_source(std::move(*stream));
    for (auto* src : {&mapped, &streamed}) {
      REQUIRE(*src);
      SourceEntry e;
      auto more = (**src)->next(e);
      REQUIRE(more);
      REQUIRE(*more);
      const std::uint8_t* block = nullptr;
      std::size_t len = 0;
      std::uint64_t off = 0;
      auto have = (**src)->data().next_block(block, len, off);
      REQUIRE(have);
      REQUIRE(*have);
      CHECK(off == 0);
      CHECK(len == 3000); // inside the first page-sized window, after the 512-byte header
      CHECK((**src)->data().block_owner() != nullptr);
    }
  }

  TEST_CASE("an image built from a mapped tar, chunks straddling its windows, equals the one built from a stream") {
    // Chunks of 4 KiB and windows of one page: most file data starts at an
    // odd 512-byte offset, so chunks fall inside one window (not copied)
    // or across two (copied), and sparse files mix both with holes.
    test::TempDir dir;
    const std::string big = pattern_bytes(5 * 4096 + 300);
    std::string random_ish(9000, '\0');
    for (std::size_t i = 0; i < random_ish.size(); ++i) {
      random_ish[i] = static_cast<char>((i * i * 7919u + i * 104729u) >> 5); // stored raw by zstd
    }
    const std::vector<test::TarEntry> entries{
        test::tar_dir("d"),
        test::tar_file("d/empty", ""),
        test::tar_file("d/one", "x"),
        test::tar_file("d/page", pattern_bytes(4096)),
        test::tar_file("d/big", big),
        test::tar_file("d/copy", big), // deduplicated chunk by chunk
        test::tar_file("d/raw", random_ish),
        test::tar_hardlink("d/link", "d/big"),
        test::tar_symlink("d/sym", "big"),
        test::tar_sparse("d/sparse", 7 * 4096 + 11, {{100, pattern_bytes(5000)}, {4 * 4096 + 5, "tail"}}),
        test::tar_file("d/after", pattern_bytes(4097)),
    };
    const fs::path tar = dir / "layer.tar";
    test::write_tar(tar, entries);
    for (Compressor c : {Compressor::none, Compressor::zstd, Compressor::lz4_block}) {
      CAPTURE(static_cast<int>(c));
      BuildOptions o;
      o.chunk_size = 4096;
      o.compressor = c;
      o.threads = 2;
      auto mapped = open_tar_source(tar.string(), k_page);
      REQUIRE(mapped);
      auto stream = LayerStream::open(tar.string());
      REQUIRE(stream);
      auto streamed = open_tar_source(std::move(*stream));
      REQUIRE(streamed);
      const ImageBytes a = build_from(**mapped, o, dir, "mapped");
      const ImageBytes b = build_from(**streamed, o, dir, "streamed");
      CHECK(a.bootstrap == b.bootstrap);
      CHECK(a.blob == b.blob);
      CHECK(!a.blob.empty());
    }
  }
}
