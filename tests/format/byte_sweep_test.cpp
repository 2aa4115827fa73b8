// Every byte of the tiny image's bootstrap (every entry type, xattrs, a hard
// link, a prefetch table, two blobs) set to 0x00, to 0xFF and to its
// bit-flip, one at a time. Each variant either fails to open with an error
// naming the image, or answers every question in bounds: lookups, children,
// xattrs, targets, chunk ranges, digests and a verified read of every
// regular file from the real blobs.
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "format/bootstrap.hpp"
#include "format/bootstrap_walk.hpp"
#include "format/chunk_reader.hpp"
#include "format/layout.hpp"
#include "format/xattr.hpp"
#include "support/temp_dir.hpp"
#include "support/tiny_image.hpp"

namespace {

using Buf = std::vector<std::uint8_t>;
using rafs::v5::Bootstrap;
using namespace rafs::test::tiny;

struct Span {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
  bool holds(std::uint64_t at) const { return at >= begin && at < end; }
};

// Where the good image keeps each inode's digest and each chunk's block_id.
struct Layout {
  std::vector<std::pair<std::uint32_t, Span>> digests;   // index, bytes
  std::vector<std::pair<std::uint32_t, Span>> block_ids; // file index, bytes

  // The index whose digest (or one of whose block ids) holds byte `at`; 0: none.
  std::uint32_t digest_owner(std::uint64_t at) const { return owner(digests, at); }
  std::uint32_t block_id_owner(std::uint64_t at) const { return owner(block_ids, at); }

  static std::uint32_t owner(const std::vector<std::pair<std::uint32_t, Span>>& spans, std::uint64_t at) {
    for (const auto& [index, span] : spans) {
      if (span.holds(at)) {
        return index;
      }
    }
    return 0;
  }
};

std::size_t one_if(bool b) { return b ? 1u : 0u; }

// How many of 00, FF and ~byte differ from the byte and from each other.
std::size_t variants_of(std::uint8_t byte) { return byte == 0x00 || byte == 0xFF ? 1u : 3u; }

std::size_t variants_in(const Buf& bytes, const std::vector<std::pair<std::uint32_t, Span>>& spans) {
  std::size_t n = 0;
  for (const auto& [index, span] : spans) {
    for (std::uint64_t at = span.begin; at < span.end; ++at) {
      n += variants_of(bytes[at]);
    }
  }
  return n;
}

Layout layout_of(const rafs::test::TinyImage& img, const Bootstrap& b) {
  Layout l;
  for (std::uint32_t i = 1; i <= b.inode_count(); ++i) {
    const std::uint64_t at = b.record_offset(i);
    l.digests.emplace_back(i, Span{at, at + 32});
    const auto& spec = img.at(i);
    std::uint64_t chunk_at = at + sizeof(rafs::v5::InodeRecord) + rafs::align8(spec.name.size()) +
                             rafs::align8(spec.symlink.size());
    if (!spec.xattrs.empty()) {
      chunk_at += rafs::v5::encode_xattrs(spec.xattrs).size();
    }
    for (std::size_t k = 0; k < spec.chunks.size(); ++k) {
      const std::uint64_t c = chunk_at + k * sizeof(rafs::v5::ChunkRecord);
      l.block_ids.emplace_back(i, Span{c, c + 32});
    }
  }
  return l;
}

// The original contents of each regular file, by index.
std::map<std::uint32_t, Buf> contents_by_index(const rafs::test::TinyImage& img, const Bootstrap& b) {
  std::map<std::uint32_t, Buf> out;
  for (std::uint32_t i = 1; i <= b.inode_count(); ++i) {
    if (b.inode(i).is_reg()) {
      out[i] = img.contents.at(b.path(i));
    }
  }
  return out;
}

} // namespace

