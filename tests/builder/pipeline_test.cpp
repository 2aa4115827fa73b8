// The conversion pipeline's stages: the read-ahead thread under the tar
// parser, and the blob writer's batched hand-off between threads.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <unordered_set>

#include "builder/blob_writer.hpp"
#include "builder/read_ahead.hpp"
#include "format/codec.hpp"
#include "format/layout.hpp"

using namespace rafs;
using namespace rafs::builder;

namespace {

std::uint8_t pattern(std::uint64_t i) { return static_cast<std::uint8_t>((i * 2654435761u) >> 13); }

// `total` pattern bytes in pieces of at most `piece`, then an error if asked.
class PatternReader final : public ByteReader {
public:
  PatternReader(std::uint64_t total, std::size_t piece, bool fail_at_end)
      : m_total(total), m_piece(piece), m_fail(fail_at_end) {}
  Result<std::size_t> read(MutableBytes out) override {
    if (m_pos == m_total) {
      if (m_fail) {
        return make_error(Errc::corrupted, "pattern: broken after " + std::to_string(m_total));
      }
      return std::size_t{0};
    }
    const auto n = static_cast<std::size_t>(
        std::min<std::uint64_t>({std::uint64_t{out.size()}, std::uint64_t{m_piece}, m_total - m_pos}));
    for (std::size_t i = 0; i < n; ++i) {
      out[i] = pattern(m_pos + i);
    }
    m_pos += n;
    return n;
  }
  std::string name() const override { return "pattern"; }
  std::uint64_t raw_bytes_read() const override { return m_pos; }

private:
  std::uint64_t m_total;
  std::size_t m_piece;
  bool m_fail;
  std::uint64_t m_pos = 0;
};

// Reads everything in pieces of `piece` bytes; returns the byte count and
// whether every byte matched the pattern.
struct Drained {
  std::uint64_t bytes = 0;
  bool same = true;
  std::optional<Error> error;
};
Drained drain(ByteReader& r, std::size_t piece) {
  Drained d;
  std::vector<std::uint8_t> buf(piece);
  for (;;) {
    auto n = r.read(buf);
    if (!n) {
      d.error = n.error();
      return d;
    }
    if (*n == 0) {
      return d;
    }
    for (std::size_t i = 0; i < *n; ++i) {
      d.same = d.same && buf[i] == pattern(d.bytes + i);
    }
    d.bytes += *n;
  }
}

class MemorySink final : public BlobSink {
public:
  std::vector<std::uint8_t> bytes;
  Result<void> write(Bytes data) override {
    bytes.insert(bytes.end(), data.begin(), data.end());
    return {};
  }
  Result<void> read_at(std::uint64_t offset, MutableBytes out) override {
    std::memcpy(out.data(), bytes.data() + offset, out.size());
    return {};
  }
};

} // namespace

