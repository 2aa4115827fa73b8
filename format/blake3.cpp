// BLAKE3, written from the specification (Aumasson, Neves, O'Connor,
// Wilcox-O'Hearn, "BLAKE3: one function, fast everywhere", 2020).
//
// The input is split into 1024-byte chunks, each hashed as up to 16 blocks of
// 64 bytes chained through the compression function. Chunk chaining values are
// combined pairwise into a binary tree whose left subtrees are complete powers
// of two; a stack of pending left subtree roots is merged each time a chunk
// ends, as many times as the trailing zero bits of the chunk count. The last
// block of the input is kept uncompressed until finalization, because its
// flags (CHUNK_END, ROOT) depend on whether more input follows.
//
// Runs of whole chunks that are not the last of the input go to a kernel
// that hashes many chunks side by side (blake3_kernels.hpp: portable, AVX2,
// AVX-512), then their chaining values are merged level by level into
// complete subtrees with the same kernel, before entering the stack.
#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>

#include "format/blake3_kernels.hpp"
#include "format/digest.hpp"

namespace rafs {

using namespace blake3_detail;

namespace {

using Words8 = std::array<std::uint32_t, 8>;
using Words16 = std::array<std::uint32_t, 16>;

constexpr Words8 k_iv_words = {k_iv[0], k_iv[1], k_iv[2], k_iv[3],
                               k_iv[4], k_iv[5], k_iv[6], k_iv[7]};

// The full 16-word output of the compression function.
Words16 compress(const Words8& cv, const Words16& block, std::uint64_t counter,
                 std::uint32_t block_len, std::uint32_t flags) noexcept {
  Words16 out;
  blake3_detail::compress(cv.data(), block.data(), counter, block_len, flags, out.data());
  return out;
}

Words8 first8(const Words16& v) noexcept {
  Words8 out;
  std::copy_n(v.begin(), 8, out.begin());
  return out;
}

Words16 block_words(const std::uint8_t* p) noexcept {
  Words16 m;
  for (std::size_t i = 0; i < 16; ++i) {
    m[i] = load_le<std::uint32_t>(p + 4 * i);
  }
  return m;
}

Words8 key_words(const std::uint8_t* p) noexcept {
  Words8 k;
  for (std::size_t i = 0; i < 8; ++i) {
    k[i] = load_le<std::uint32_t>(p + 4 * i);
  }
  return k;
}

// The inputs of a compression not yet run: of the last block of a chunk, or of
// a parent node. Its chaining value, or as the root, any number of output bytes.
struct Node {
  Words8 cv;
  Words16 block;
  std::uint64_t counter;
  std::uint32_t block_len;
  std::uint32_t flags;

  Words8 chaining_value() const noexcept {
    return first8(compress(cv, block, counter, block_len, flags));
  }

