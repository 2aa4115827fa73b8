// The AVX2 BLAKE3 kernel: compresses 8 inputs (chunks or parent nodes) side
// by side. The state is transposed: one 256-bit register per state word holds
// that word of all 8 inputs, so each step of the compression function is one
// instruction for all of them. Message words are gathered the same way by an
// 8x8 transpose of the blocks' words. A last group of 2 to 7 inputs repeats
// its last input in the spare lanes, whose results are dropped; a single
// last input goes through the portable compression function.
//
// Compiled with -mavx2 (format/CMakeLists.txt); the dispatch in blake3.cpp
// calls it only when the CPU has AVX2. Nothing here may be inline and shared
// (see blake3_kernels.hpp).
#include "format/blake3_kernels.hpp"

#if RAFS_BLAKE3_HAVE_X86_KERNELS

#include <immintrin.h>

namespace rafs::blake3_detail {
namespace {

constexpr std::size_t k_lanes = 8;

inline __m256i add(__m256i a, __m256i b) noexcept { return _mm256_add_epi32(a, b); }
inline __m256i xor_(__m256i a, __m256i b) noexcept { return _mm256_xor_si256(a, b); }

// Rotations right of each 32-bit word: by whole bytes as a byte shuffle.
inline __m256i rotr16(__m256i x) noexcept {
  const __m256i m = _mm256_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13,
                                     2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
  return _mm256_shuffle_epi8(x, m);
}
inline __m256i rotr8(__m256i x) noexcept {
  const __m256i m = _mm256_setr_epi8(1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12,
                                     1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12);
  return _mm256_shuffle_epi8(x, m);
}
inline __m256i rotr12(__m256i x) noexcept {
  return _mm256_or_si256(_mm256_srli_epi32(x, 12), _mm256_slli_epi32(x, 20));
}
inline __m256i rotr7(__m256i x) noexcept {
  return _mm256_or_si256(_mm256_srli_epi32(x, 7), _mm256_slli_epi32(x, 25));
}

// The quarter-round on state words a, b, c, d with message words x, y.
inline void mix(__m256i* v, int a, int b, int c, int d, __m256i x, __m256i y) noexcept {
  v[a] = add(add(v[a], v[b]), x);
  v[d] = rotr16(xor_(v[d], v[a]));
  v[c] = add(v[c], v[d]);
  v[b] = rotr12(xor_(v[b], v[c]));
  v[a] = add(add(v[a], v[b]), y);
  v[d] = rotr8(xor_(v[d], v[a]));
  v[c] = add(v[c], v[d]);
  v[b] = rotr7(xor_(v[b], v[c]));
}

// The 7 rounds of the compression function on the transposed state.
[[gnu::always_inline]] inline void rounds(__m256i* v, const __m256i* m) noexcept {
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

// Transposes the 8x8 matrix of 32-bit words in r[0..7] (row i = r[i]).
[[gnu::always_inline]] inline void transpose8(__m256i* r) noexcept {
  // Pairs of rows interleaved by word, then by pairs of words: each 128-bit
  // half then holds 4 rows of one column; the halves are then swapped into place.
  const __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]);
  const __m256i t1 = _mm256_unpackhi_epi32(r[0], r[1]);
  const __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]);
  const __m256i t3 = _mm256_unpackhi_epi32(r[2], r[3]);
  const __m256i t4 = _mm256_unpacklo_epi32(r[4], r[5]);
  const __m256i t5 = _mm256_unpackhi_epi32(r[4], r[5]);
  const __m256i t6 = _mm256_unpacklo_epi32(r[6], r[7]);
  const __m256i t7 = _mm256_unpackhi_epi32(r[6], r[7]);
  // u_k: columns k and k+4 of rows 0..3; w_k: the same of rows 4..7.
  const __m256i u0 = _mm256_unpacklo_epi64(t0, t2);
  const __m256i u1 = _mm256_unpackhi_epi64(t0, t2);
  const __m256i u2 = _mm256_unpacklo_epi64(t1, t3);
  const __m256i u3 = _mm256_unpackhi_epi64(t1, t3);
  const __m256i w0 = _mm256_unpacklo_epi64(t4, t6);
  const __m256i w1 = _mm256_unpackhi_epi64(t4, t6);
  const __m256i w2 = _mm256_unpacklo_epi64(t5, t7);
  const __m256i w3 = _mm256_unpackhi_epi64(t5, t7);
  r[0] = _mm256_permute2x128_si256(u0, w0, 0x20);
  r[1] = _mm256_permute2x128_si256(u1, w1, 0x20);
  r[2] = _mm256_permute2x128_si256(u2, w2, 0x20);
  r[3] = _mm256_permute2x128_si256(u3, w3, 0x20);
  r[4] = _mm256_permute2x128_si256(u0, w0, 0x31);
  r[5] = _mm256_permute2x128_si256(u1, w1, 0x31);
  r[6] = _mm256_permute2x128_si256(u2, w2, 0x31);
  r[7] = _mm256_permute2x128_si256(u3, w3, 0x31);
}

