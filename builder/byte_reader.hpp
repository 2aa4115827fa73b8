// Byte streams that layers are read through: a file (or stdin), and a
// wrapper that checks the sha256 digest and size of everything passing
// through it. Readers stack: blob file -> verify digest -> decompress
// (LayerStream) -> verify diff_id -> tar.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "format/bytes.hpp"
#include "format/error.hpp"

namespace rafs::builder {

class ByteReader {
public:
  virtual ~ByteReader() = default;
  // Fills up to out.size() bytes; 0 at the end (and again on every later
  // call). An error is final: the reader must not be read again.
  [[nodiscard]] virtual Result<std::size_t> read(MutableBytes out) = 0;
  // What is read, for messages ("layer.tar", "img: layer 2 (sha256:...)").
  virtual std::string name() const = 0;
  // Bytes taken from the bottom of the stack (the file) so far; a wrapper
  // passes its input's count through, so a decompressor reports the
  // compressed bytes consumed.
  virtual std::uint64_t raw_bytes_read() const = 0;
};

// A file read front to back; "-" is stdin. `name` (default: the path) is
// used in messages.
[[nodiscard]] Result<std::unique_ptr<ByteReader>> open_file_reader(const std::string& path,
                                                                   std::string name = {});

// What a stream must hash to, for verify_sha256().
struct ExpectedContent {
  std::string digest;                  // "sha256:<64 lowercase hex digits>"
  std::optional<std::uint64_t> size;   // exact byte count, when known
  std::string claimed_by = "manifest"; // messages: "<claimed_by> says ..."
  std::string what = "digest";         // messages: "<what> mismatch: ..."
};

// Passes `inner` through unchanged while hashing it. A stream longer than
// the expected size fails as soon as it is; at the end, a different size or
// digest fails (Errc::corrupted), e.g.
//   "NAME: digest mismatch: manifest says sha256:X, data is sha256:Y"
//   "NAME: size mismatch: manifest says 10 bytes, data is 8 bytes"
// so the reader above sees the error on its last read, never a clean end.
// Fails at once if `expected.digest` is not a sha256 digest.
[[nodiscard]] Result<std::unique_ptr<ByteReader>> verify_sha256(std::unique_ptr<ByteReader> inner,
                                                                ExpectedContent expected);

// Checks "sha256:<64 lowercase hex>": Errc::unsupported for another
// algorithm ("sha512:..."), Errc::corrupted for anything malformed. The
// message is only the reason ("unsupported digest algorithm sha512").
[[nodiscard]] Result<void> check_sha256_digest(std::string_view digest);

} // namespace rafs::builder