  void root_output(MutableBytes out) const noexcept {
    std::uint64_t output_block = 0;
    std::size_t pos = 0;
    while (pos < out.size()) {
      const Words16 words = compress(cv, block, output_block, block_len, flags | k_root);
      std::array<std::uint8_t, k_block_len> bytes;
      for (std::size_t i = 0; i < 16; ++i) {
        store_le<std::uint32_t>(bytes.data() + 4 * i, words[i]);
      }
      const std::size_t take = std::min(k_block_len, out.size() - pos);
      std::memcpy(out.data() + pos, bytes.data(), take);
      pos += take;
      ++output_block;
    }
  }
};

Node parent_node(const Words8& left, const Words8& right, const Words8& key,
                 std::uint32_t flags) noexcept {
  Node n{key, {}, 0, static_cast<std::uint32_t>(k_block_len), flags | k_parent};
  std::copy(left.begin(), left.end(), n.block.begin());
  std::copy(right.begin(), right.end(), n.block.begin() + 8);
  return n;
}

// Whole chunks per kernel call: also the largest subtree merged by the
// kernel before it enters the stack. A power of two.
constexpr std::size_t k_max_batch = 64;

bool cpu_supports(Blake3Kernel kernel) noexcept {
  switch (kernel) {
  case Blake3Kernel::portable:
    return true;
#if RAFS_BLAKE3_HAVE_X86_KERNELS
  // libgcc's CPU detection also checks that the OS saves the AVX / AVX-512
  // registers (XCR0), so a supported feature is also a usable one.
  case Blake3Kernel::avx2:
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
  case Blake3Kernel::avx512:
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0 && __builtin_cpu_supports("avx512f") != 0 &&
           __builtin_cpu_supports("avx512vl") != 0;
#else
  case Blake3Kernel::avx2:
  case Blake3Kernel::avx512:
    break;
#endif
  }
  return false;
}

Blake3Kernel best_kernel() noexcept {
  for (Blake3Kernel k : {Blake3Kernel::avx512, Blake3Kernel::avx2}) {
    if (cpu_supports(k)) {
      return k;
    }
  }
  return Blake3Kernel::portable;
}

// The kernel in use: chosen on first use (a function-local static is
// initialized once, thread-safely); blake3_force_kernel() changes it.
std::atomic<Blake3Kernel>& active_kernel() noexcept {
  static std::atomic<Blake3Kernel> kernel{best_kernel()};
  return kernel;
}

} // namespace

namespace {

// A kernel's two functions.
struct KernelFns {
  HashManyFn hash_many;
  StepFn step;
};

KernelFns kernel_fns(Blake3Kernel kernel) noexcept {
  switch (kernel) {
#if RAFS_BLAKE3_HAVE_X86_KERNELS
  case Blake3Kernel::avx2:
    return {hash_many_avx2, step_avx2};
  case Blake3Kernel::avx512:
    return {hash_many_avx512, step_avx512};
#else
  case Blake3Kernel::avx2:
  case Blake3Kernel::avx512:
#endif
  case Blake3Kernel::portable:
    break;
  }
  return {hash_many_portable, step_portable};
}

} // namespace

HashManyFn blake3_detail::kernel_function(Blake3Kernel kernel) noexcept {
  return kernel_fns(kernel).hash_many;
}

StepFn blake3_detail::step_function(Blake3Kernel kernel) noexcept { return kernel_fns(kernel).step; }

std::vector<Blake3Kernel> blake3_kernels_supported() {
  std::vector<Blake3Kernel> out;
  for (Blake3Kernel k : {Blake3Kernel::portable, Blake3Kernel::avx2, Blake3Kernel::avx512}) {
    if (cpu_supports(k)) {
      out.push_back(k);
    }
  }
  return out;
}

Blake3Kernel blake3_active_kernel() noexcept {
  return active_kernel().load(std::memory_order_relaxed);
}

bool blake3_force_kernel(Blake3Kernel kernel) noexcept {
  if (!cpu_supports(kernel)) {
    return false;
  }
  active_kernel().store(kernel, std::memory_order_relaxed);
  return true;
}

Blake3::Blake3(const std::array<std::uint32_t, 8>& key, std::uint32_t flags) noexcept
    : m_key(key), m_chunk{key, 0, {}, 0, 0, flags}, m_stack{}, m_stack_len(0), m_flags(flags) {}

Blake3::Blake3() noexcept : Blake3(k_iv_words, 0) {}

Blake3 Blake3::keyed(const std::array<std::uint8_t, 32>& key) noexcept {
  return Blake3(key_words(key.data()), k_keyed_hash);
}

Blake3 Blake3::derive_key(std::string_view context) noexcept {
  Blake3 context_hasher(k_iv_words, k_derive_key_context);
  context_hasher.update(Bytes(reinterpret_cast<const std::uint8_t*>(context.data()),
                              context.size()));
  const Digest context_key = context_hasher.finalize();
  return Blake3(key_words(context_key.data()), k_derive_key_material);
}

// Merges the new chunk's chaining value with the completed subtrees on the
// stack: one merge per trailing zero bit of the number of chunks so far.
void Blake3::push_cv(const std::array<std::uint32_t, 8>& cv, std::uint64_t total_chunks) noexcept {
  Words8 node = cv;
  while ((total_chunks & 1) == 0) {
    --m_stack_len;
    node = parent_node(m_stack[m_stack_len], node, m_key, m_flags).chaining_value();
    total_chunks >>= 1;
  }
  m_stack[m_stack_len] = node;
  ++m_stack_len;
}

// Hashes whole chunks, none of them the last of the input, from the start of
// the current (empty) chunk on. The kernel hashes up to k_max_batch chunks
// side by side; their chaining values are merged into the largest complete
// subtrees (a subtree of 2^k chunks starts at a multiple of 2^k), level by
// level, each level's parents side by side. Each subtree root then enters the
// stack as a chunk would, counting in units of its size.
void Blake3::hash_whole_chunks(const std::uint8_t* data, std::size_t chunks) noexcept {
  const HashManyFn hash_many = kernel_function(blake3_active_kernel());
  std::uint64_t counter = m_chunk.counter;
  std::array<std::uint8_t, k_max_batch * k_cv_len> cvs;
  std::array<std::uint8_t, k_max_batch / 2 * k_cv_len> parents;
  while (chunks > 0) {
    // Batches end at multiples of k_max_batch chunks: full ones are subtrees.
    const std::uint64_t to_boundary = k_max_batch - counter % k_max_batch;
    const auto batch = static_cast<std::size_t>(std::min<std::uint64_t>(chunks, to_boundary));
    hash_many({data, batch, k_blocks_per_chunk, m_key.data(), counter, true, m_flags,
               k_chunk_start, k_chunk_end, cvs.data()});
    std::size_t done = 0;
    while (done < batch) {
      const std::uint64_t first = counter + done;
      std::size_t size = std::bit_floor(batch - done);
      while (first % size != 0) {
        size /= 2;
      }
      // Each level's parents go to the other buffer: parents, then the
      // subtree's own (consumed) part of cvs, and so on.
      std::uint8_t* from = cvs.data() + done * k_cv_len;
      std::uint8_t* to = parents.data();
      for (std::size_t n = size; n > 1; n /= 2) {
        hash_many({from, n / 2, 1, m_key.data(), 0, false, m_flags | k_parent, 0, 0, to});
        std::swap(from, to);
      }
      push_cv(key_words(from), (first + size) >> std::countr_zero(size));
      done += size;
    }
    data += batch * k_chunk_len;
    chunks -= batch;
    counter += batch;
  }
  m_chunk = Chunk{m_key, counter, {}, 0, 0, m_flags};
}

void Blake3::update(Bytes data) noexcept {
  while (!data.empty()) {
    Chunk& c = m_chunk;
    std::size_t chunk_len = std::size_t{c.blocks_compressed} * k_block_len + c.block_len;
    if (chunk_len == k_chunk_len) {
      // The chunk is full and more input follows: end it, start the next.
      const Node last{c.cv, block_words(c.block.data()), c.counter, c.block_len,
                      c.flags | k_chunk_end};
      const std::uint64_t total_chunks = c.counter + 1;
      push_cv(last.chaining_value(), total_chunks);
      c = Chunk{m_key, total_chunks, {}, 0, 0, m_flags};
      chunk_len = 0;
    }
    if (chunk_len == 0 && data.size() > k_chunk_len) {
      // Whole chunks with more input after them: hashed side by side.
      const std::size_t chunks = (data.size() - 1) / k_chunk_len;
      hash_whole_chunks(data.data(), chunks);
      data = data.subspan(chunks * k_chunk_len);
    }
    std::size_t room = k_chunk_len - chunk_len;
    while (room > 0 && !data.empty()) {
      if (c.block_len == k_block_len) {
        // The buffered block is not the last: compress it.
        const std::uint32_t start = c.blocks_compressed == 0 ? k_chunk_start : 0;
        c.cv = first8(compress(c.cv, block_words(c.block.data()), c.counter,
                               static_cast<std::uint32_t>(k_block_len), c.flags | start));
        ++c.blocks_compressed;
        c.block_len = 0;
      }
      // Whole blocks straight from the input, all but a possible last one.
      while (c.block_len == 0 && room > k_block_len && data.size() > k_block_len) {
        const std::uint32_t start = c.blocks_compressed == 0 ? k_chunk_start : 0;
        c.cv = first8(compress(c.cv, block_words(data.data()), c.counter,
                               static_cast<std::uint32_t>(k_block_len), c.flags | start));
        ++c.blocks_compressed;
        room -= k_block_len;
        data = data.subspan(k_block_len);
      }
      const std::size_t take = std::min(k_block_len - c.block_len, data.size());
      std::memcpy(c.block.data() + c.block_len, data.data(), take);
      c.block_len = static_cast<std::uint8_t>(c.block_len + take);
      room -= take;
      data = data.subspan(take);
    }
  }
}

void Blake3::finalize_xof(MutableBytes out) const noexcept {
  const Chunk& c = m_chunk;
  // The specification pads the last block with zero bytes; the buffer may
  // still hold bytes of an earlier block past block_len.
  std::array<std::uint8_t, k_block_len> last_block{};
  std::memcpy(last_block.data(), c.block.data(), c.block_len);
  Node node{c.cv, block_words(last_block.data()), c.counter, c.block_len,
            c.flags | k_chunk_end | (c.blocks_compressed == 0 ? k_chunk_start : 0)};
  for (std::size_t i = m_stack_len; i > 0; --i) {
    node = parent_node(m_stack[i - 1], node.chaining_value(), m_key, m_flags);
  }
  node.root_output(out);
}

Digest Blake3::finalize() const noexcept {
  Digest d;
  finalize_xof(d);
  return d;
}

} // namespace rafs