TEST_SUITE("format::Bootstrap byte sweep") {
  TEST_CASE("each byte of the tiny bootstrap set to 00, FF and its bit-flip: open fails naming the "
            "image, or every lookup, listing, xattr, chunk range, digest and verified read stays in "
            "bounds") {
    const rafs::test::TinyImage img = rafs::test::make_tiny_image();
    const Buf good = img.encode();
    rafs::test::TempDir blobs;
    img.write_blobs(blobs.path());
    auto good_image = Bootstrap::from_bytes(good, "tiny.boot");
    REQUIRE(good_image);
    const Layout layout = layout_of(img, *good_image);
    const std::map<std::uint32_t, Buf> originals = contents_by_index(img, *good_image);
    REQUIRE(originals.size() == 5);

    std::size_t variants = 0;
    std::size_t skipped = 0; // a value equal to the byte, or to an earlier variant of it
    std::size_t opened = 0;
    std::size_t rejected = 0;
    std::size_t misnamed_errors = 0;   // open errors not starting with "tiny.boot: "
    std::size_t inconsistent = 0;      // walk answers that contradict each other
    std::size_t wrong_data = 0;        // a verified read that returned other bytes
    std::size_t reserved_variants = 0; // superblock bytes 80..8191
    std::size_t reserved_caught = 0;
    std::size_t magic_variants = 0;
    std::size_t magic_caught = 0;
    std::size_t digest_variants = 0;
    std::size_t digest_exact = 0; // opened, the inode and its directory mismatch, every file reads
    std::size_t block_id_variants = 0;
    std::size_t block_id_exact = 0; // opened, that file alone mismatches and fails to read
    std::uint64_t sink = 0;

    for (std::size_t at = 0; at < good.size(); ++at) {
      const std::uint8_t orig = good[at];
      std::set<std::uint8_t> tried{orig};
      for (std::uint8_t value : {std::uint8_t{0x00}, std::uint8_t{0xFF}, static_cast<std::uint8_t>(~orig)}) {
        if (!tried.insert(value).second) {
          ++skipped;
          continue;
        }
        ++variants;
        const bool in_reserved = at >= sizeof(rafs::v5::SuperBlockRecord) && at < rafs::v5::k_sb_size;
        const std::uint32_t digest_of = layout.digest_owner(at);
        const std::uint32_t block_id_of = layout.block_id_owner(at);
        reserved_variants += one_if(in_reserved);
        magic_variants += one_if(at < 4);
        digest_variants += one_if(digest_of != 0);
        block_id_variants += one_if(block_id_of != 0);
        Buf bytes = good;
        bytes[at] = value;
        auto b = Bootstrap::from_bytes(std::move(bytes), "tiny.boot");
        if (!b) {
          ++rejected;
          const std::string& m = b.error().message;
          misnamed_errors += one_if(m.rfind("tiny.boot: ", 0) != 0);
          reserved_caught +=
              one_if(in_reserved && m == "tiny.boot: superblock: reserved bytes 80..8191 are not zero");
          magic_caught += one_if(at < 4 && m.rfind("tiny.boot: superblock: bad magic ", 0) == 0);
          continue;
        }
        ++opened;
        rafs::v5::ChunkReader reader(*b, blobs.path());
        const rafs::test::WalkResult w = rafs::test::walk(*b, &reader);
        sink += w.sink;
        inconsistent += w.inconsistent;
        for (const auto& [index, data] : w.files) {
          auto it = originals.find(index);
          wrong_data += one_if(it == originals.end() || it->second != data);
        }
        if (digest_of != 0) {
          const std::size_t expected = digest_of == k_root ? 1 : 2; // itself and its directory
          digest_exact += one_if(w.digest_mismatches == expected && w.files.size() == originals.size());
        }
        if (block_id_of != 0) {
          auto err = w.read_errors.find(block_id_of);
          block_id_exact += one_if(w.digest_mismatches == 1 && w.files.size() == originals.size() - 1 &&
                                   err != w.read_errors.end() &&
                                   err->second.message.find(": digest mismatch: expected ") != std::string::npos);
        }
      }
    }
    MESSAGE(variants << " variants of " << good.size() << " bytes (" << skipped << " skipped): " << opened
                     << " opened, " << rejected << " rejected");
    CHECK(variants + skipped == 3 * good.size());
    CHECK(variants == variants_in(good, {{0, Span{0, good.size()}}}));
    CHECK(opened + rejected == variants);
    CHECK(misnamed_errors == 0);
    CHECK(inconsistent == 0);
    CHECK(wrong_data == 0);
    // The reserved area is all zero: each of its 8112 bytes has one variant (FF).
    CHECK(reserved_variants == 8112);
    CHECK(reserved_caught == reserved_variants);
    CHECK(magic_variants == 12);
    CHECK(magic_caught == magic_variants);
    // Digests are checked by verify_inode_digests, not at open: a wrong one
    // opens and mismatches with its directory's (11 inodes).
    CHECK(layout.digests.size() == 11);
    CHECK(digest_variants == variants_in(good, layout.digests));
    CHECK(digest_exact == digest_variants);
    // Five chunk records (hard, hard2, one and two's two): a wrong block id
    // opens, fails that file's verified read and its digest, nothing else.
    CHECK(layout.block_ids.size() == 5);
    CHECK(block_id_variants == variants_in(good, layout.block_ids));
    CHECK(block_id_exact == block_id_variants);
    CHECK(sink > 0);
  }
}
