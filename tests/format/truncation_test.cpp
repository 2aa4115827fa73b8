// The tiny image's bootstrap and blobs cut at every 64th of their length:
// the bootstrap fails to open with an error naming the file; a cut blob
// still serves every chunk that lies wholly before the cut, verified, and
// fails the others with an error naming the blob file.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "format/bootstrap.hpp"
#include "format/chunk_reader.hpp"
#include "format/layout.hpp"
#include "support/temp_dir.hpp"
#include "support/tiny_image.hpp"

namespace {

namespace fs = std::filesystem;
using Buf = std::vector<std::uint8_t>;
using rafs::v5::Bootstrap;

Buf slice(const Buf& bytes, std::uint64_t from, std::uint64_t n) {
  return {bytes.begin() + static_cast<std::ptrdiff_t>(from), bytes.begin() + static_cast<std::ptrdiff_t>(from + n)};
}

Buf cut(const Buf& bytes, std::size_t n) { return slice(bytes, 0, n); }

} // namespace

TEST_SUITE("format::truncation") {
  TEST_CASE("the tiny bootstrap cut at each 64th of its length fails to open with an error naming the file") {
    const Buf full = rafs::test::make_tiny_image().encode();
    rafs::test::TempDir tmp;
    const fs::path p = tmp / "tiny.boot";
    for (std::size_t k = 0; k < 64; ++k) {
      const std::size_t len = full.size() * k / 64;
      CAPTURE(len);
      rafs::test::write_file(p, cut(full, len));
      auto b = Bootstrap::open(p);
      REQUIRE_FALSE(b);
      CHECK(b.error().code == rafs::Errc::corrupted);
      CHECK(b.error().message.rfind(p.string() + ": ", 0) == 0);
      if (len < rafs::v5::k_sb_size) {
        CHECK(b.error().message == p.string() + ": file of " + std::to_string(len) +
                                       " bytes is shorter than the 8192-byte superblock");
      }
    }
  }

  TEST_CASE("a tiny blob cut at each 64th of its length: chunks wholly before the cut read back "
            "verified, later ones and their files fail naming the blob file") {
    const rafs::test::TinyImage img = rafs::test::make_tiny_image();
    auto image = Bootstrap::from_bytes(img.encode(), "tiny.boot");
    REQUIRE(image);
    const Bootstrap& b = *image;
    std::size_t chunks_read = 0;
    std::size_t chunks_failed = 0;
    for (std::uint32_t blob = 0; blob < 2; ++blob) {
      const Buf& full = img.blob_data.at(blob);
      for (std::size_t k = 0; k < 64; ++k) {
        const std::size_t len = full.size() * k / 64;
        CAPTURE(blob);
        CAPTURE(len);
        rafs::test::TempDir dir;
        img.write_blobs(dir.path());
        const fs::path blob_path = dir / img.spec.blobs.at(blob).id;
        rafs::test::write_file(blob_path, cut(full, len));
        rafs::v5::ChunkReader reader(b, dir.path());
        for (std::uint32_t i = 1; i <= b.inode_count(); ++i) {
          if (!b.inode(i).is_reg()) {
            continue;
          }
          const Buf& contents = img.contents.at(b.path(i));
          bool file_intact = true;
          for (std::uint32_t c = 0; c < b.chunk_count(i); ++c) {
            const rafs::v5::ChunkInfo info = b.chunk(i, c);
            const bool intact = info.blob_index != blob || info.compressed_offset + info.compressed_size <= len;
            file_intact = file_intact && intact;
            if (info.blob_index != blob) {
              continue;
            }
            Buf out(info.uncompressed_size);
            auto r = reader.read_chunk(info, out, true);
            if (intact) {
              REQUIRE(r);
              CHECK(out == slice(contents, info.file_offset, info.uncompressed_size));
              ++chunks_read;
            } else {
              REQUIRE_FALSE(r);
              CHECK(r.error().message == blob_path.string() + ": range " + std::to_string(info.compressed_offset) +
                                             "+" + std::to_string(info.compressed_size) + " is beyond the end (" +
                                             std::to_string(len) + " bytes)");
              ++chunks_failed;
            }
          }
          Buf data(b.inode(i).size);
          auto whole = reader.read_file(i, 0, data, true);
          CHECK(whole.ok() == file_intact);
          if (whole) {
            CHECK(data == contents);
          } else {
            CHECK(whole.error().message.rfind(blob_path.string() + ": range ", 0) == 0);
          }
        }
      }
    }
    // Blob 0: /hard's chunk (bytes 0..99, read for /hard and for /dir/hard2),
    // then /one's lz4 chunk, which every cut reaches; blob 1: /two's chunks
    // of 4096 and 1 bytes, which every cut reaches too.
    std::size_t cuts_keeping_hard = 0;
    for (std::size_t k = 0; k < 64; ++k) {
      cuts_keeping_hard += img.blob_data[0].size() * k / 64 >= 100 ? 1u : 0u;
    }
    CHECK(cuts_keeping_hard > 16);
    CHECK(chunks_read == 2 * cuts_keeping_hard);
    CHECK(chunks_failed == 64 * 5 - chunks_read);
  }
}
