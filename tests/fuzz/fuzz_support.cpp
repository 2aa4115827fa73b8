#include "fuzz/fuzz_support.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "format/inode_digest.hpp"

namespace rafs::fuzz {

namespace {

class Scratch {
public:
  Scratch() {
    std::error_code ec;
    const std::filesystem::path base = std::filesystem::is_directory("/dev/shm", ec)
                                           ? std::filesystem::path("/dev/shm")
                                           : std::filesystem::temp_directory_path();
    // The pid in the name lets ci/fuzz.sh remove what a crashed run left.
    std::string tmpl = (base / ("rafs-fuzz-" + std::to_string(::getpid()) + "-XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      fail("cannot make a scratch directory " + tmpl + ": " + std::strerror(errno));
    }
    m_path = tmpl;
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  const std::filesystem::path& path() const { return m_path; }

private:
  std::filesystem::path m_path;
};

class MemoryReader final : public builder::ByteReader {
public:
  MemoryReader(Bytes data, std::string name) : m_data(data), m_name(std::move(name)) {}

  Result<std::size_t> read(MutableBytes out) override {
    const std::size_t n = std::min(out.size(), m_data.size() - m_pos);
    std::copy_n(m_data.begin() + static_cast<std::ptrdiff_t>(m_pos), n, out.begin());
    m_pos += n;
    return n;
  }
  std::string name() const override { return m_name; }
  std::uint64_t raw_bytes_read() const override { return m_pos; }

private:
  Bytes m_data;
  std::string m_name;
  std::size_t m_pos = 0;
};

class CappedReader final : public builder::ByteReader {
public:
  CappedReader(std::unique_ptr<builder::ByteReader> inner, std::uint64_t cap)
      : m_inner(std::move(inner)), m_cap(cap) {}

  Result<std::size_t> read(MutableBytes out) override {
    RAFS_TRY_ASSIGN(std::size_t n, m_inner->read(out));
    m_total += n;
    if (m_total > m_cap) {
      return make_error(Errc::overflow,
                        name() + ": more than the fuzz harness's " + std::to_string(m_cap) + " bytes");
    }
    return n;
  }
  std::string name() const override { return m_inner->name(); }
  std::uint64_t raw_bytes_read() const override { return m_inner->raw_bytes_read(); }

private:
  std::unique_ptr<builder::ByteReader> m_inner;
  std::uint64_t m_cap;
  std::uint64_t m_total = 0;
};

} // namespace

const std::filesystem::path& scratch_dir() {
  static const Scratch scratch;
  return scratch.path();
}

void clear_scratch_dir() {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(scratch_dir(), ec)) {
    std::filesystem::remove_all(e.path(), ec);
  }
}

bool scratch_dir_empty() {
  std::error_code ec;
  return std::filesystem::is_empty(scratch_dir(), ec);
}

void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz: invariant broken: %s\n", what.c_str());
  std::abort();
}

std::unique_ptr<builder::ByteReader> memory_reader(Bytes data, std::string name) {
  return std::make_unique<MemoryReader>(data, std::move(name));
}

std::unique_ptr<builder::ByteReader> capped_reader(std::unique_ptr<builder::ByteReader> inner,
                                                   std::uint64_t cap) {
  return std::make_unique<CappedReader>(std::move(inner), cap);
}

std::uint64_t walk_metadata(const v5::Bootstrap& b) {
  std::uint64_t acc = 0;
  for (std::uint32_t i = 1; i <= b.inode_count(); ++i) {
    const std::string p = b.path(i);
    if (auto found = b.lookup(p); found) {
      acc += *found;
    }
    acc += b.name(i).size() + b.symlink_target(i).size() + b.ino_index(i) + b.parent_index(i);
    for (const v5::Xattr& x : b.xattrs(i)) {
      acc += x.name.size() + x.value.size();
    }
    if (b.inode(i).is_dir()) {
      for (std::uint32_t c = b.child_begin(i); c < b.child_end(i); ++c) {
        acc += b.lookup_child(i, b.name(c)).value_or(0);
      }
      acc += b.lookup_child(i, "no such name").has_value() ? 1u : 0u;
    }
    for (std::uint32_t k = 0; k < b.chunk_count(i); ++k) {
      acc += b.chunk(i, k).compressed_offset;
    }
    auto [first, last] = b.chunks_covering(i, b.inode(i).size / 2, 4096);
    acc += first + last;
  }
  for (std::uint32_t ino : b.prefetch_table()) {
    acc += b.path(ino).size();
  }
  acc += v5::verify_inode_digests(b).size();
  return acc;
}

void read_every_file(const v5::Bootstrap& b, std::uint64_t budget, const FileRead& read) {
  std::vector<std::uint8_t> buf;
  auto ask = [&](std::uint32_t index, std::uint64_t offset, std::uint64_t len) {
    if (len > budget) {
      return false;
    }
    budget -= len;
    buf.resize(static_cast<std::size_t>(len));
    return read(index, offset, buf);
  };
  for (std::uint32_t i = 1; i <= b.inode_count(); ++i) {
    if (!b.inode(i).is_reg()) {
      continue;
    }
    for (std::uint32_t k = 0; k < b.chunk_count(i); ++k) {
      const v5::ChunkInfo c = b.chunk(i, k);
      // The whole chunk, then a read straddling it and the next one.
      if (!ask(i, c.file_offset, c.uncompressed_size) ||
          !ask(i, c.file_offset + c.uncompressed_size / 2, c.uncompressed_size)) {
        return;
      }
    }
    const std::uint64_t size = b.inode(i).size;
    const std::uint64_t tail = std::min<std::uint64_t>(size, 4096);
    if (!ask(i, size - tail, tail + 1)) {
      return;
    }
  }
}

} // namespace rafs::fuzz
