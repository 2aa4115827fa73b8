// The BLAKE3 kernels (format/blake3_kernels.hpp): each one the CPU supports
// compresses any number of chunks or parent nodes as the portable one does,
// and forced under rafs::Blake3 gives the official test vector outputs,
// hashes inputs around chunk and batch boundaries as the portable kernel
// does, in pieces as in one piece, and as b3sum does.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "format/blake3_kernels.hpp"
#include "format/blake3_vectors.hpp"
#include "format/bytes.hpp"
#include "format/digest.hpp"
#include "support/temp_dir.hpp"

namespace {

using rafs::Blake3Kernel;
using namespace rafs::test::blake3_vectors;

constexpr std::size_t k_kib = 1024;
constexpr std::size_t k_mib = 1024 * 1024;

std::string kernel_name(Blake3Kernel k) {
  switch (k) {
  case Blake3Kernel::avx2:
    return "avx2";
  case Blake3Kernel::avx512:
    return "avx512";
  case Blake3Kernel::portable:
    break;
  }
  return "portable";
}

// Forces a kernel for its lifetime, then restores the one before.
class ForcedKernel {
public:
  explicit ForcedKernel(Blake3Kernel k) : m_before(rafs::blake3_active_kernel()) {
    REQUIRE(rafs::blake3_force_kernel(k));
    REQUIRE(rafs::blake3_active_kernel() == k);
  }
  ~ForcedKernel() { rafs::blake3_force_kernel(m_before); }
  ForcedKernel(const ForcedKernel&) = delete;
  ForcedKernel& operator=(const ForcedKernel&) = delete;

private:
  Blake3Kernel m_before;
};

// A deterministic pseudo-random pattern (xorshift64*), different per length.
std::vector<std::uint8_t> pattern(std::size_t n) {
  std::vector<std::uint8_t> out(n);
  std::uint64_t x = 0x9e3779b97f4a7c15ULL ^ n;
  for (std::size_t i = 0; i < n; ++i) {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    out[i] = static_cast<std::uint8_t>((x * 0x2545f4914f6cdd1dULL) >> 56);
  }
  return out;
}

// 64 bytes of output of `data` hashed in one update.
std::string one_shot_hex(Mode mode, rafs::Bytes data) {
  rafs::Blake3 h = make_hasher(mode);
  h.update(data);
  return xof_hex(h, 64);
}

// 64 bytes of output of `data` fed in pieces of the given sizes, in turn.
std::string pieces_hex(Mode mode, rafs::Bytes data, const std::vector<std::size_t>& sizes) {
  rafs::Blake3 h = make_hasher(mode);
  std::size_t next = 0;
  while (!data.empty()) {
    const std::size_t take = std::min(sizes[next % sizes.size()], data.size());
    h.update(data.first(take));
    data = data.subspan(take);
    ++next;
  }
  return xof_hex(h, 64);
}

// Input lengths around chunk boundaries and the kernels' batches of 8 and 16
// chunks and 64 chunks per call.
const std::size_t k_lengths[] = {0,
                                 1,
                                 1023,
                                 1024,
                                 1025,
                                 2048,
                                 8 * k_kib - 1,
                                 8 * k_kib,
                                 8 * k_kib + 1,
                                 16 * k_kib - 1,
                                 16 * k_kib,
                                 16 * k_kib + 1,
                                 17 * k_kib,
                                 31 * k_kib + 1,
                                 64 * k_kib + 1,
                                 65 * k_kib + 1,
                                 k_mib,
                                 k_mib + 1,
                                 3 * k_mib + 5};

} // namespace

