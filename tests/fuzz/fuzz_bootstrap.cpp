// A bootstrap from untrusted bytes, opened and walked whole, its files read
// through the ChunkReader of `rafs check`/`unpack` (blobs as files) and
// through the mount's chunk store (blobs in memory; without a cache, then
// with a cache on tmpfs and prefetch workers), then merged over
// itself as `rafs merge` does (with itself as the chunk dict): what the
// merge writes must open.
//
// Input: u32 LE bootstrap length | bootstrap | blob bytes. The blob bytes
// are the blobs back to back in blob-table order, each as long as its
// extended-table compressed_size says; a blob with no size, and the last
// one, take whatever remains.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <thread>
#include <vector>

#include "builder/image_builder.hpp"
#include "format/bootstrap.hpp"
#include "format/chunk_reader.hpp"
#include "format/layout.hpp"
#include "fuzz/fuzz_support.hpp"
#include "runtime/backend_store.hpp"

namespace {

using namespace rafs;

// Bytes asked of each reader per input: every chunk of small images, a few
// of the largest chunk size; more only makes each input slower.
constexpr std::uint64_t k_read_budget = 2 << 20;

std::vector<Bytes> split_blobs(const v5::Bootstrap& b, Bytes data) {
  std::vector<Bytes> out;
  for (std::size_t i = 0; i < b.blobs().size(); ++i) {
    const std::uint64_t want = b.blobs()[i].compressed_size;
    const bool last = i + 1 == b.blobs().size();
    const auto n = static_cast<std::size_t>(want == 0 || last ? data.size()
                                                              : std::min<std::uint64_t>(want, data.size()));
    out.push_back(data.first(n));
    if (want != 0) {
      data = data.subspan(n);
    }
  }
  return out;
}

class MemoryBackend final : public runtime::BlobBackend {
public:
  explicit MemoryBackend(std::vector<Bytes> blobs) : m_blobs(std::move(blobs)) {}

  Result<void> read(std::uint32_t blob_index, std::uint64_t offset, MutableBytes out) override {
    if (blob_index >= m_blobs.size()) {
      fuzz::fail("chunk store asked for blob " + std::to_string(blob_index) + " of " +
                 std::to_string(m_blobs.size()));
    }
    const Bytes blob = m_blobs[blob_index];
    if (offset > blob.size() || out.size() > blob.size() - offset) {
      return make_error(Errc::io, "blob " + std::to_string(blob_index) + ": short read");
    }
    std::copy_n(blob.begin() + static_cast<std::ptrdiff_t>(offset), out.size(), out.begin());
    return {};
  }

private:
  std::vector<Bytes> m_blobs;
};

// The mount's reads. `cached`: through a chunk cache on tmpfs, after the
// prefetch workers went over the prefetch table (run twice, the second
// store finds the first one's cache). Where `reference` (the blob files)
// reads too, both must give the same bytes: a byte the store leaves
// unwritten would show another file's data to the reader.
void read_through_store(const v5::Bootstrap& b, const std::vector<Bytes>& blobs, bool cached,
                        v5::ChunkReader& reference) {
  runtime::RuntimeConfig config;
  config.digest_validate = true;
  if (cached) {
    config.cache_enabled = true;
    config.cache_validate = true;
    config.cache_dir = fuzz::scratch_dir() / "cache";
    config.prefetch = {true, 2, 1 << 20, 0, false};
  }
  runtime::StoreOptions options;
  options.log = [](const std::string&) {};
  auto store = runtime::open_chunk_store(b, config, std::make_unique<MemoryBackend>(blobs), options);
  if (!store) {
    return;
  }
  // Prefetch first, alone, so it is what fetches (a slow one is stopped
  // after a second, as at unmount).
  (*store)->start_prefetch(b.prefetch_table());
  for (int waited = 0; !(*store)->stats().prefetch_done && waited < 1000; ++waited) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::vector<std::uint8_t> expected;
  fuzz::read_every_file(b, k_read_budget, [&](std::uint32_t index, std::uint64_t offset, MutableBytes out) {
    std::fill(out.begin(), out.end(), std::uint8_t{0xA5});
    auto n = (*store)->read_file(index, offset, out);
    if (!n) {
      return true;
    }
    if (*n > out.size()) {
      fuzz::fail("chunk store read " + std::to_string(*n) + " bytes into " + std::to_string(out.size()));
    }
    expected.resize(*n);
    if (reference.read_file(index, offset, expected, true) &&
        !std::equal(expected.begin(), expected.end(), out.begin())) {
      fuzz::fail("chunk store and ChunkReader differ on " + b.path(index) + " at " + std::to_string(offset));
    }
    return true;
  });
  (*store)->shutdown();
}

void read_through_files(const v5::Bootstrap& b, const std::vector<Bytes>& blobs) {
  fuzz::clear_scratch_dir();
  for (std::size_t i = 0; i < blobs.size(); ++i) {
    std::ofstream f(fuzz::scratch_dir() / b.blobs()[i].id, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(blobs[i].data()), static_cast<std::streamsize>(blobs[i].size()));
  }
  v5::ChunkReader reader(b, fuzz::scratch_dir());
  fuzz::read_every_file(b, k_read_budget, [&](std::uint32_t index, std::uint64_t offset, MutableBytes out) {
    (void)reader.read_file(index, offset, out, true);
    return true;
  });
}

void merge(const v5::Bootstrap& b, bool prefetch) {
  builder::BuildOptions options; // as `rafs merge` takes them from its first bootstrap
  options.chunk_size = b.chunk_size();
  options.compressor = b.compressor();
  options.digester = b.digester();
  options.repeatable = (b.super_block().flags & v5::k_sb_explicit_uid_gid) == 0;
  options.prefetch_policy = prefetch ? builder::PrefetchPolicy::fs : builder::PrefetchPolicy::none;
  std::vector<std::string> warnings;
  builder::ImageBuilder image(options, builder::PrefetchList::parse("/one\n/dir\n/usr/lib\n", warnings));
  if (!image.add_chunk_dict(b, fuzz::scratch_dir()) || !image.add_bootstrap(b) || !image.add_bootstrap(b)) {
    return;
  }
  auto built = image.finish();
  if (!built) {
    return;
  }
  auto merged = v5::Bootstrap::from_bytes(std::move(built->bootstrap), "merged.boot");
  if (!merged) {
    fuzz::fail("the merged bootstrap does not open: " + merged.error().message);
  }
  (void)fuzz::walk_metadata(*merged);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) {
    return 0;
  }
  const Bytes input(data + 4, size - 4);
  const auto boot_size = std::min<std::size_t>(load_le<std::uint32_t>(data), input.size());
  auto b = v5::Bootstrap::from_bytes({input.begin(), input.begin() + static_cast<std::ptrdiff_t>(boot_size)},
                                     "fuzz.boot");
  if (!b) {
    if (b.error().message.rfind("fuzz.boot", 0) != 0) {
      fuzz::fail("an open error does not name the file: " + b.error().message);
    }
    return 0;
  }
  (void)fuzz::walk_metadata(*b);
  const std::vector<Bytes> blobs = split_blobs(*b, input.subspan(boot_size));
  read_through_files(*b, blobs);
  v5::ChunkReader reference(*b, fuzz::scratch_dir());
  read_through_store(*b, blobs, false, reference);
  read_through_store(*b, blobs, true, reference);
  read_through_store(*b, blobs, true, reference);
  merge(*b, size % 2 == 1);
  return 0;
}
