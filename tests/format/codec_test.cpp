#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <lz4.h>
#include <zlib.h>
#include <zstd.h>

#include "format/codec.hpp"
#include "support/temp_dir.hpp"

namespace {

using rafs::Bytes;
using rafs::ChunkCompressor;
using rafs::ChunkDecompressor;
using rafs::Compressor;
using rafs::Errc;
using rafs::MutableBytes;
using Buf = std::vector<std::uint8_t>;

Buf text_data(std::size_t n) {
  static const std::string k_line =
      "The quick brown fox jumps over the lazy dog; RAFS chunk codec test line.\n";
  Buf out(n);
  for (std::size_t i = 0; i < n; ++i) {
    out[i] = static_cast<std::uint8_t>(k_line[i % k_line.size()]);
  }
  return out;
}

Buf noise_data(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Buf out(n);
  for (auto& b : out) {
    b = static_cast<std::uint8_t>(rng() >> 56);
  }
  return out;
}

// A heap copy of exactly `data.size()` bytes, so that a sanitizer build sees
// any read past the end of the input.
struct Exact {
  explicit Exact(const Buf& data)
      : p(std::make_unique<std::uint8_t[]>(data.size())), n(data.size()) {
    if (n != 0) {
      std::memcpy(p.get(), data.data(), n);
    }
  }
  Bytes bytes() const { return Bytes(p.get(), n); }
  std::unique_ptr<std::uint8_t[]> p;
  std::size_t n;
};

// Decompresses into an `expected`-byte span followed by guard bytes.
struct Guarded {
  static constexpr std::size_t k_guard = 64;
  static constexpr std::uint8_t k_fill = 0xA5;
  explicit Guarded(std::size_t expected) : buf(expected + k_guard, k_fill), size(expected) {}
  MutableBytes out() { return MutableBytes(buf.data(), size); }
  Buf content() const { return Buf(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(size)); }
  bool guard_intact() const {
    return std::all_of(buf.begin() + static_cast<std::ptrdiff_t>(size), buf.end(),
                       [](std::uint8_t b) { return b == k_fill; });
  }
  Buf buf;
  std::size_t size;
};

Buf compressed(Compressor algo, const Buf& in) {
  ChunkCompressor c(algo, 0);
  Buf out;
  auto r = c.compress(in, out);
  REQUIRE(r.ok());
  REQUIRE(*r);
  return out;
}

// Compresses, then decompresses (raw when compress returned false); returns
// what compress returned.
bool round_trip(ChunkCompressor& c, ChunkDecompressor& d, const Buf& in) {
  Buf packed;
  auto r = c.compress(in, packed);
  REQUIRE(r.ok());
  const bool was_compressed = *r;
  if (was_compressed) {
    CHECK(packed.size() < in.size());
  }
  const Buf& stored = was_compressed ? packed : in;
  const Compressor algo = was_compressed ? c.algo() : Compressor::none;
  Exact src(stored);
  Guarded dst(in.size());
  auto dr = d.decompress(algo, src.bytes(), dst.out());
  REQUIRE_MESSAGE(dr.ok(), dr.error().message);
  CHECK(dst.content() == in);
  CHECK(dst.guard_intact());
  return was_compressed;
}

void check_fails(Compressor algo, const Buf& in, std::size_t expected) {
  ChunkDecompressor d;
  Exact src(in);
  Guarded dst(expected);
  auto r = d.decompress(algo, src.bytes(), dst.out());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Errc::compression);
  CHECK_FALSE(r.error().message.empty());
  CHECK(dst.guard_intact());
}

Buf gzip_member(const Buf& in, int level) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, level, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  Buf out(deflateBound(&z, static_cast<uLong>(in.size())));
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  const int ret = deflate(&z, Z_FINISH);
  const auto len = static_cast<std::size_t>(z.total_out);
  deflateEnd(&z);
  REQUIRE(ret == Z_STREAM_END);
  out.resize(len);
  return out;
}

Buf concat(const Buf& a, const Buf& b) {
  Buf out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

constexpr Compressor k_packing[] = {Compressor::lz4_block, Compressor::zstd};

} // namespace

