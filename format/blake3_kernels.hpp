// BLAKE3 internals shared by blake3.cpp and the kernels that compress many
// inputs side by side (portable, AVX2, AVX-512): the constants of the
// specification and the kernel interface. Not part of the library's API.
//
// blake3_avx2.cpp and blake3_avx512.cpp are compiled with -mavx2 / -mavx512f.
// What they share with other code must be data or out-of-line functions,
// never an inline function or template: the linker keeps one copy of those
// for the whole program and could pick the AVX one for a CPU without AVX.
// Hence plain arrays and pointers here, no std::array.
#pragma once

#include <cstddef>
#include <cstdint>

// The SIMD kernels exist on x86-64 builds only; CMake defines
// RAFS_BLAKE3_X86_SIMD when it compiles them with their instruction sets.
#if defined(RAFS_BLAKE3_X86_SIMD) && defined(__x86_64__)
#define RAFS_BLAKE3_HAVE_X86_KERNELS 1
#else
#define RAFS_BLAKE3_HAVE_X86_KERNELS 0
#endif

namespace rafs {
enum class Blake3Kernel : std::uint8_t; // format/digest.hpp
} // namespace rafs

namespace rafs::blake3_detail {

inline constexpr std::size_t k_block_len = 64;
inline constexpr std::size_t k_chunk_len = 1024;
inline constexpr std::size_t k_blocks_per_chunk = k_chunk_len / k_block_len;
inline constexpr std::size_t k_cv_len = 32; // a chaining value: 8 words, 32 bytes

// Domain separation flags (spec, table 3).
inline constexpr std::uint32_t k_chunk_start = 1u << 0;
inline constexpr std::uint32_t k_chunk_end = 1u << 1;
inline constexpr std::uint32_t k_parent = 1u << 2;
inline constexpr std::uint32_t k_root = 1u << 3;
inline constexpr std::uint32_t k_keyed_hash = 1u << 4;
inline constexpr std::uint32_t k_derive_key_context = 1u << 5;
inline constexpr std::uint32_t k_derive_key_material = 1u << 6;

// The initialization vector, shared with SHA-256.
inline constexpr std::uint32_t k_iv[8] = {0x6A09E667u, 0xBB67AE85u, 0x3C6EF372u, 0xA54FF53Au,
                                          0x510E527Fu, 0x9B05688Cu, 0x1F83D9ABu, 0x5BE0CD19u};

// Message word order of round r+1, as indices into the words of round r.
inline constexpr std::uint8_t k_permutation[16] = {2, 6, 3, 10, 7, 0, 4, 13,
                                                   1, 11, 12, 5, 9, 14, 15, 8};

inline constexpr int k_rounds = 7;

// The permutation applied r times: round r reads block word k_schedule.at[r][i]
// where the specification reads its (permuted) message word i.
struct Schedule {
  std::uint8_t at[k_rounds][16];
};
consteval Schedule make_schedule() {
  Schedule s{};
  for (std::uint8_t i = 0; i < 16; ++i) {
    s.at[0][i] = i;
  }
  for (int r = 1; r < k_rounds; ++r) {
    for (int i = 0; i < 16; ++i) {
      s.at[r][i] = s.at[r - 1][k_permutation[i]];
    }
  }
  return s;
}
inline constexpr Schedule k_schedule = make_schedule();

// The compression function: the full 16-word output (portable C++).
void compress(const std::uint32_t cv[8], const std::uint32_t block[16], std::uint64_t counter,
              std::uint32_t block_len, std::uint32_t flags, std::uint32_t out[16]) noexcept;

// One call of a kernel: `n` inputs of `blocks` whole 64-byte blocks each,
// stored one after another (input i starts at in + i * blocks * 64). Each
// input is chained from `key` through its blocks as a chunk is: block j is
// compressed with block length 64, the counter (counter + i if
// counter_per_input, else counter) and the flags
//   flags | (j == 0 ? flags_start : 0) | (j == blocks - 1 ? flags_end : 0).
// The first 8 words of the last output, little-endian, go to out + 32 * i.
//   chunks:  blocks 16, counter per input, flags_start CHUNK_START, flags_end CHUNK_END
//   parents: blocks 1, counter 0, flags with PARENT; an input is two child CVs
struct HashMany {
  const std::uint8_t* in;
  std::size_t n;
  std::size_t blocks;
  const std::uint32_t* key; // 8 words
  std::uint64_t counter;
  bool counter_per_input;
  std::uint32_t flags;
  std::uint32_t flags_start;
  std::uint32_t flags_end;
  std::uint8_t* out; // n * 32 bytes; must not overlap `in`
};

using HashManyFn = void (*)(const HashMany& job) noexcept;

// One input after another through compress().
void hash_many_portable(const HashMany& job) noexcept;

// The function of a kernel (in blake3.cpp). For tests: the caller checks
// that the CPU supports it (blake3_kernels_supported()).
HashManyFn kernel_function(Blake3Kernel kernel) noexcept;

// One step of the many-inputs hasher (format/blake3_many.cpp): one block
// compressed in each lane, every lane with its own block, chaining value,
// counter, block length and flags, as if each were its own input. Words are
// stored transposed (cv[w][l]: word w of lane l), as the SIMD kernels hold
// them; a step leaves in cv the first 8 words of each lane's output. Lanes
// from `lanes` on may be computed or not and their results are unused, but
// their block pointers must still point at 64 readable bytes.
inline constexpr std::size_t k_step_lanes = 16;
struct LaneStep {
  std::size_t lanes;
  const std::uint8_t* block[k_step_lanes];
  alignas(64) std::uint32_t cv[8][k_step_lanes];
  alignas(64) std::uint32_t counter_lo[k_step_lanes];
  alignas(64) std::uint32_t counter_hi[k_step_lanes];
  alignas(64) std::uint32_t block_len[k_step_lanes];
  alignas(64) std::uint32_t flags[k_step_lanes];
};

using StepFn = void (*)(LaneStep& step) noexcept;

// Lane after lane through compress().
void step_portable(LaneStep& step) noexcept;

// The step function of a kernel (in blake3.cpp).
StepFn step_function(Blake3Kernel kernel) noexcept;

#if RAFS_BLAKE3_HAVE_X86_KERNELS
// 8 lanes at a time (the second 8 only when `lanes` > 8); needs AVX2.
void step_avx2(LaneStep& step) noexcept;
// All 16 lanes at once; needs AVX-512 F+VL.
void step_avx512(LaneStep& step) noexcept;

// 8 inputs at a time (2 to 7 left are padded with repeats); needs AVX2.
void hash_many_avx2(const HashMany& job) noexcept;
// 16 inputs at a time, the rest through the AVX2 kernel; needs AVX-512 F+VL and AVX2.
void hash_many_avx512(const HashMany& job) noexcept;
#endif

} // namespace rafs::blake3_detail