TEST_SUITE("pipeline") {
  TEST_CASE("read-ahead passes every byte through in order whatever the piece sizes") {
    const std::uint64_t total = 3 * 65536 + 17;
    for (std::size_t inner_piece : {1u, 1000u, 65536u, 200000u}) {
      for (std::size_t outer_piece : {7u, 65536u, 1u << 20}) {
        auto r = read_ahead(std::make_unique<PatternReader>(total, inner_piece, false), 65536, 3);
        Drained d = drain(*r, outer_piece);
        CHECK(d.bytes == total);
        CHECK(d.same);
        CHECK_FALSE(d.error);
        CHECK(r->raw_bytes_read() == total);
        CHECK(r->name() == "pattern");
        CHECK(*r->read(MutableBytes()) == 0); // stays at the end
      }
    }
  }

  TEST_CASE("read-ahead delivers the inner error after exactly the bytes before it") {
    auto r = read_ahead(std::make_unique<PatternReader>(100000, 4096, true), 8192, 2);
    Drained d = drain(*r, 3000);
    CHECK(d.bytes == 100000);
    CHECK(d.same);
    REQUIRE(d.error);
    CHECK(d.error->message == "pattern: broken after 100000");
  }

  TEST_CASE("read-ahead views, mixed with reads, cover the stream in order and then give the inner error") {
    auto r = read_ahead(std::make_unique<PatternReader>(100000, 4096, true), 8192, 2);
    std::uint64_t at = 0;
    bool same = true;
    std::vector<std::uint8_t> buf(7);
    for (int call = 0;; ++call) {
      Bytes got;
      if (call % 3 == 2) { // every third call a small read in the middle of a buffer
        auto n = r->read(buf);
        REQUIRE(n);
        got = Bytes(buf).first(*n);
      } else {
        auto v = r->view();
        if (!v) {
          CHECK(v.error().message == "pattern: broken after 100000");
          break;
        }
        REQUIRE(!v->empty()); // the error comes before any end
        got = *v;
      }
      for (std::size_t i = 0; i < got.size(); ++i) {
        same = same && got[i] == pattern(at + i);
      }
      at += got.size();
    }
    CHECK(at == 100000);
    CHECK(same);
  }

  TEST_CASE("read-ahead view is empty at the end and stays so") {
    auto r = read_ahead(std::make_unique<PatternReader>(20000, 4096, false), 8192, 2);
    std::uint64_t total = 0;
    for (;;) {
      auto v = r->view();
      REQUIRE(v);
      if (v->empty()) {
        break;
      }
      CHECK(v->size() <= 8192);
      total += v->size();
    }
    CHECK(total == 20000);
    CHECK(r->view()->empty());
    std::vector<std::uint8_t> one(1);
    CHECK(*r->read(one) == 0);
  }

  TEST_CASE("a read-ahead view's bytes stay while its owner is held, the stream going on past it") {
    auto r = read_ahead(std::make_unique<PatternReader>(100000, 4096, false), 8192, 2);
    auto first = r->view();
    REQUIRE(first);
    REQUIRE(first->size() == 8192);
    std::shared_ptr<const void> owner = r->view_owner();
    REQUIRE(owner != nullptr);
    const Bytes kept = *first;
    Drained rest = drain(*r, 1000); // 12 more buffers through a read-ahead of 2
    CHECK(rest.bytes == 100000 - 8192);
    bool same = true;
    for (std::size_t i = 0; i < kept.size(); ++i) {
      same = same && kept[i] == pattern(i);
    }
    CHECK(same);
    owner.reset(); // the buffer goes back to the pool, possibly after the reader: both orders are safe
    r.reset();
  }

  TEST_CASE("read-ahead stops its thread when dropped in the middle of an endless stream") {
    auto r = read_ahead(std::make_unique<PatternReader>(UINT64_MAX, 65536, false), 65536, 2);
    std::vector<std::uint8_t> buf(10);
    CHECK(*r->read(buf) == 10);
    r.reset(); // joins the producer: the test would hang otherwise
    CHECK(true);
  }

  TEST_CASE("batched blob writer gives the same blob and chunk records with 1 or 4 threads") {
    // Small chunks (many per batch) between large ones (one per batch),
    // with repeats so dedup decides across batch boundaries.
    std::vector<std::vector<std::uint8_t>> chunks;
    for (std::uint32_t i = 0; i < 3000; ++i) {
      const std::size_t size = i % 500 == 0 ? (1u << 20) : 1 + (i * 37) % 5000;
      std::vector<std::uint8_t> c(size);
      const std::uint32_t seed = i % 7 == 3 ? 3 : i; // every 7th chunk repeats chunk 3
      for (std::size_t k = 0; k < size; ++k) {
        c[k] = static_cast<std::uint8_t>((seed * 131 + k * (seed % 13 + 1)) >> 2);
      }
      if (seed == 3) {
        c = chunks.size() > 3 ? chunks[3] : c;
      }
      chunks.push_back(std::move(c));
    }
    std::unordered_set<std::string> distinct;
    for (const auto& c : chunks) {
      distinct.emplace(c.begin(), c.end());
    }
    auto run = [&](unsigned threads, MemorySink& sink) {
      BuildOptions o;
      o.threads = threads;
      o.compressor = Compressor::zstd;
      o.chunk_size = 1u << 20;
      BlobWriter w(o, sink);
      std::vector<std::uint32_t> slots;
      for (const auto& c : chunks) {
        auto s = w.submit(rafs::ByteBuffer(c.begin(), c.end()));
        REQUIRE(s);
        slots.push_back(*s);
      }
      REQUIRE(w.finish());
      REQUIRE(w.close({}));
      std::vector<v5::ChunkInfo> infos;
      for (std::uint32_t k = 0; k < slots.size(); ++k) {
        CHECK(slots[k] == k);
        infos.push_back(w.chunk(slots[k]));
      }
      CHECK(w.stats().chunks_submitted == chunks.size());
      CHECK(w.stats().chunks_stored == distinct.size());
      CHECK(w.stats().dedup_hits == chunks.size() - distinct.size());
      return infos;
    };
    MemorySink one, four;
    auto a = run(1, one);
    auto b = run(4, four);
    CHECK(one.bytes == four.bytes);
    REQUIRE(a.size() == b.size());
    for (std::size_t k = 0; k < a.size(); ++k) {
      CHECK(a[k].compressed_offset == b[k].compressed_offset);
      CHECK(a[k].compressed_size == b[k].compressed_size);
      CHECK(a[k].uncompressed_size == chunks[k].size());
      CHECK(a[k].block_id == b[k].block_id);
    }
    // Every record decodes to its own chunk.
    ChunkDecompressor d;
    for (std::size_t k = 0; k < a.size(); k += 97) {
      std::vector<std::uint8_t> out(a[k].uncompressed_size);
      Bytes in(one.bytes.data() + a[k].compressed_offset, a[k].compressed_size);
      if ((a[k].flags & v5::k_chunk_compressed) != 0) {
        REQUIRE(d.decompress(Compressor::zstd, in, out));
      } else {
        out.assign(in.begin(), in.end());
      }
      CHECK(out == chunks[k]);
    }
  }
}
