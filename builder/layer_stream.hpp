// The bytes of a tar layer as a plain tar stream: reads a ByteReader (a
// file, stdin, a blob) and decompresses gzip (one or more members) or zstd
// (one or more frames), detected from the magic bytes, never from the name.
// Every gzip member's CRC-32 and length and every zstd frame's checksum
// (when present) is verified: a corrupt stream is an error, not a silently
// different image.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "builder/byte_reader.hpp"
#include "format/bytes.hpp"
#include "format/error.hpp"

namespace rafs::builder {

enum class LayerCompression : std::uint8_t { none, gzip, zstd };

// "none", "gzip", "zstd".
std::string_view layer_compression_name(LayerCompression c) noexcept;
// From the first bytes of a layer (4 suffice): gzip 1f 8b, zstd 28 b5 2f fd.
LayerCompression detect_layer_compression(Bytes head) noexcept;

class LayerStream final : public ByteReader {
public:
  // "-" is stdin.
  [[nodiscard]] static Result<std::unique_ptr<LayerStream>> open(const std::string& path);
  // Reads the magic bytes at once. With `expected` (what a media type
  // says), other magic is an error (Errc::corrupted), e.g. "NAME: media
  // type says tar+gzip but the data is not gzip compressed"; without it,
  // the magic decides. Messages are prefixed with raw->name().
  [[nodiscard]] static Result<std::unique_ptr<LayerStream>>
  open(std::unique_ptr<ByteReader> raw, std::optional<LayerCompression> expected);
  ~LayerStream() override;
  LayerStream(const LayerStream&) = delete;
  LayerStream& operator=(const LayerStream&) = delete;

  // Fills up to out.size() bytes of the plain tar stream; 0 at the end.
  [[nodiscard]] Result<std::size_t> read(MutableBytes out) override;
  std::string name() const override { return m_name; }
  // Compressed bytes consumed so far.
  std::uint64_t raw_bytes_read() const override { return m_raw->raw_bytes_read(); }
  LayerCompression compression() const noexcept { return m_compression; }

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
  std::unique_ptr<ByteReader> m_raw;
  LayerCompression m_compression = LayerCompression::none;
  std::vector<std::uint8_t> m_in; // raw input buffer
  std::size_t m_in_pos = 0;
  std::size_t m_in_len = 0;
  bool m_eof = false;
  bool m_member_done = false;     // between gzip members / zstd frames
  std::unique_ptr<Codec> m_codec;
};

} // namespace rafs::builder
