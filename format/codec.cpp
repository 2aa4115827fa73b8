#include "format/codec.hpp"

#include <climits>
#include <cstring>
#include <string>

#define ZLIB_CONST
#include <lz4.h>
#include <zlib.h>
#include <zstd.h>

namespace rafs {

namespace {

constexpr int k_default_zstd_level = 3;

// A byte to point codecs at when a span is empty (its data() may be null).
std::uint8_t g_empty_dummy = 0;

const std::uint8_t* in_ptr(Bytes in) noexcept {
  return in.empty() ? &g_empty_dummy : in.data();
}

std::uint8_t* out_ptr(MutableBytes out) noexcept {
  return out.empty() ? &g_empty_dummy : out.data();
}

Error codec_error(std::string message) {
  return make_error(Errc::compression, std::move(message));
}

struct ZstdCCtxDeleter {
  void operator()(ZSTD_CCtx* c) const noexcept { ZSTD_freeCCtx(c); }
};
struct ZstdDCtxDeleter {
  void operator()(ZSTD_DCtx* d) const noexcept { ZSTD_freeDCtx(d); }
};
struct Lz4StreamDeleter {
  void operator()(LZ4_stream_t* s) const noexcept { LZ4_freeStream(s); }
};
// A z_stream that went through inflateInit2 successfully.
struct InflateDeleter {
  void operator()(z_stream* z) const noexcept {
    inflateEnd(z);
    delete z;
  }
};

} // namespace

std::string_view compressor_name(Compressor c) noexcept {
  switch (c) {
  case Compressor::none: return "none";
  case Compressor::lz4_block: return "lz4_block";
  case Compressor::gzip: return "gzip";
  case Compressor::zstd: return "zstd";
  }
  return "unknown";
}

std::optional<Compressor> compressor_from_name(std::string_view name) noexcept {
  for (Compressor c : {Compressor::none, Compressor::lz4_block, Compressor::gzip, Compressor::zstd}) {
    if (name == compressor_name(c)) {
      return c;
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// ChunkCompressor

struct ChunkCompressor::Impl {
  std::unique_ptr<ZSTD_CCtx, ZstdCCtxDeleter> zstd;
  std::unique_ptr<LZ4_stream_t, Lz4StreamDeleter> lz4;
};

ChunkCompressor::ChunkCompressor(Compressor algo, int level)
    : m_algo(algo), m_level(level == 0 ? k_default_zstd_level : level),
      m_impl(std::make_unique<Impl>()) {}

ChunkCompressor::~ChunkCompressor() = default;
ChunkCompressor::ChunkCompressor(ChunkCompressor&&) noexcept = default;
ChunkCompressor& ChunkCompressor::operator=(ChunkCompressor&&) noexcept = default;

Result<std::size_t> ChunkCompressor::bound(std::size_t n) const {
  switch (m_algo) {
  case Compressor::none: return std::size_t{0};
  case Compressor::gzip:
    return make_error(Errc::unsupported, "gzip: compression is not supported (decode only)");
  case Compressor::lz4_block:
    if (n > static_cast<std::size_t>(LZ4_MAX_INPUT_SIZE)) {
      return make_error(Errc::invalid_argument, "lz4: chunk of " + std::to_string(n) + " bytes is too large");
    }
    return static_cast<std::size_t>(LZ4_compressBound(static_cast<int>(n)));
  case Compressor::zstd: {
    const std::size_t b = ZSTD_compressBound(n);
    if (ZSTD_isError(b)) {
      return make_error(Errc::invalid_argument, "zstd: chunk of " + std::to_string(n) + " bytes is too large");
    }
    return b;
  }
  }
  return make_error(Errc::invalid_argument,
                    "unknown compressor " + std::to_string(static_cast<unsigned>(m_algo)));
}

Result<std::size_t> ChunkCompressor::compress_into(Bytes in, MutableBytes out) {
  if (!m_impl) { // moved-from object being reused
    m_impl = std::make_unique<Impl>();
  }
  RAFS_TRY_ASSIGN(const std::size_t need, bound(in.size()));
  if (m_algo == Compressor::none || in.empty()) {
    return std::size_t{0};
  }
  if (out.size() < need) {
    return make_error(Errc::invalid_argument, "compression: output buffer of " + std::to_string(out.size()) +
                                                  " bytes, " + std::to_string(need) + " needed");
  }
  std::size_t len = 0;
  if (m_algo == Compressor::lz4_block) {
    if (!m_impl->lz4) {
      m_impl->lz4.reset(LZ4_createStream());
      if (!m_impl->lz4) {
        return codec_error("lz4: cannot allocate a compression state");
      }
    }
    const int n = LZ4_compress_fast_extState(m_impl->lz4.get(), reinterpret_cast<const char*>(in.data()),
                                             reinterpret_cast<char*>(out.data()), static_cast<int>(in.size()),
                                             static_cast<int>(need), 1);
    if (n <= 0) {
      return codec_error("lz4: compression failed");
    }
    len = static_cast<std::size_t>(n);
  } else { // zstd
    if (!m_impl->zstd) {
      m_impl->zstd.reset(ZSTD_createCCtx());
      if (!m_impl->zstd) {
        return codec_error("zstd: cannot allocate a compression context");
      }
    }
    // ZSTD_compressCCtx resets the context, applies the level and writes the
    // content size into the frame header.
    len = ZSTD_compressCCtx(m_impl->zstd.get(), out.data(), need, in.data(), in.size(), m_level);
    if (ZSTD_isError(len)) {
      return codec_error(std::string("zstd: compression failed: ") + ZSTD_getErrorName(len));
    }
  }
  return len < in.size() ? len : 0;
}

Result<bool> ChunkCompressor::compress(Bytes in, std::vector<std::uint8_t>& out) {
  RAFS_TRY_ASSIGN(const std::size_t need, bound(in.size()));
  out.resize(need);
  RAFS_TRY_ASSIGN(const std::size_t len, compress_into(in, out));
  out.resize(len);
  return len > 0;
}

// ---------------------------------------------------------------------------
// ChunkDecompressor

struct ChunkDecompressor::Impl {
  std::unique_ptr<ZSTD_DCtx, ZstdDCtxDeleter> zstd;
  std::unique_ptr<z_stream, InflateDeleter> zlib;

  Result<void> none(Bytes in, MutableBytes out);
  Result<void> lz4(Bytes in, MutableBytes out);
  Result<void> gzip(Bytes in, MutableBytes out);
  Result<void> zstd_frame(Bytes in, MutableBytes out);
};

ChunkDecompressor::ChunkDecompressor() : m_impl(std::make_unique<Impl>()) {}
ChunkDecompressor::~ChunkDecompressor() = default;
ChunkDecompressor::ChunkDecompressor(ChunkDecompressor&&) noexcept = default;
ChunkDecompressor& ChunkDecompressor::operator=(ChunkDecompressor&&) noexcept = default;

Result<void> ChunkDecompressor::Impl::none(Bytes in, MutableBytes out) {
  if (in.size() != out.size()) {
    return codec_error("none: stored size " + std::to_string(in.size()) + " != expected " +
                       std::to_string(out.size()));
  }
  if (!in.empty()) {
    std::memcpy(out.data(), in.data(), in.size());
  }
  return {};
}

Result<void> ChunkDecompressor::Impl::lz4(Bytes in, MutableBytes out) {
  if (in.empty()) {
    return codec_error("lz4: empty input");
  }
  if (in.size() > static_cast<std::size_t>(INT_MAX) || out.size() > static_cast<std::size_t>(INT_MAX)) {
    return codec_error("lz4: block too large");
  }
  const int n = LZ4_decompress_safe(reinterpret_cast<const char*>(in.data()),
                                    reinterpret_cast<char*>(out_ptr(out)),
                                    static_cast<int>(in.size()), static_cast<int>(out.size()));
  if (n < 0 || static_cast<std::size_t>(n) != out.size()) {
    return codec_error("lz4: corrupt block or size mismatch (expected " +
                       std::to_string(out.size()) + " bytes)");
  }
  return {};
}

Result<void> ChunkDecompressor::Impl::gzip(Bytes in, MutableBytes out) {
  if (in.empty()) {
    return codec_error("gzip: empty input");
  }
  if (in.size() > UINT_MAX || out.size() > UINT_MAX) {
    return codec_error("gzip: member too large");
  }
  if (!zlib) {
    auto z = std::make_unique<z_stream>();
    std::memset(z.get(), 0, sizeof(z_stream));
    if (inflateInit2(z.get(), 16 + MAX_WBITS) != Z_OK) {
      return codec_error("gzip: cannot initialise inflate");
    }
    zlib.reset(z.release());
  } else if (inflateReset(zlib.get()) != Z_OK) {
    return codec_error("gzip: cannot reset inflate");
  }
  z_stream& z = *zlib;
  z.next_in = in_ptr(in);
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = out_ptr(out);
  z.avail_out = static_cast<uInt>(out.size());
  const int ret = inflate(&z, Z_FINISH);
  switch (ret) {
  case Z_STREAM_END:
    if (z.avail_out != 0) {
      return codec_error("gzip: member inflates to " + std::to_string(out.size() - z.avail_out) +
                         " bytes, expected " + std::to_string(out.size()));
    }
    if (z.avail_in != 0) {
      return codec_error("gzip: trailing data after member (" + std::to_string(z.avail_in) +
                         " bytes)");
    }
    return {};
  case Z_OK:
  case Z_BUF_ERROR:
    if (z.avail_out == 0 && z.avail_in != 0) {
      return codec_error("gzip: member inflates to more than " + std::to_string(out.size()) +
                         " bytes");
    }
    return codec_error("gzip: truncated member");
  case Z_NEED_DICT: return codec_error("gzip: member needs a preset dictionary");
  case Z_MEM_ERROR: return codec_error("gzip: out of memory");
  default:
    return codec_error(std::string("gzip: corrupt member: ") +
                       (z.msg != nullptr ? z.msg : "inflate error " + std::to_string(ret)));
  }
}

Result<void> ChunkDecompressor::Impl::zstd_frame(Bytes in, MutableBytes out) {
  if (in.size() < 4 || load_le<std::uint32_t>(in.data()) != ZSTD_MAGICNUMBER) {
    return codec_error("zstd: input does not start with a zstd frame magic");
  }
  const unsigned long long content = ZSTD_getFrameContentSize(in.data(), in.size());
  if (content == ZSTD_CONTENTSIZE_ERROR) {
    return codec_error("zstd: invalid frame header");
  }
  if (content != ZSTD_CONTENTSIZE_UNKNOWN && content != out.size()) {
    return codec_error("zstd: frame content size " + std::to_string(content) + " != expected " +
                       std::to_string(out.size()));
  }
  const std::size_t frame_size = ZSTD_findFrameCompressedSize(in.data(), in.size());
  if (ZSTD_isError(frame_size)) {
    return codec_error(std::string("zstd: bad frame: ") + ZSTD_getErrorName(frame_size));
  }
  if (frame_size != in.size()) {
    return codec_error("zstd: trailing data after frame (" + std::to_string(in.size() - frame_size) +
                       " bytes)");
  }
  if (!zstd) {
    zstd.reset(ZSTD_createDCtx());
    if (!zstd) {
      return codec_error("zstd: cannot allocate a decompression context");
    }
  }
  const std::size_t n =
      ZSTD_decompressDCtx(zstd.get(), out_ptr(out), out.size(), in.data(), in.size());
  if (ZSTD_isError(n)) {
    return codec_error(std::string("zstd: ") + ZSTD_getErrorName(n));
  }
  if (n != out.size()) {
    return codec_error("zstd: frame decompressed to " + std::to_string(n) + " bytes, expected " +
                       std::to_string(out.size()));
  }
  return {};
}

Result<void> ChunkDecompressor::decompress(Compressor algo, Bytes in, MutableBytes out) {
  if (!m_impl) { // moved-from object being reused
    m_impl = std::make_unique<Impl>();
  }
  switch (algo) {
  case Compressor::none: return m_impl->none(in, out);
  case Compressor::lz4_block: return m_impl->lz4(in, out);
  case Compressor::gzip: return m_impl->gzip(in, out);
  case Compressor::zstd: return m_impl->zstd_frame(in, out);
  }
  return make_error(Errc::invalid_argument,
                    "unknown compressor " + std::to_string(static_cast<unsigned>(algo)));
}

} // namespace rafs