inline __m256i load(const std::uint8_t* p) noexcept {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

// Up to 8 inputs of the job starting with input `first`, `count` of them.
void hash8(const HashMany& job, std::size_t first, std::size_t count) noexcept {
  const std::size_t stride = job.blocks * k_block_len;
  const std::uint8_t* in[k_lanes];
  alignas(32) std::uint32_t counter_lo[k_lanes];
  alignas(32) std::uint32_t counter_hi[k_lanes];
  for (std::size_t l = 0; l < k_lanes; ++l) {
    const std::size_t i = first + (l < count ? l : count - 1);
    in[l] = job.in + i * stride;
    const std::uint64_t counter = job.counter_per_input ? job.counter + i : job.counter;
    counter_lo[l] = static_cast<std::uint32_t>(counter);
    counter_hi[l] = static_cast<std::uint32_t>(counter >> 32);
  }
  const __m256i ctr_lo = _mm256_load_si256(reinterpret_cast<const __m256i*>(counter_lo));
  const __m256i ctr_hi = _mm256_load_si256(reinterpret_cast<const __m256i*>(counter_hi));
  const __m256i block_len = _mm256_set1_epi32(static_cast<int>(k_block_len));

  __m256i h[8];
  for (int i = 0; i < 8; ++i) {
    h[i] = _mm256_set1_epi32(static_cast<int>(job.key[i]));
  }
  for (std::size_t j = 0; j < job.blocks; ++j) {
    // m[w]: message word w of the 8 inputs.
    __m256i m[16];
    for (std::size_t l = 0; l < k_lanes; ++l) {
      m[l] = load(in[l] + j * k_block_len);
      m[l + 8] = load(in[l] + j * k_block_len + 32);
    }
    transpose8(m);
    transpose8(m + 8);

    std::uint32_t flags = job.flags;
    if (j == 0) {
      flags |= job.flags_start;
    }
    if (j + 1 == job.blocks) {
      flags |= job.flags_end;
    }
    __m256i v[16] = {h[0],
                     h[1],
                     h[2],
                     h[3],
                     h[4],
                     h[5],
                     h[6],
                     h[7],
                     _mm256_set1_epi32(static_cast<int>(k_iv[0])),
                     _mm256_set1_epi32(static_cast<int>(k_iv[1])),
                     _mm256_set1_epi32(static_cast<int>(k_iv[2])),
                     _mm256_set1_epi32(static_cast<int>(k_iv[3])),
                     ctr_lo,
                     ctr_hi,
                     block_len,
                     _mm256_set1_epi32(static_cast<int>(flags))};
    rounds(v, m);
    for (int i = 0; i < 8; ++i) {
      h[i] = xor_(v[i], v[i + 8]);
    }
  }
  // Row l of the transposed words is the chaining value of lane l.
  transpose8(h);
  for (std::size_t l = 0; l < count; ++l) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(job.out + (first + l) * k_cv_len), h[l]);
  }
}

} // namespace

void step_avx2(LaneStep& step) noexcept {
  for (std::size_t half = 0; half < k_step_lanes && half < step.lanes; half += k_lanes) {
    __m256i m[16];
    for (std::size_t l = 0; l < k_lanes; ++l) {
      m[l] = load(step.block[half + l]);
      m[l + 8] = load(step.block[half + l] + 32);
    }
    transpose8(m);
    transpose8(m + 8);
    auto at = [&](const std::uint32_t* words) {
      return _mm256_load_si256(reinterpret_cast<const __m256i*>(words + half));
    };
    __m256i v[16];
    for (int i = 0; i < 8; ++i) {
      v[i] = at(step.cv[i]);
    }
    for (int i = 0; i < 4; ++i) {
      v[8 + i] = _mm256_set1_epi32(static_cast<int>(k_iv[i]));
    }
    v[12] = at(step.counter_lo);
    v[13] = at(step.counter_hi);
    v[14] = at(step.block_len);
    v[15] = at(step.flags);
    rounds(v, m);
    for (int i = 0; i < 8; ++i) {
      _mm256_store_si256(reinterpret_cast<__m256i*>(step.cv[i] + half), xor_(v[i], v[i + 8]));
    }
  }
}

void hash_many_avx2(const HashMany& job) noexcept {
  std::size_t i = 0;
  while (job.n - i >= k_lanes) {
    hash8(job, i, k_lanes);
    i += k_lanes;
  }
  const std::size_t rest = job.n - i;
  if (rest >= 2) {
    hash8(job, i, rest); // padded: costs about as much as 1.5 portable compressions
  } else if (rest > 0) {
    HashMany tail = job;
    tail.in += i * job.blocks * k_block_len;
    tail.n = rest;
    tail.counter += job.counter_per_input ? i : 0;
    tail.out += i * k_cv_len;
    hash_many_portable(tail);
  }
}

} // namespace rafs::blake3_detail

#endif
