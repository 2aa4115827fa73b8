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
#include <algorithm>
#include <cstring>

#include "format/digest.hpp"

namespace rafs {
namespace {

constexpr std::size_t k_block_len = 64;
constexpr std::size_t k_chunk_len = 1024;

// Domain separation flags (spec, table 3).
constexpr std::uint32_t k_chunk_start = 1u << 0;
constexpr std::uint32_t k_chunk_end = 1u << 1;
constexpr std::uint32_t k_parent = 1u << 2;
constexpr std::uint32_t k_root = 1u << 3;
constexpr std::uint32_t k_keyed_hash = 1u << 4;
constexpr std::uint32_t k_derive_key_context = 1u << 5;
constexpr std::uint32_t k_derive_key_material = 1u << 6;

using Words8 = std::array<std::uint32_t, 8>;
using Words16 = std::array<std::uint32_t, 16>;

// The initialization vector, shared with SHA-256.
constexpr Words8 k_iv = {0x6A09E667u, 0xBB67AE85u, 0x3C6EF372u, 0xA54FF53Au,
                         0x510E527Fu, 0x9B05688Cu, 0x1F83D9ABu, 0x5BE0CD19u};

// Message word order of round r+1, as indices into the words of round r.
constexpr std::array<std::size_t, 16> k_permutation = {2, 6,  3,  10, 7,  0,  4,  13,
                                                       1, 11, 12, 5,  9,  14, 15, 8};

constexpr std::uint32_t rotr(std::uint32_t x, int n) noexcept {
  return static_cast<std::uint32_t>((x >> n) | (x << (32 - n)));
}

// The quarter-round on columns a, b, c, d of the state with message words x, y.
inline void mix(Words16& v, std::size_t a, std::size_t b, std::size_t c, std::size_t d,
                std::uint32_t x, std::uint32_t y) noexcept {
  v[a] = v[a] + v[b] + x;
  v[d] = rotr(v[d] ^ v[a], 16);
  v[c] = v[c] + v[d];
  v[b] = rotr(v[b] ^ v[c], 12);
  v[a] = v[a] + v[b] + y;
  v[d] = rotr(v[d] ^ v[a], 8);
  v[c] = v[c] + v[d];
  v[b] = rotr(v[b] ^ v[c], 7);
}

inline void round_fn(Words16& v, const Words16& m) noexcept {
  mix(v, 0, 4, 8, 12, m[0], m[1]);
  mix(v, 1, 5, 9, 13, m[2], m[3]);
  mix(v, 2, 6, 10, 14, m[4], m[5]);
  mix(v, 3, 7, 11, 15, m[6], m[7]);
  mix(v, 0, 5, 10, 15, m[8], m[9]);
  mix(v, 1, 6, 11, 12, m[10], m[11]);
  mix(v, 2, 7, 8, 13, m[12], m[13]);
  mix(v, 3, 4, 9, 14, m[14], m[15]);
}

// The full 16-word output of the compression function.
Words16 compress(const Words8& cv, const Words16& block, std::uint64_t counter,
                 std::uint32_t block_len, std::uint32_t flags) noexcept {
  Words16 v = {cv[0],    cv[1],    cv[2],    cv[3],
               cv[4],    cv[5],    cv[6],    cv[7],
               k_iv[0],  k_iv[1],  k_iv[2],  k_iv[3],
               static_cast<std::uint32_t>(counter), static_cast<std::uint32_t>(counter >> 32),
               block_len, flags};
  Words16 m = block;
  for (int r = 0; r < 7; ++r) {
    round_fn(v, m);
    if (r == 6) {
      break;
    }
    Words16 next;
    for (std::size_t i = 0; i < 16; ++i) {
      next[i] = m[k_permutation[i]];
    }
    m = next;
  }
  for (std::size_t i = 0; i < 8; ++i) {
    v[i] ^= v[i + 8];
    v[i + 8] ^= cv[i];
  }
  return v;
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

} // namespace

Blake3::Blake3(const std::array<std::uint32_t, 8>& key, std::uint32_t flags) noexcept
    : m_key(key), m_chunk{key, 0, {}, 0, 0, flags}, m_stack{}, m_stack_len(0), m_flags(flags) {}

Blake3::Blake3() noexcept : Blake3(k_iv, 0) {}

Blake3 Blake3::keyed(const std::array<std::uint8_t, 32>& key) noexcept {
  return Blake3(key_words(key.data()), k_keyed_hash);
}

Blake3 Blake3::derive_key(std::string_view context) noexcept {
  Blake3 context_hasher(k_iv, k_derive_key_context);
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
