// What the fuzz harnesses share: a scratch directory on tmpfs, a ByteReader
// over memory, a walk over everything a bootstrap reader can ask for, and
// the reads of every file's chunks.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "builder/byte_reader.hpp"
#include "format/bootstrap.hpp"
#include "format/bytes.hpp"

namespace rafs::fuzz {

// This process's own directory under /dev/shm (tmpfs, so each iteration's
// files cost no disk I/O; $TMPDIR or /tmp where there is no /dev/shm).
// Made on first use, removed at exit.
const std::filesystem::path& scratch_dir();
// Removes everything inside scratch_dir().
void clear_scratch_dir();
bool scratch_dir_empty();

// An invariant of rafs does not hold: prints `what` and aborts, so
// libFuzzer (or the replay test) reports the input.
[[noreturn]] void fail(const std::string& what);

// `data` as a stream (it must outlive the reader).
std::unique_ptr<builder::ByteReader> memory_reader(Bytes data, std::string name);
// `inner`, failing once it gives more than `cap` bytes: a small compressed
// input may inflate to gigabytes, legitimately, only slowly.
std::unique_ptr<builder::ByteReader> capped_reader(std::unique_ptr<builder::ByteReader> inner,
                                                   std::uint64_t cap);

// Path, lookup of every path and every child name, children, names,
// symlink targets, xattrs, hard-link and parent indexes, chunk records, the
// prefetch table and inode digests. Returns a sum so nothing is optimised away.
std::uint64_t walk_metadata(const v5::Bootstrap& b);

// Calls `read` with (inode index, file offset, buffer) for each chunk of
// each regular file and for the last bytes of each file, until `budget`
// bytes have been asked for (a small bootstrap may declare many large
// chunks: decompressing them all is legitimate work, only slow).
// Errors of `read` are the reader's business: it returns false to stop.
using FileRead = std::function<bool(std::uint32_t, std::uint64_t, MutableBytes)>;
void read_every_file(const v5::Bootstrap& b, std::uint64_t budget, const FileRead& read);

inline std::string_view as_text(Bytes b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

} // namespace rafs::fuzz
