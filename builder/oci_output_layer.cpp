#include "builder/oci_output_layer.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace rafs::builder {

namespace {

// ustar header (POSIX.1-1988, one 512-byte block), offsets and field sizes:
//   name 0/100, mode 100/8, uid 108/8, gid 116/8, size 124/12, mtime 136/12,
//   chksum 148/8, typeflag 156/1, linkname 157/100, magic 257/6 "ustar\0",
//   version 263/2 "00", uname 265/32, gname 297/32, devmajor 329/8,
//   devminor 337/8, prefix 345/155.
// Numbers are zero-padded octal ending in NUL; chksum is the sum of all
// header bytes with chksum itself counted as spaces, as 6 digits, NUL, space.
constexpr std::size_t k_block = 512;
constexpr std::uint64_t k_max_size = (std::uint64_t{1} << 33) - 1; // 11 octal digits

void put_octal(std::uint8_t* field, std::size_t width, std::uint64_t v) {
  // width - 1 digits, then NUL.
  for (std::size_t i = width - 1; i-- > 0;) {
    field[i] = static_cast<std::uint8_t>('0' + (v & 7));
    v >>= 3;
  }
  field[width - 1] = 0;
}

// Ends deflate on every path.
class Deflater {
public:
  Deflater() = default;
  ~Deflater() {
    if (m_live) {
      deflateEnd(&m_stream);
    }
  }
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  Result<void> init() {
    // 15 + 16: a 32 KiB window with a gzip wrapper instead of zlib's.
    int r = deflateInit2(&m_stream, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    if (r != Z_OK) {
      return make_error(Errc::compression, "gzip: deflateInit2 failed (" + std::to_string(r) + ")");
    }
    m_live = true;
    m_header.os = 255;
    r = deflateSetHeader(&m_stream, &m_header);
    if (r != Z_OK) {
      return make_error(Errc::compression,
                        "gzip: deflateSetHeader failed (" + std::to_string(r) + ")");
    }
    return {};
  }
  z_stream& stream() { return m_stream; }

private:
  z_stream m_stream{};
  gz_header m_header{}; // time 0, no name, comment or extra; zlib keeps a pointer to it
  bool m_live = false;
};

} // namespace

Result<std::vector<std::uint8_t>> ustar_single_file(std::string_view name, Bytes data) {
  if (name.empty() || name.size() > 100) {
    return make_error(Errc::invalid_argument,
                      "tar entry name \"" + std::string(name) + "\" must be 1 to 100 bytes");
  }
  if (data.size() > k_max_size) {
    return make_error(Errc::overflow, "tar entry " + std::string(name) + ": " +
                                          std::to_string(data.size()) +
                                          " bytes is beyond ustar's 8 GiB");
  }
  std::size_t padded = (data.size() + k_block - 1) / k_block * k_block;
  std::vector<std::uint8_t> out(k_block + padded + 2 * k_block, 0);
  std::uint8_t* h = out.data();
  std::memcpy(h, name.data(), name.size());
  put_octal(h + 100, 8, 0644);
  put_octal(h + 108, 8, 0);
  put_octal(h + 116, 8, 0);
  put_octal(h + 124, 12, data.size());
  put_octal(h + 136, 12, 0);
  h[156] = '0';
  std::memcpy(h + 257, "ustar", 6); // with its NUL
  h[263] = '0';
  h[264] = '0';
  put_octal(h + 329, 8, 0);
  put_octal(h + 337, 8, 0);
  std::memset(h + 148, ' ', 8);
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < k_block; ++i) {
    sum += h[i];
  }
  put_octal(h + 148, 7, sum);
  h[155] = ' ';
  if (!data.empty()) {
    std::memcpy(h + k_block, data.data(), data.size());
  }
  return out;
}

Result<std::vector<std::uint8_t>> gzip_deterministic(Bytes data) {
  Deflater d;
  RAFS_TRY(d.init());
  z_stream& s = d.stream();
  std::vector<std::uint8_t> out(deflateBound(&s, static_cast<uLong>(data.size())) + 64);
  std::size_t in_done = 0;
  std::size_t out_done = 0;
  constexpr std::size_t k_step = std::size_t{1} << 30; // avail_in/avail_out are 32-bit
  for (;;) {
    std::size_t in_now = std::min(data.size() - in_done, k_step);
    bool last = in_done + in_now == data.size();
    // zlib takes a non-const pointer but does not write through next_in.
    s.next_in = const_cast<Bytef*>(data.data() + in_done);
    s.avail_in = static_cast<uInt>(in_now);
    int r = Z_OK;
    do {
      if (out.size() - out_done < 64) {
        out.resize(out.size() * 2);
      }
      std::size_t out_now = std::min(out.size() - out_done, k_step);
      s.next_out = out.data() + out_done;
      s.avail_out = static_cast<uInt>(out_now);
      r = deflate(&s, last ? Z_FINISH : Z_NO_FLUSH);
      if (r == Z_STREAM_ERROR) {
        return make_error(Errc::compression, "gzip: deflate failed");
      }
      out_done += out_now - s.avail_out;
    } while (last ? r != Z_STREAM_END : s.avail_in != 0);
    in_done += in_now;
    if (last) {
      break;
    }
  }
  out.resize(out_done);
  return out;
}

} // namespace rafs::builder
