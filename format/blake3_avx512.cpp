// The AVX-512 BLAKE3 kernel: compresses 16 inputs (chunks or parent nodes)
// side by side, the state transposed as in blake3_avx2.cpp but in 512-bit
// registers (16 state words and 16 message words fill the 32 registers), and
// with the rotate instruction of AVX-512. Each input's 64-byte block is one
// load; a 16x16 transpose turns them into message words. A last group of 9
// to 15 inputs is padded to 16; 8 or fewer go to the AVX2 kernel.
//
// Compiled with -mavx512f -mavx512vl (format/CMakeLists.txt); the dispatch in
// blake3.cpp calls it only when the CPU has AVX-512 F and VL and AVX2.
// Nothing here may be inline and shared (see blake3_kernels.hpp).
#include "format/blake3_kernels.hpp"

#if RAFS_BLAKE3_HAVE_X86_KERNELS

// GCC 12's AVX-512 intrinsics make their "undefined" operand as `x = x`,
// which its own -Wuninitialized then reports at every use (GCC PR 105593,
// fixed in GCC 13).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

namespace rafs::blake3_detail {
namespace {

constexpr std::size_t k_lanes = 16;

inline __m512i add(__m512i a, __m512i b) noexcept { return _mm512_add_epi32(a, b); }
inline __m512i xor_(__m512i a, __m512i b) noexcept { return _mm512_xor_si512(a, b); }

// The quarter-round on state words a, b, c, d with message words x, y.
inline void mix(__m512i* v, int a, int b, int c, int d, __m512i x, __m512i y) noexcept {
  v[a] = add(add(v[a], v[b]), x);
  v[d] = _mm512_ror_epi32(xor_(v[d], v[a]), 16);
  v[c] = add(v[c], v[d]);
  v[b] = _mm512_ror_epi32(xor_(v[b], v[c]), 12);
  v[a] = add(add(v[a], v[b]), y);
  v[d] = _mm512_ror_epi32(xor_(v[d], v[a]), 8);
  v[c] = add(v[c], v[d]);
  v[b] = _mm512_ror_epi32(xor_(v[b], v[c]), 7);
}

// The 7 rounds of the compression function on the transposed state.
[[gnu::always_inline]] inline void rounds(__m512i* v, const __m512i* m) noexcept {
#pragma GCC unroll 7
  for (int r = 0; r < k_rounds; ++r) {
    const std::uint8_t* s = k_schedule.at[r];
    mix(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
    mix(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
    mix(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
    mix(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
    mix(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
    mix(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
    mix(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
    mix(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
  }
}

// Transposes the 16x16 matrix of 32-bit words in r[0..15] (row i = r[i]).
[[gnu::always_inline]] inline void transpose16(__m512i* r) noexcept {
  // Interleaving pairs of rows by word, then by pairs of words, leaves in
  // u[4 * g + q], 128-bit lane L: column 4L+q of rows 4g..4g+3.
  __m512i t[16];
  for (int k = 0; k < 8; ++k) {
    t[2 * k] = _mm512_unpacklo_epi32(r[2 * k], r[2 * k + 1]);
    t[2 * k + 1] = _mm512_unpackhi_epi32(r[2 * k], r[2 * k + 1]);
  }
  __m512i u[16];
  for (int g = 0; g < 4; ++g) {
    u[4 * g + 0] = _mm512_unpacklo_epi64(t[4 * g], t[4 * g + 2]);
    u[4 * g + 1] = _mm512_unpackhi_epi64(t[4 * g], t[4 * g + 2]);
    u[4 * g + 2] = _mm512_unpacklo_epi64(t[4 * g + 1], t[4 * g + 3]);
    u[4 * g + 3] = _mm512_unpackhi_epi64(t[4 * g + 1], t[4 * g + 3]);
  }
  // For each q, a 4x4 transpose of 128-bit lanes over the row groups g.
  for (int q = 0; q < 4; ++q) {
    const __m512i s0 = _mm512_shuffle_i32x4(u[q], u[4 + q], 0x88);      // lanes 0,2 | 0,2
    const __m512i s1 = _mm512_shuffle_i32x4(u[q], u[4 + q], 0xDD);      // lanes 1,3 | 1,3
    const __m512i s2 = _mm512_shuffle_i32x4(u[8 + q], u[12 + q], 0x88);
    const __m512i s3 = _mm512_shuffle_i32x4(u[8 + q], u[12 + q], 0xDD);
    r[q] = _mm512_shuffle_i32x4(s0, s2, 0x88);
    r[8 + q] = _mm512_shuffle_i32x4(s0, s2, 0xDD);
    r[4 + q] = _mm512_shuffle_i32x4(s1, s3, 0x88);
    r[12 + q] = _mm512_shuffle_i32x4(s1, s3, 0xDD);
  }
}

// Up to 16 inputs of the job starting with input `first`, `count` of them.
void hash16(const HashMany& job, std::size_t first, std::size_t count) noexcept {
  const std::size_t stride = job.blocks * k_block_len;
  const std::uint8_t* in[k_lanes];
  alignas(64) std::uint32_t counter_lo[k_lanes];
  alignas(64) std::uint32_t counter_hi[k_lanes];
  for (std::size_t l = 0; l < k_lanes; ++l) {
    const std::size_t i = first + (l < count ? l : count - 1);
    in[l] = job.in + i * stride;
    const std::uint64_t counter = job.counter_per_input ? job.counter + i : job.counter;
    counter_lo[l] = static_cast<std::uint32_t>(counter);
    counter_hi[l] = static_cast<std::uint32_t>(counter >> 32);
  }
  const __m512i ctr_lo = _mm512_load_si512(counter_lo);
  const __m512i ctr_hi = _mm512_load_si512(counter_hi);
  const __m512i block_len = _mm512_set1_epi32(static_cast<int>(k_block_len));

  __m512i h[16];
  for (int i = 0; i < 8; ++i) {
    h[i] = _mm512_set1_epi32(static_cast<int>(job.key[i]));
  }
  for (std::size_t j = 0; j < job.blocks; ++j) {
    // m[w]: message word w of the 16 inputs.
    __m512i m[16];
    for (std::size_t l = 0; l < k_lanes; ++l) {
      m[l] = _mm512_loadu_si512(in[l] + j * k_block_len);
    }
    transpose16(m);

    std::uint32_t flags = job.flags;
    if (j == 0) {
      flags |= job.flags_start;
    }
    if (j + 1 == job.blocks) {
      flags |= job.flags_end;
    }
    __m512i v[16] = {h[0],
                     h[1],
                     h[2],
                     h[3],
                     h[4],
                     h[5],
                     h[6],
                     h[7],
                     _mm512_set1_epi32(static_cast<int>(k_iv[0])),
                     _mm512_set1_epi32(static_cast<int>(k_iv[1])),
                     _mm512_set1_epi32(static_cast<int>(k_iv[2])),
                     _mm512_set1_epi32(static_cast<int>(k_iv[3])),
                     ctr_lo,
                     ctr_hi,
                     block_len,
                     _mm512_set1_epi32(static_cast<int>(flags))};
    rounds(v, m);
    for (int i = 0; i < 8; ++i) {
      h[i] = xor_(v[i], v[i + 8]);
    }
  }
  // Transposed with 8 zero rows, row l starts with the chaining value of lane l.
  for (int i = 8; i < 16; ++i) {
    h[i] = _mm512_setzero_si512();
  }
  transpose16(h);
  for (std::size_t l = 0; l < count; ++l) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(job.out + (first + l) * k_cv_len),
                        _mm512_castsi512_si256(h[l]));
  }
}

} // namespace

void step_avx512(LaneStep& step) noexcept {
  __m512i m[16];
  for (std::size_t l = 0; l < k_lanes; ++l) {
    m[l] = _mm512_loadu_si512(step.block[l]);
  }
  transpose16(m);
  __m512i v[16];
  for (int i = 0; i < 8; ++i) {
    v[i] = _mm512_load_si512(step.cv[i]);
  }
  for (int i = 0; i < 4; ++i) {
    v[8 + i] = _mm512_set1_epi32(static_cast<int>(k_iv[i]));
  }
  v[12] = _mm512_load_si512(step.counter_lo);
  v[13] = _mm512_load_si512(step.counter_hi);
  v[14] = _mm512_load_si512(step.block_len);
  v[15] = _mm512_load_si512(step.flags);
  rounds(v, m);
  for (int i = 0; i < 8; ++i) {
    _mm512_store_si512(step.cv[i], xor_(v[i], v[i + 8]));
  }
}

void hash_many_avx512(const HashMany& job) noexcept {
  std::size_t i = 0;
  while (job.n - i >= k_lanes) {
    hash16(job, i, k_lanes);
    i += k_lanes;
  }
  const std::size_t rest = job.n - i;
  if (rest > 8) {
    hash16(job, i, rest); // padded: costs about as much as 1.4 times 8 lanes of AVX2
  } else if (rest > 0) {
    HashMany tail = job;
    tail.in += i * job.blocks * k_block_len;
    tail.n = rest;
    tail.counter += job.counter_per_input ? i : 0;
    tail.out += i * k_cv_len;
    hash_many_avx2(tail);
  }
}

} // namespace rafs::blake3_detail

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif
