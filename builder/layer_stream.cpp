#include "builder/layer_stream.hpp"

#include <zlib.h>
#include <zstd.h>

#include <cstring>

namespace rafs::builder {

namespace {
constexpr std::size_t k_in_size = 1 << 20;
} // namespace

struct LayerStream::Codec {
  z_stream z{};
  bool z_ready = false;
  ZSTD_DStream* zstd = nullptr;
  ~Codec() {
    if (z_ready) {
      inflateEnd(&z);
    }
    ZSTD_freeDStream(zstd);
  }
};

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
    if (inflateInit2(&s->m_codec->z, 16 + MAX_WBITS) != Z_OK) {
      return make_error(Errc::internal, "zlib initialisation failed");
    }
    s->m_codec->z_ready = true;
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
  z_stream& z = m_codec->z;
  for (;;) {
    RAFS_TRY_ASSIGN(bool more, need_input("gzip"));
    if (!more) {
      return std::size_t{0};
    }
    if (m_member_done) { // another member follows
      if (m_in[m_in_pos] != 0x1f) {
        return corrupt("trailing garbage after the gzip stream");
      }
      inflateReset(&z);
      m_member_done = false;
    }
    z.next_in = m_in.data() + m_in_pos;
    z.avail_in = static_cast<uInt>(m_in_len - m_in_pos);
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(std::min<std::size_t>(out.size(), 1u << 30));
    int r = inflate(&z, Z_NO_FLUSH);
    m_in_pos = m_in_len - z.avail_in;
    std::size_t produced = out.size() - z.avail_out;
    if (r == Z_STREAM_END) {
      m_member_done = true; // CRC-32 and length were verified by zlib
    } else if (r != Z_OK && r != Z_BUF_ERROR) {
      return corrupt(std::string("corrupt gzip stream: ") + (z.msg != nullptr ? z.msg : "inflate failed"));
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