TEST_SUITE("format::Blake3 kernels") {
  TEST_CASE("the portable kernel is always supported and one kernel is active") {
    const std::vector<Blake3Kernel> kernels = rafs::blake3_kernels_supported();
    REQUIRE(!kernels.empty());
    CHECK(kernels.front() == Blake3Kernel::portable);
    CHECK(std::find(kernels.begin(), kernels.end(), rafs::blake3_active_kernel()) !=
          kernels.end());
    std::string names;
    for (Blake3Kernel k : kernels) {
      names += " " + kernel_name(k);
    }
    MESSAGE("BLAKE3 kernels this CPU supports:" << names);
  }

  TEST_CASE("forcing a kernel the CPU lacks is refused and keeps the active one") {
    const std::vector<Blake3Kernel> kernels = rafs::blake3_kernels_supported();
    const Blake3Kernel before = rafs::blake3_active_kernel();
    for (Blake3Kernel k : {Blake3Kernel::portable, Blake3Kernel::avx2, Blake3Kernel::avx512}) {
      if (std::find(kernels.begin(), kernels.end(), k) == kernels.end()) {
        CAPTURE(kernel_name(k));
        CHECK_FALSE(rafs::blake3_force_kernel(k));
        CHECK(rafs::blake3_active_kernel() == before);
      }
    }
  }

  TEST_CASE("every supported kernel compresses any number of chunks or parent nodes as the "
            "portable kernel does") {
    namespace d = rafs::blake3_detail;
    struct Job {
      const char* what;
      std::size_t blocks;
      std::uint64_t counter;
      bool counter_per_input;
      std::uint32_t flags;
      std::uint32_t flags_start;
      std::uint32_t flags_end;
    };
    const Job jobs[] = {
        {"chunks", 16, 0, true, 0, d::k_chunk_start, d::k_chunk_end},
        {"keyed chunks whose counters cross 2^32", 16, (std::uint64_t{1} << 32) - 7, true,
         d::k_keyed_hash, d::k_chunk_start, d::k_chunk_end},
        {"parents", 1, 0, false, d::k_parent, 0, 0},
        {"parents with a counter above 2^32", 1, 0x1'2345'6789, false,
         d::k_parent | d::k_derive_key_material, 0, 0},
    };
    const std::uint32_t key[8] = {0x03020100u, 0x07060504u, 0x0b0a0908u, 0x0f0e0d0cu,
                                  0x13121110u, 0x17161514u, 0x1b1a1918u, 0x1f1e1d1cu};
    constexpr std::size_t k_max_inputs = 40; // 2 groups of 16, then 8 (AVX2 in AVX-512)
    const std::vector<std::uint8_t> in = pattern(k_max_inputs * k_kib);
    for (Blake3Kernel kernel : rafs::blake3_kernels_supported()) {
      CAPTURE(kernel_name(kernel));
      const d::HashManyFn hash_many = d::kernel_function(kernel);
      for (const Job& job : jobs) {
        const std::string what = job.what;
        CAPTURE(what);
        for (std::size_t n = 0; n <= k_max_inputs; ++n) {
          CAPTURE(n);
          std::vector<std::uint8_t> want(n * d::k_cv_len);
          std::vector<std::uint8_t> got(n * d::k_cv_len);
          d::hash_many_portable({in.data(), n, job.blocks, key, job.counter, job.counter_per_input,
                                 job.flags, job.flags_start, job.flags_end, want.data()});
          hash_many({in.data(), n, job.blocks, key, job.counter, job.counter_per_input, job.flags,
                     job.flags_start, job.flags_end, got.data()});
          CHECK(rafs::to_hex(got) == rafs::to_hex(want));
        }
      }
    }
  }

  TEST_CASE("every supported kernel gives the official test vector outputs in all modes") {
    for (Blake3Kernel kernel : rafs::blake3_kernels_supported()) {
      CAPTURE(kernel_name(kernel));
      ForcedKernel forced(kernel);
      for (Mode mode : k_modes) {
        CAPTURE(static_cast<int>(mode));
        for (const Vector& v : k_vectors) {
          // Only inputs longer than one chunk go through a kernel; blake3_test.cpp
          // checks all the vectors with the default kernel.
          if (v.input_len <= rafs::blake3_detail::k_chunk_len) {
            continue;
          }
          CAPTURE(v.input_len);
          const std::vector<std::uint8_t> in = vector_input(v.input_len);
          const std::string want = expected_hex(v, mode);
          rafs::Blake3 h = make_hasher(mode);
          h.update(in);
          CHECK(xof_hex(h, k_vector_output_len) == want);
          CHECK(rafs::to_hex(h.finalize()) == want.substr(0, 64));
          // In two pieces, cut inside the second chunk if there is one.
          const std::size_t at = std::min<std::size_t>(1500, in.size());
          rafs::Blake3 cut = make_hasher(mode);
          cut.update(rafs::Bytes(in).first(at));
          cut.update(rafs::Bytes(in).subspan(at));
          CHECK(xof_hex(cut, k_vector_output_len) == want);
        }
      }
    }
  }

  TEST_CASE("every supported kernel hashes lengths around chunk and batch boundaries as the "
            "portable kernel does") {
    for (std::size_t len : k_lengths) {
      CAPTURE(len);
      const std::vector<std::uint8_t> in = pattern(len);
      std::string want_hash;
      std::string want_keyed;
      {
        ForcedKernel forced(Blake3Kernel::portable);
        want_hash = one_shot_hex(Mode::hash, in);
        want_keyed = one_shot_hex(Mode::keyed, in);
      }
      for (Blake3Kernel kernel : rafs::blake3_kernels_supported()) {
        CAPTURE(kernel_name(kernel));
        ForcedKernel forced(kernel);
        CHECK(one_shot_hex(Mode::hash, in) == want_hash);
        CHECK(one_shot_hex(Mode::keyed, in) == want_keyed);
      }
    }
  }

  TEST_CASE("every supported kernel gives the same hash for updates in odd pieces as in one") {
    const std::vector<std::vector<std::size_t>> piece_sizes = {
        {1, 63, 1000, 4097},
        {1024, 16 * k_kib, 1},
        {4097, 1, 17 * k_kib + 3, 63, 1000, 2048},
        {65 * k_kib + 1},
    };
    for (std::size_t len : k_lengths) {
      CAPTURE(len);
      const std::vector<std::uint8_t> in = pattern(len);
      for (Blake3Kernel kernel : rafs::blake3_kernels_supported()) {
        CAPTURE(kernel_name(kernel));
        ForcedKernel forced(kernel);
        const std::string want = one_shot_hex(Mode::hash, in);
        for (const std::vector<std::size_t>& sizes : piece_sizes) {
          CAPTURE(sizes.front());
          CHECK(pieces_hex(Mode::hash, in, sizes) == want);
        }
        CHECK(pieces_hex(Mode::derive_key, in, piece_sizes.front()) ==
              one_shot_hex(Mode::derive_key, in));
      }
    }
  }

  TEST_CASE("every supported kernel hashes as b3sum does in all modes") {
    const std::filesystem::path b3sum = find_b3sum();
    if (b3sum.empty()) {
      FAIL("b3sum is not installed: install the b3sum package (apt-get install b3sum, "
           "ci/deps.sh installs it)");
    }
    rafs::test::TempDir dir;
    const std::filesystem::path key_file = dir / "key";
    rafs::test::write_file(key_file, std::vector<std::uint8_t>(k_key.begin(), k_key.end()));
    for (std::size_t len : {std::size_t{0}, std::size_t{1025}, 8 * k_kib + 1, 17 * k_kib, k_mib,
                            k_mib + 1, 3 * k_mib + 5}) {
      CAPTURE(len);
      const std::vector<std::uint8_t> in = pattern(len);
      const std::filesystem::path file = dir / ("input-" + std::to_string(len));
      rafs::test::write_file(file, in);
      const std::string tool = shell_quote(b3sum.string()) + " --length 64 --no-names ";
      const std::string want_hash = command_output(tool + shell_quote(file.string()));
      const std::string want_keyed = command_output(tool + "--keyed " + shell_quote(file.string()) +
                                                    " < " + shell_quote(key_file.string()));
      const std::string want_derived = command_output(
          tool + "--derive-key " + shell_quote(std::string(k_context)) + " " +
          shell_quote(file.string()));
      REQUIRE(want_hash.size() == 128);
      for (Blake3Kernel kernel : rafs::blake3_kernels_supported()) {
        CAPTURE(kernel_name(kernel));
        ForcedKernel forced(kernel);
        CHECK(one_shot_hex(Mode::hash, in) == want_hash);
        CHECK(one_shot_hex(Mode::keyed, in) == want_keyed);
        CHECK(one_shot_hex(Mode::derive_key, in) == want_derived);
      }
      std::filesystem::remove(file);
    }
  }
}