TEST_SUITE("format::codec") {
  TEST_CASE("compressor names map to algorithms and back") {
    for (Compressor c : {Compressor::none, Compressor::lz4_block, Compressor::gzip, Compressor::zstd}) {
      CHECK(rafs::compressor_from_name(rafs::compressor_name(c)) == c);
    }
    CHECK(rafs::compressor_name(Compressor::none) == "none");
    CHECK(rafs::compressor_name(Compressor::lz4_block) == "lz4_block");
    CHECK(rafs::compressor_name(Compressor::gzip) == "gzip");
    CHECK(rafs::compressor_name(Compressor::zstd) == "zstd");
    CHECK_FALSE(rafs::compressor_from_name("lz4").has_value());
    CHECK_FALSE(rafs::compressor_from_name("ZSTD").has_value());
    CHECK_FALSE(rafs::compressor_from_name("zstd ").has_value());
    CHECK_FALSE(rafs::compressor_from_name("").has_value());
  }

  TEST_CASE("none never compresses and decompresses by copying equal-sized input") {
    ChunkCompressor c(Compressor::none, 0);
    ChunkDecompressor d;
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{4095}, std::size_t{4096},
                          std::size_t{4097}, std::size_t{1} << 20}) {
      CAPTURE(n);
      CHECK_FALSE(round_trip(c, d, text_data(n)));
      CHECK_FALSE(round_trip(c, d, noise_data(n, n)));
    }
    check_fails(Compressor::none, text_data(100), 99);
    check_fails(Compressor::none, text_data(100), 101);
  }

  TEST_CASE("lz4_block and zstd round-trip 1 MiB of repeated text, compressed") {
    const Buf in = text_data(std::size_t{1} << 20);
    for (Compressor algo : k_packing) {
      CAPTURE(rafs::compressor_name(algo));
      ChunkCompressor c(algo, 0);
      ChunkDecompressor d;
      CHECK(round_trip(c, d, in));
    }
  }

  TEST_CASE("random data is incompressible: compress returns false and the raw copy round-trips") {
    for (Compressor algo : k_packing) {
      CAPTURE(rafs::compressor_name(algo));
      ChunkCompressor c(algo, 0);
      ChunkDecompressor d;
      for (std::size_t n : {std::size_t{1} << 20, std::size_t{4095}, std::size_t{4096},
                            std::size_t{4097}, std::size_t{64}}) {
        CAPTURE(n);
        CHECK_FALSE(round_trip(c, d, noise_data(n, 7 + n)));
      }
    }
  }

  TEST_CASE("empty input is never compressed and decodes from an empty raw chunk") {
    for (Compressor algo : {Compressor::none, Compressor::lz4_block, Compressor::zstd}) {
      CAPTURE(rafs::compressor_name(algo));
      ChunkCompressor c(algo, 0);
      ChunkDecompressor d;
      Buf out;
      auto r = c.compress(Bytes{}, out);
      REQUIRE(r.ok());
      CHECK_FALSE(*r);
      CHECK_FALSE(round_trip(c, d, Buf{}));
    }
  }

  TEST_CASE("a 1-byte input is not compressed and round-trips raw") {
    for (Compressor algo : {Compressor::none, Compressor::lz4_block, Compressor::zstd}) {
      CAPTURE(rafs::compressor_name(algo));
      ChunkCompressor c(algo, 0);
      ChunkDecompressor d;
      CHECK_FALSE(round_trip(c, d, Buf{0x42}));
      CHECK_FALSE(round_trip(c, d, Buf{0x00}));
    }
  }

  TEST_CASE("compressible inputs of 4095, 4096 and 4097 bytes round-trip compressed") {
    for (Compressor algo : k_packing) {
      CAPTURE(rafs::compressor_name(algo));
      ChunkCompressor c(algo, 0);
      ChunkDecompressor d;
      for (std::size_t n : {std::size_t{4095}, std::size_t{4096}, std::size_t{4097}}) {
        CAPTURE(n);
        CHECK(round_trip(c, d, text_data(n)));
        Buf zeros(n, 0);
        CHECK(round_trip(c, d, zeros));
      }
    }
  }

  TEST_CASE("zstd output is one frame with magic 28 b5 2f fd and the content size in its header") {
    for (std::size_t n : {std::size_t{4096}, std::size_t{4097}, std::size_t{1} << 20}) {
      CAPTURE(n);
      const Buf in = text_data(n);
      const Buf out = compressed(Compressor::zstd, in);
      REQUIRE(out.size() >= 4);
      CHECK(out[0] == 0x28);
      CHECK(out[1] == 0xb5);
      CHECK(out[2] == 0x2f);
      CHECK(out[3] == 0xfd);
      CHECK(ZSTD_getFrameContentSize(out.data(), out.size()) == n);
      CHECK(ZSTD_findFrameCompressedSize(out.data(), out.size()) == out.size());
      Buf back(n);
      CHECK(ZSTD_decompress(back.data(), back.size(), out.data(), out.size()) == n);
      CHECK(back == in);
    }
  }

  TEST_CASE("zstd level 0 means the default level 3") {
    const Buf in = text_data(std::size_t{1} << 18);
    Buf level0;
    Buf level3;
    Buf level19;
    ChunkCompressor c0(Compressor::zstd, 0);
    ChunkCompressor c3(Compressor::zstd, 3);
    ChunkCompressor c19(Compressor::zstd, 19);
    REQUIRE(*c0.compress(in, level0));
    REQUIRE(*c3.compress(in, level3));
    REQUIRE(*c19.compress(in, level19));
    CHECK(level0 == level3);
    Buf reference(ZSTD_compressBound(in.size()));
    const std::size_t n = ZSTD_compress(reference.data(), reference.size(), in.data(), in.size(), 3);
    REQUIRE_FALSE(ZSTD_isError(n));
    reference.resize(n);
    CHECK(level3 == reference);
    ChunkDecompressor d;
    Buf back(in.size());
    REQUIRE(d.decompress(Compressor::zstd, level19, back).ok());
    CHECK(back == in);
  }

  TEST_CASE("lz4_block output is a raw block without frame magic that LZ4_decompress_safe decodes") {
    for (std::size_t n : {std::size_t{4095}, std::size_t{4096}, std::size_t{1} << 20}) {
      CAPTURE(n);
      const Buf in = text_data(n);
      const Buf out = compressed(Compressor::lz4_block, in);
      REQUIRE(out.size() >= 4);
      const bool frame_magic = out[0] == 0x04 && out[1] == 0x22 && out[2] == 0x4d && out[3] == 0x18;
      CHECK_FALSE(frame_magic);
      Buf back(n);
      const int r = LZ4_decompress_safe(reinterpret_cast<const char*>(out.data()),
                                        reinterpret_cast<char*>(back.data()),
                                        static_cast<int>(out.size()), static_cast<int>(n));
      CHECK(r == static_cast<int>(n));
      CHECK(back == in);
    }
  }

  TEST_CASE("gzip compression is refused with Errc::unsupported") {
    ChunkCompressor c(Compressor::gzip, 0);
    Buf out;
    auto r = c.compress(text_data(4096), out);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::unsupported);
  }

  TEST_CASE("gzip decodes a member written by zlib at level 6") {
    ChunkDecompressor d;
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{4096}, std::size_t{1} << 20}) {
      CAPTURE(n);
      for (const Buf& in : {text_data(n), noise_data(n, n)}) {
        const Buf member = gzip_member(in, 6);
        Exact src(member);
        Guarded dst(n);
        auto r = d.decompress(Compressor::gzip, src.bytes(), dst.out());
        REQUIRE_MESSAGE(r.ok(), r.error().message);
        CHECK(dst.content() == in);
        CHECK(dst.guard_intact());
      }
    }
  }

  TEST_CASE("gzip decodes a member written by the gzip command") {
    rafs::test::TempDir dir;
    const Buf in = text_data(100000);
    rafs::test::write_file(dir / "chunk", in);
    const std::string cmd = "gzip -6 -c '" + (dir / "chunk").string() + "' > '" +
                            (dir / "chunk.gz").string() + "'";
    REQUIRE(std::system(cmd.c_str()) == 0);
    const Buf member = rafs::test::read_file(dir / "chunk.gz");
    REQUIRE(member.size() > 10);
    CHECK(member[0] == 0x1f);
    CHECK(member[1] == 0x8b);
    ChunkDecompressor d;
    Buf back(in.size());
    auto r = d.decompress(Compressor::gzip, member, back);
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    CHECK(back == in);
  }

  TEST_CASE("gzip with trailing data after the member fails") {
    const Buf in = text_data(4096);
    const Buf member = gzip_member(in, 6);
    check_fails(Compressor::gzip, concat(member, Buf{0x00}), in.size());
    check_fails(Compressor::gzip, concat(member, member), in.size());
    check_fails(Compressor::gzip, concat(member, member), 2 * in.size());
    ChunkDecompressor d;
    Buf back(in.size());
    auto r = d.decompress(Compressor::gzip, concat(member, Buf{0x00}), back);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("trailing data") != std::string::npos);
  }

  TEST_CASE("decompress with a wrong expected size fails and writes nothing past out") {
    for (std::size_t n : {std::size_t{1000}, std::size_t{4096}, std::size_t{1} << 20}) {
      CAPTURE(n);
      const Buf in = text_data(n);
      const Buf packed_lz4 = compressed(Compressor::lz4_block, in);
      const Buf packed_zstd = compressed(Compressor::zstd, in);
      const Buf packed_gzip = gzip_member(in, 6);
      for (std::size_t wrong : {n - 1, n / 2, std::size_t{0}, n + 1, 2 * n}) {
        CAPTURE(wrong);
        check_fails(Compressor::lz4_block, packed_lz4, wrong);
        check_fails(Compressor::zstd, packed_zstd, wrong);
        check_fails(Compressor::gzip, packed_gzip, wrong);
        check_fails(Compressor::none, in, wrong);
      }
    }
  }

  TEST_CASE("zstd reports a frame content size that differs from the expected size") {
    const Buf packed = compressed(Compressor::zstd, text_data(4096));
    ChunkDecompressor d;
    Buf back(100);
    auto r = d.decompress(Compressor::zstd, packed, back);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::compression);
    CHECK(r.error().message == "zstd: frame content size 4096 != expected 100");
  }

  TEST_CASE("truncated input fails") {
    const Buf in = text_data(8192);
    const Buf packed[] = {compressed(Compressor::lz4_block, in), compressed(Compressor::zstd, in),
                          gzip_member(in, 6)};
    const Compressor algos[] = {Compressor::lz4_block, Compressor::zstd, Compressor::gzip};
    for (std::size_t i = 0; i < 3; ++i) {
      CAPTURE(rafs::compressor_name(algos[i]));
      for (std::size_t len = 0; len < packed[i].size(); ++len) {
        CAPTURE(len);
        const Buf prefix(packed[i].begin(), packed[i].begin() + static_cast<std::ptrdiff_t>(len));
        check_fails(algos[i], prefix, in.size());
      }
    }
  }

  TEST_CASE("garbage input fails") {
    const Compressor algos[] = {Compressor::lz4_block, Compressor::zstd, Compressor::gzip};
    for (Compressor algo : algos) {
      CAPTURE(rafs::compressor_name(algo));
      for (std::uint64_t seed = 0; seed < 50; ++seed) {
        const std::size_t len = static_cast<std::size_t>(seed * 37 % 600);
        check_fails(algo, noise_data(len, seed), 4096);
      }
      check_fails(algo, Buf(300, 0x00), 4096);
      check_fails(algo, Buf(300, 0xff), 4096);
    }
    // Garbage behind valid-looking headers.
    Buf zstd_like = noise_data(200, 99);
    zstd_like[0] = 0x28;
    zstd_like[1] = 0xb5;
    zstd_like[2] = 0x2f;
    zstd_like[3] = 0xfd;
    check_fails(Compressor::zstd, zstd_like, 4096);
    Buf gzip_like = noise_data(200, 98);
    gzip_like[0] = 0x1f;
    gzip_like[1] = 0x8b;
    gzip_like[2] = 0x08;
    gzip_like[3] = 0x00;
    check_fails(Compressor::gzip, gzip_like, 4096);
    // Flipped bytes inside valid streams.
    const Buf in = text_data(4096);
    const Buf packed_zstd = compressed(Compressor::zstd, in);
    const Buf packed_gzip = gzip_member(in, 6);
    for (std::size_t pos : {std::size_t{8}, packed_zstd.size() / 2, packed_zstd.size() - 1}) {
      Buf bad = packed_zstd;
      bad[pos] = static_cast<std::uint8_t>(bad[pos] ^ 0x5a);
      ChunkDecompressor d;
      Guarded dst(in.size());
      // Our frames carry no checksum (as upstream's): a flip in a literal may
      // decode to other bytes of the right length, which the chunk digest
      // catches. It must never write past out.
      static_cast<void>(d.decompress(Compressor::zstd, bad, dst.out()));
      CHECK(dst.guard_intact());
    }
    for (std::size_t pos : {std::size_t{12}, packed_gzip.size() / 2, packed_gzip.size() - 5}) {
      Buf bad = packed_gzip;
      bad[pos] = static_cast<std::uint8_t>(bad[pos] ^ 0x5a);
      check_fails(Compressor::gzip, bad, in.size()); // CRC32 and ISIZE catch any change
    }
  }

  TEST_CASE("a zstd skippable frame is not a chunk") {
    Buf skippable = {0x50, 0x2a, 0x4d, 0x18, 0x00, 0x00, 0x00, 0x00};
    check_fails(Compressor::zstd, skippable, 0);
    check_fails(Compressor::zstd, concat(skippable, compressed(Compressor::zstd, text_data(4096))),
                4096);
  }

  TEST_CASE("trailing garbage after a zstd frame fails") {
    const Buf in = text_data(4096);
    const Buf packed = compressed(Compressor::zstd, in);
    check_fails(Compressor::zstd, concat(packed, Buf{0x00}), in.size());
    check_fails(Compressor::zstd, concat(packed, noise_data(64, 5)), in.size());
    ChunkDecompressor d;
    Buf back(in.size());
    auto r = d.decompress(Compressor::zstd, concat(packed, Buf{0x00}), back);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("trailing data") != std::string::npos);
  }

  TEST_CASE("two concatenated zstd frames fail") {
    const Buf a = text_data(4096);
    const Buf b = text_data(2048);
    const Buf two = concat(compressed(Compressor::zstd, a), compressed(Compressor::zstd, b));
    check_fails(Compressor::zstd, two, a.size());
    check_fails(Compressor::zstd, two, a.size() + b.size());
    check_fails(Compressor::zstd, two, b.size());
  }

  TEST_CASE("a zstd frame without a content size decodes when it yields exactly out.size()") {
    const Buf in = text_data(4096);
    std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> cctx(ZSTD_createCCtx(), &ZSTD_freeCCtx);
    REQUIRE(cctx);
    REQUIRE_FALSE(ZSTD_isError(ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_contentSizeFlag, 0)));
    Buf packed(ZSTD_compressBound(in.size()));
    const std::size_t n =
        ZSTD_compress2(cctx.get(), packed.data(), packed.size(), in.data(), in.size());
    REQUIRE_FALSE(ZSTD_isError(n));
    packed.resize(n);
    REQUIRE(ZSTD_getFrameContentSize(packed.data(), packed.size()) == ZSTD_CONTENTSIZE_UNKNOWN);
    ChunkDecompressor d;
    Guarded dst(in.size());
    auto r = d.decompress(Compressor::zstd, packed, dst.out());
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    CHECK(dst.content() == in);
    check_fails(Compressor::zstd, packed, in.size() - 1);
    check_fails(Compressor::zstd, packed, in.size() + 1);
  }

  TEST_CASE("an unknown algorithm value is refused") {
    ChunkDecompressor d;
    Buf back(4);
    auto r = d.decompress(static_cast<Compressor>(9), Buf{1, 2, 3, 4}, back);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::invalid_argument);
    ChunkCompressor c(static_cast<Compressor>(9), 0);
    Buf out;
    auto cr = c.compress(Buf{1, 2, 3, 4}, out);
    REQUIRE_FALSE(cr.ok());
    CHECK(cr.error().code == Errc::invalid_argument);
  }

  TEST_CASE("one compressor and one decompressor reused for 100 chunks of varying content round-trip") {
    for (Compressor algo : k_packing) {
      CAPTURE(rafs::compressor_name(algo));
      ChunkCompressor c(algo, 0);
      ChunkDecompressor d;
      std::mt19937_64 rng(42);
      int compressed_count = 0;
      int raw_count = 0;
      for (int i = 0; i < 100; ++i) {
        CAPTURE(i);
        const std::size_t n = static_cast<std::size_t>(rng() % (std::size_t{1} << 17));
        Buf in;
        switch (i % 4) {
        case 0: in = text_data(n); break;
        case 1: in = noise_data(n, static_cast<std::uint64_t>(i)); break;
        case 2: in = Buf(n, static_cast<std::uint8_t>(i)); break;
        default: {
          in = text_data(n);
          Buf noise = noise_data(n / 2, static_cast<std::uint64_t>(i));
          std::copy(noise.begin(), noise.end(), in.begin());
          break;
        }
        }
        if (round_trip(c, d, in)) {
          ++compressed_count;
        } else {
          ++raw_count;
        }
        // The same decompressor also serves other algorithms in between.
        if (i % 10 == 0) {
          const Buf g = text_data(1000 + static_cast<std::size_t>(i));
          Buf back(g.size());
          REQUIRE(d.decompress(Compressor::gzip, gzip_member(g, 6), back).ok());
          CHECK(back == g);
        }
        // A failure in between does not poison the context.
        if (i % 25 == 0) {
          Buf back(100);
          CHECK_FALSE(d.decompress(algo, noise_data(50, 3), back).ok());
        }
      }
      CHECK(compressed_count > 50);
      CHECK(raw_count > 10);
    }
  }

  TEST_CASE("moved compressors and decompressors keep working") {
    ChunkCompressor c(Compressor::zstd, 0);
    ChunkDecompressor d;
    CHECK(round_trip(c, d, text_data(4096)));
    ChunkCompressor c2 = std::move(c);
    ChunkDecompressor d2 = std::move(d);
    CHECK(c2.algo() == Compressor::zstd);
    CHECK(round_trip(c2, d2, text_data(8192)));
    c = ChunkCompressor(Compressor::lz4_block, 0);
    d = ChunkDecompressor();
    CHECK(round_trip(c, d, text_data(8192)));
  }
}
