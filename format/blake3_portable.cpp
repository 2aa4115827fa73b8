// The BLAKE3 compression function in portable C++, and the portable kernel
// that hashes many inputs (chunks or parent nodes) one after another with it.
// The SIMD kernels (blake3_avx2.cpp, blake3_avx512.cpp) must give the same
// results; tests/format/blake3_kernels_test.cpp compares them.
#include "format/blake3_kernels.hpp"

namespace rafs::blake3_detail {
namespace {

constexpr std::uint32_t rotr(std::uint32_t x, int n) noexcept {
  return static_cast<std::uint32_t>((x >> n) | (x << (32 - n)));
}

// The quarter-round on columns a, b, c, d of the state with message words x, y.
inline void mix(std::uint32_t* v, int a, int b, int c, int d, std::uint32_t x,
                std::uint32_t y) noexcept {
  v[a] = v[a] + v[b] + x;
  v[d] = rotr(v[d] ^ v[a], 16);
  v[c] = v[c] + v[d];
  v[b] = rotr(v[b] ^ v[c], 12);
  v[a] = v[a] + v[b] + y;
  v[d] = rotr(v[d] ^ v[a], 8);
  v[c] = v[c] + v[d];
  v[b] = rotr(v[b] ^ v[c], 7);
}

std::uint32_t load_word(const std::uint8_t* p) noexcept {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

void store_word(std::uint8_t* p, std::uint32_t w) noexcept {
  for (int i = 0; i < 4; ++i) {
    p[i] = static_cast<std::uint8_t>(w >> (8 * i));
  }
}

} // namespace

void compress(const std::uint32_t cv[8], const std::uint32_t block[16], std::uint64_t counter,
              std::uint32_t block_len, std::uint32_t flags, std::uint32_t out[16]) noexcept {
  std::uint32_t v[16] = {cv[0],    cv[1],    cv[2],    cv[3],
                         cv[4],    cv[5],    cv[6],    cv[7],
                         k_iv[0],  k_iv[1],  k_iv[2],  k_iv[3],
                         static_cast<std::uint32_t>(counter),
                         static_cast<std::uint32_t>(counter >> 32),
                         block_len, flags};
  for (int r = 0; r < k_rounds; ++r) {
    const std::uint8_t* s = k_schedule.at[r];
    mix(v, 0, 4, 8, 12, block[s[0]], block[s[1]]);
    mix(v, 1, 5, 9, 13, block[s[2]], block[s[3]]);
    mix(v, 2, 6, 10, 14, block[s[4]], block[s[5]]);
    mix(v, 3, 7, 11, 15, block[s[6]], block[s[7]]);
    mix(v, 0, 5, 10, 15, block[s[8]], block[s[9]]);
    mix(v, 1, 6, 11, 12, block[s[10]], block[s[11]]);
    mix(v, 2, 7, 8, 13, block[s[12]], block[s[13]]);
    mix(v, 3, 4, 9, 14, block[s[14]], block[s[15]]);
  }
  for (int i = 0; i < 8; ++i) {
    out[i] = v[i] ^ v[i + 8];
    out[i + 8] = v[i + 8] ^ cv[i];
  }
}

void hash_many_portable(const HashMany& job) noexcept {
  for (std::size_t i = 0; i < job.n; ++i) {
    const std::uint8_t* in = job.in + i * job.blocks * k_block_len;
    const std::uint64_t counter = job.counter_per_input ? job.counter + i : job.counter;
    std::uint32_t cv[8];
    for (int w = 0; w < 8; ++w) {
      cv[w] = job.key[w];
    }
    for (std::size_t j = 0; j < job.blocks; ++j) {
      std::uint32_t block[16];
      for (std::size_t w = 0; w < 16; ++w) {
        block[w] = load_word(in + j * k_block_len + 4 * w);
      }
      std::uint32_t flags = job.flags;
      if (j == 0) {
        flags |= job.flags_start;
      }
      if (j + 1 == job.blocks) {
        flags |= job.flags_end;
      }
      std::uint32_t next[16];
      compress(cv, block, counter, static_cast<std::uint32_t>(k_block_len), flags, next);
      for (int w = 0; w < 8; ++w) {
        cv[w] = next[w];
      }
    }
    for (int w = 0; w < 8; ++w) {
      store_word(job.out + i * k_cv_len + 4 * static_cast<std::size_t>(w), cv[w]);
    }
  }
}

void step_portable(LaneStep& step) noexcept {
  for (std::size_t l = 0; l < step.lanes; ++l) {
    std::uint32_t cv[8];
    std::uint32_t block[16];
    for (int w = 0; w < 8; ++w) {
      cv[w] = step.cv[w][l];
    }
    for (std::size_t w = 0; w < 16; ++w) {
      block[w] = load_word(step.block[l] + 4 * w);
    }
    std::uint32_t out[16];
    compress(cv, block,
             static_cast<std::uint64_t>(step.counter_hi[l]) << 32 | step.counter_lo[l],
             step.block_len[l], step.flags[l], out);
    for (int w = 0; w < 8; ++w) {
      step.cv[w][l] = out[w];
    }
  }
}

} // namespace rafs::blake3_detail
