// A ByteReader that runs another (the whole stack below it: file, digest
// checks, decompression) on its own thread, a few large buffers ahead of its
// caller, so inflating a layer overlaps with parsing it.
#pragma once

#include <memory>

#include "builder/byte_reader.hpp"

namespace rafs::builder {

class ReadAheadReader : public ByteReader {
public:
  // The next unread piece of the stream, in the reader's own buffer (no
  // copy): valid until the next call of read() or view(). Empty at the end.
  [[nodiscard]] virtual Result<Bytes> view() = 0;
  // What keeps the bytes of the last view() valid and unchanged while it is
  // held, even after later calls (a mapped window); null when the reader
  // reuses them (its buffers).
  virtual std::shared_ptr<const void> view_owner() const { return nullptr; }
};

// Up to `buffers` buffers of `buffer_size` bytes are filled ahead. A view's
// buffer is held by view_owner() as long as someone keeps that, and only
// then reused (the bytes of a chunk waiting to be written need no copy).
// Errors of `inner` reach the caller in order, after every byte read before them.
[[nodiscard]] std::unique_ptr<ReadAheadReader> read_ahead(std::unique_ptr<ByteReader> inner,
                                                     std::size_t buffer_size = 1 << 20,
                                                     std::size_t buffers = 4);

} // namespace rafs::builder
