#include "builder/layer_stream.hpp"

#include <isa-l/igzip_lib.h>
#include <zstd.h>

#include <cstring>

namespace rafs::builder {

namespace {
constexpr std::size_t k_in_size = 1 << 20;
} // namespace

// gzip is inflated by ISA-L (about twice zlib's speed; it checks each
// member's CRC-32 and length like zlib does), zstd by libzstd.
struct LayerStream::Codec {
  std::unique_ptr<inflate_state> gzip; // large: on the heap
  ZSTD_DStream* zstd = nullptr;
  ~Codec() { ZSTD_freeDStream(zstd); }
  void start_gzip_member() {
    isal_inflate_init(gzip.get());
    gzip->crc_flag = ISAL_GZIP; // parse the header, verify CRC-32 and size
  }
};

namespace {
const char* isal_error_name(int r) {
  switch (r) {
  case ISAL_INVALID_BLOCK: return "invalid deflate block";
  case ISAL_INVALID_SYMBOL: return "invalid deflate symbol";
  case ISAL_INVALID_LOOKBACK: return "invalid back-reference distance";
  case ISAL_INVALID_WRAPPER: return "invalid gzip header";
  case ISAL_UNSUPPORTED_METHOD: return "unsupported compression method";
  case ISAL_INCORRECT_CHECKSUM: return "CRC-32 or length mismatch";
  case ISAL_NEED_DICT: return "preset dictionary required";
  default: return "inflate failed";
  }
}
} // namespace

LayerStream::~LayerStream() = default;

Error LayerStream::corrupt(const std::string& what) const {
  return make_error(Errc::corrupted, m_name + ": " + what);
}

std::string_view layer_compression_name(LayerCompression c) noexcept {
  switch (c) {
  case LayerCompression::none: return "none";
  case LayerCompression::gzip: return "gzip";
  case LayerCompression::zstd: return "zstd";
  }
  return "unknown";
}

LayerCompression detect_layer_compression(Bytes head) noexcept {
  if (head.size() >= 2 && head[0] == 0x1f && head[1] == 0x8b) {
    return LayerCompression::gzip;
  }
  if (head.size() >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd) {
    return LayerCompression::zstd;
  }
  return LayerCompression::none;
}

Result<std::unique_ptr<LayerStream>> LayerStream::open(const std::string& path) {
  RAFS_TRY_ASSIGN(auto raw, open_file_reader(path));
  return open(std::move(raw), std::nullopt);
}

Result<std::unique_ptr<LayerStream>> LayerStream::open(std::unique_ptr<ByteReader> raw,
                                                       std::optional<LayerCompression> expected) {
  std::unique_ptr<LayerStream> s(new LayerStream());
  s->m_name = raw->name();
  s->m_raw = std::move(raw);
  s->m_in.resize(k_in_size);
  s->m_codec = std::make_unique<Codec>();
  // Read until 4 bytes are there (or EOF) to see the magic.
  while (s->m_in_len < 4) {
    RAFS_TRY_ASSIGN(bool more, s->fill());
    if (!more) {
      break;
    }
  }
  s->m_compression = detect_layer_compression(Bytes(s->m_in).first(s->m_in_len));
  if (expected && *expected != s->m_compression) {
    if (*expected == LayerCompression::none) {
      return s->corrupt("media type says tar but the data is " +
                        std::string(layer_compression_name(s->m_compression)) + " compressed");
    }
    const std::string codec(layer_compression_name(*expected));
    return s->corrupt("media type says tar+" + codec + " but the data is not " + codec + " compressed");
  }
  if (s->m_compression == LayerCompression::gzip) {
    s->m_codec->gzip = std::make_unique<inflate_state>();
    s->m_codec->start_gzip_member();
  } else if (s->m_compression == LayerCompression::zstd) {
    s->m_codec->zstd = ZSTD_createDStream();
    if (s->m_codec->zstd == nullptr) {
      return make_error(Errc::internal, "zstd initialisation failed");
    }
  }
  return s;
}

Result<bool> LayerStream::fill() {
  if (m_eof) {
    return false;
  }
  if (m_in_pos > 0) { // keep unread bytes at the front
    std::memmove(m_in.data(), m_in.data() + m_in_pos, m_in_len - m_in_pos);
    m_in_len -= m_in_pos;
    m_in_pos = 0;
  }
  RAFS_TRY_ASSIGN(std::size_t n, m_raw->read(MutableBytes(m_in).subspan(m_in_len)));
  if (n == 0) {
    m_eof = true;
    return false;
  }
  m_in_len += n;
  return true;
}

Result<std::size_t> LayerStream::read(MutableBytes out) {
  if (out.empty()) {
    return std::size_t{0};
  }
  switch (m_compression) {
  case LayerCompression::gzip: return read_gzip(out);
  case LayerCompression::zstd: return read_zstd(out);
  case LayerCompression::none: break;
  }
  if (m_in_pos == m_in_len && out.size() >= k_in_size / 4) {
    if (m_eof) { // plain tar, large reads: no copy through m_in
      return std::size_t{0};
    }
    RAFS_TRY_ASSIGN(std::size_t n, m_raw->read(out));
    m_eof = n == 0;
    return n;
  }
  if (m_in_pos == m_in_len) {
    m_in_pos = m_in_len = 0;
    RAFS_TRY_ASSIGN(bool more, fill());
    if (!more) {
      return std::size_t{0};
    }
  }
  std::size_t n = std::min(out.size(), m_in_len - m_in_pos);
  std::memcpy(out.data(), m_in.data() + m_in_pos, n);
  m_in_pos += n;
  return n;
}

Result<bool> LayerStream::need_input(const char* codec) {
  if (m_in_pos < m_in_len) {
    return true;
  }
  RAFS_TRY_ASSIGN(bool more, fill());
  if (!more && !m_member_done) {
    return corrupt(std::string(codec) + " stream is truncated");
  }
  return more;
}

Result<std::size_t> LayerStream::read_gzip(MutableBytes out) {
  inflate_state& z = *m_codec->gzip;
  for (;;) {
    RAFS_TRY_ASSIGN(bool more, need_input("gzip"));
    if (!more) {
      return std::size_t{0};
    }
    if (m_member_done) { // another member follows
      if (m_in[m_in_pos] != 0x1f) {
        return corrupt("trailing garbage after the gzip stream");
      }
      m_codec->start_gzip_member();
      m_member_done = false;
    }
    z.next_in = m_in.data() + m_in_pos;
    z.avail_in = static_cast<std::uint32_t>(m_in_len - m_in_pos);
    z.next_out = out.data();
    z.avail_out = static_cast<std::uint32_t>(std::min<std::size_t>(out.size(), 1u << 30));
    const int r = isal_inflate(&z);
    m_in_pos = m_in_len - z.avail_in;
    const std::size_t produced = out.size() - z.avail_out;
    if (r != ISAL_DECOMP_OK) {
      return corrupt(std::string("corrupt gzip stream: ") + isal_error_name(r));
    }
    if (z.block_state == ISAL_BLOCK_FINISH) {
      m_member_done = true; // trailer (CRC-32, size) verified
    }
    if (produced > 0) {
      return produced;
    }
  }
}

Result<std::size_t> LayerStream::read_zstd(MutableBytes out) {
  for (;;) {
    RAFS_TRY_ASSIGN(bool more, need_input("zstd"));
    if (!more) {
      return std::size_t{0};
    }
    ZSTD_inBuffer in{m_in.data(), m_in_len, m_in_pos};
    ZSTD_outBuffer o{out.data(), out.size(), 0};
    std::size_t r = ZSTD_decompressStream(m_codec->zstd, &o, &in);
    m_in_pos = in.pos;
    if (ZSTD_isError(r) != 0) {
      return corrupt(std::string("corrupt zstd stream: ") + ZSTD_getErrorName(r));
    }
    m_member_done = r == 0; // a frame ended (its checksum, if any, verified)
    if (o.pos > 0) {
      return o.pos;
    }
  }
}

} // namespace rafs::builder
