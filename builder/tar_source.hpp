// A tar layer (plain, gzip or zstd, detected from magic bytes) read once,
// as a stream, through libarchive.
#pragma once

#include <memory>
#include <string>

#include "builder/byte_reader.hpp"
#include "builder/mapped_tar.hpp"
#include "builder/source_entry.hpp"

namespace rafs::builder {

// "-" reads stdin. Returns the source ready for next(). Nothing checks this
// file's bytes, so a tar that stops at an entry boundary without an
// end-of-archive block is an error ("NAME: truncated: ..."), not a shorter
// layer. A plain tar in a regular file is memory-mapped, `map_window`
// bytes at a time (builder/mapped_tar.hpp), and its chunks are not copied.
[[nodiscard]] Result<std::unique_ptr<Source>> open_tar_source(const std::string& path,
                                                              std::size_t map_window = k_map_window);

// The entries of a plain tar stream, e.g. a LayerStream (possibly under a
// verifying reader). Messages and name() use tar->name(); bytes_read() is
// tar->raw_bytes_read(). When the tar ends, next() reads `tar` to its end
// before returning false, so a reader in the stack sees every byte (and its
// error, e.g. a digest mismatch, is what next() returns). Data that is not
// a tar fails here or at the first next(): "NAME: not a tar archive: <why>".
// A missing end-of-archive block is accepted, as container runtimes do: the
// caller checks the layer against its digest.
// (A LayerStream converts: open_tar_source(std::move(layer_stream)).)
[[nodiscard]] Result<std::unique_ptr<Source>> open_tar_source(std::unique_ptr<ByteReader> tar);

} // namespace rafs::builder
