// The bytes of a tar layer as a plain tar stream: reads a file or stdin and
// decompresses gzip (one or more members) or zstd (one or more frames),
// detected from the magic bytes, never from the name. Every gzip member's
// CRC-32 and length and every zstd frame's checksum (when present) is
// verified: a corrupt stream is an error, not a silently different image.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "format/bytes.hpp"
#include "format/error.hpp"
#include "format/file.hpp"

namespace rafs::builder {

enum class LayerCompression : std::uint8_t { none, gzip, zstd };

class LayerStream {
public:
  // "-" is stdin.
  [[nodiscard]] static Result<std::unique_ptr<LayerStream>> open(const std::string& path);
  ~LayerStream();
  LayerStream(const LayerStream&) = delete;
  LayerStream& operator=(const LayerStream&) = delete;

  // Fills up to out.size() bytes of the plain tar stream; 0 at the end.
  [[nodiscard]] Result<std::size_t> read(MutableBytes out);
  LayerCompression compression() const noexcept { return m_compression; }
  std::uint64_t raw_bytes_read() const noexcept { return m_raw_read; }
  const std::string& name() const noexcept { return m_name; }

private:
  LayerStream() = default;
  Result<bool> fill();                   // more raw input; false at EOF
  // Makes input available to a decoder; false at a clean end of the stream
  // (after a complete gzip member / zstd frame), an error if it ends inside one.
  Result<bool> need_input(const char* codec);
  Result<std::size_t> read_gzip(MutableBytes out);
  Result<std::size_t> read_zstd(MutableBytes out);
  Error corrupt(const std::string& what) const;

  struct Codec;
  std::string m_name;
  UniqueFd m_fd;
  LayerCompression m_compression = LayerCompression::none;
  std::vector<std::uint8_t> m_in; // raw input buffer
  std::size_t m_in_pos = 0;
  std::size_t m_in_len = 0;
  bool m_eof = false;
  bool m_member_done = false;     // between gzip members / zstd frames
  std::uint64_t m_raw_read = 0;
  std::unique_ptr<Codec> m_codec;
};

} // namespace rafs::builder
