// rafs::blake3_many (format/blake3_many.cpp) and the kernels' lane steps it
// runs on: each step compresses every lane as compress() does, and every
// input of a batch, whatever the lengths beside it, gets the digest Blake3
// gives it and the official test vectors' hash-mode output.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "format/blake3_kernels.hpp"
#include "format/blake3_vectors.hpp"
#include "format/bytes.hpp"
#include "format/digest.hpp"

namespace {

using rafs::Blake3Kernel;
namespace d = rafs::blake3_detail;
using namespace rafs::test::blake3_vectors;

// Forces a kernel for its lifetime, then restores the one before.
class ForcedKernel {
public:
  explicit ForcedKernel(Blake3Kernel k) : m_before(rafs::blake3_active_kernel()) {
    REQUIRE(rafs::blake3_force_kernel(k));
  }
  ~ForcedKernel() { rafs::blake3_force_kernel(m_before); }
  ForcedKernel(const ForcedKernel&) = delete;
  ForcedKernel& operator=(const ForcedKernel&) = delete;

private:
  Blake3Kernel m_before;
};

// xorshift64*: deterministic words and bytes for the tests' inputs.
class Random {
public:
  explicit Random(std::uint64_t seed) : m_x(seed | 1) {}
  std::uint64_t next() {
    m_x ^= m_x >> 12;
    m_x ^= m_x << 25;
    m_x ^= m_x >> 27;
    return m_x * 0x2545f4914f6cdd1dULL;
  }
  std::vector<std::uint8_t> bytes(std::size_t n) {
    std::vector<std::uint8_t> out(n);
    for (auto& b : out) {
      b = static_cast<std::uint8_t>(next() >> 56);
    }
    return out;
  }

private:
  std::uint64_t m_x;
};

std::string hex_of(const std::vector<rafs::Digest>& digests) {
  std::string out;
  for (const rafs::Digest& dg : digests) {
    out += rafs::to_hex(dg) + "\n";
  }
  return out;
}

// blake3_many of `inputs` under the active kernel.
std::vector<rafs::Digest> many(const std::vector<std::vector<std::uint8_t>>& inputs) {
  std::vector<rafs::Bytes> views(inputs.begin(), inputs.end());
  std::vector<rafs::Digest> out(inputs.size());
  rafs::blake3_many(views, out);
  return out;
}

// Blake3 of each input, one after another, with the portable kernel.
std::vector<rafs::Digest> one_by_one(const std::vector<std::vector<std::uint8_t>>& inputs) {
  ForcedKernel forced(Blake3Kernel::portable);
  std::vector<rafs::Digest> out;
  for (const auto& in : inputs) {
    rafs::Blake3 h;
    h.update(in);
    out.push_back(h.finalize());
  }
  return out;
}

} // namespace

TEST_SUITE("format::blake3_many") {
  TEST_CASE("every supported kernel's step compresses each lane as compress() does") {
    Random rnd(7);
    const std::vector<std::uint8_t> blocks = rnd.bytes(d::k_step_lanes * d::k_block_len);
    for (Blake3Kernel kernel : rafs::blake3_kernels_supported()) {
      CAPTURE(static_cast<int>(kernel));
      const d::StepFn step_fn = d::step_function(kernel);
      for (std::size_t lanes = 1; lanes <= d::k_step_lanes; ++lanes) {
        CAPTURE(lanes);
        d::LaneStep step{};
        step.lanes = lanes;
        std::vector<std::uint32_t> want(lanes * 8);
        for (std::size_t l = 0; l < d::k_step_lanes; ++l) {
          step.block[l] = blocks.data() + l * d::k_block_len;
          for (std::size_t w = 0; w < 8; ++w) {
            step.cv[w][l] = static_cast<std::uint32_t>(rnd.next());
          }
          // Counters on both sides of 2^32, every block length, any flags.
          const std::uint64_t counter = (std::uint64_t{1} << 32) - 8 + l + (rnd.next() % 3);
          step.counter_lo[l] = static_cast<std::uint32_t>(counter);
          step.counter_hi[l] = static_cast<std::uint32_t>(counter >> 32);
          step.block_len[l] = static_cast<std::uint32_t>(rnd.next() % (d::k_block_len + 1));
          step.flags[l] = static_cast<std::uint32_t>(rnd.next() % 128);
          if (l >= lanes) {
            continue;
          }
          std::uint32_t cv[8];
          std::uint32_t block[16];
          std::uint32_t out[16];
          for (std::size_t w = 0; w < 8; ++w) {
            cv[w] = step.cv[w][l];
          }
          for (std::size_t w = 0; w < 16; ++w) {
            block[w] = rafs::load_le<std::uint32_t>(step.block[l] + 4 * w);
          }
          d::compress(cv, block, counter, step.block_len[l], step.flags[l], out);
          std::copy_n(out, 8, want.begin() + static_cast<std::ptrdiff_t>(l * 8));
        }
        step_fn(step);
        std::vector<std::uint32_t> got(lanes * 8);
        for (std::size_t l = 0; l < lanes; ++l) {
          for (std::size_t w = 0; w < 8; ++w) {
            got[l * 8 + w] = step.cv[w][l];
          }
        }
        CHECK(got == want);
      }
    }
  }

  TEST_CASE("every supported kernel gives each official test vector input its hash-mode output") {
    std::vector<std::vector<std::uint8_t>> inputs;
    std::string want;
    for (const Vector& v : k_vectors) {
      inputs.push_back(vector_input(v.input_len)); // 0 to 102400 bytes: over 16 KiB too
      want += expected_hex(v, Mode::hash).substr(0, 64) + "\n";
    }
    for (Blake3Kernel kernel : rafs::blake3_kernels_supported()) {
      CAPTURE(static_cast<int>(kernel));
      ForcedKernel forced(kernel);
      CHECK(hex_of(many(inputs)) == want);
    }
  }

  TEST_CASE("every input of a batch of mixed lengths gets the digest Blake3 gives it") {
    // Every length to 2100 bytes (empty, partial and whole blocks, one and
    // two chunks), and around every block and chunk boundary to 17 KiB: one
    // to 16 chunks side by side, 16 KiB + 1 and more through Blake3.
    std::vector<std::size_t> lengths;
    for (std::size_t n = 0; n <= 2100; ++n) {
      lengths.push_back(n);
    }
    for (std::size_t k = 3; k <= 17; ++k) {
      for (std::size_t delta : {0u, 1u, 63u, 64u, 65u}) {
        lengths.push_back(k * 1024 - delta);
        lengths.push_back(k * 1024 + delta);
      }
    }
    // In a scrambled order, so lanes refill with tasks of other lengths.
    Random rnd(11);
    for (std::size_t i = lengths.size() - 1; i > 0; --i) {
      std::swap(lengths[i], lengths[rnd.next() % (i + 1)]);
    }
    std::vector<std::vector<std::uint8_t>> inputs;
    for (std::size_t n : lengths) {
      inputs.push_back(rnd.bytes(n));
    }
    const std::string want = hex_of(one_by_one(inputs));
    for (Blake3Kernel kernel : rafs::blake3_kernels_supported()) {
      CAPTURE(static_cast<int>(kernel));
      ForcedKernel forced(kernel);
      CHECK(hex_of(many(inputs)) == want);
      // Batches of one to a few inputs: lanes left idle.
      for (std::size_t count : {1u, 2u, 5u, 17u}) {
        CAPTURE(count);
        const std::vector<std::vector<std::uint8_t>> few(inputs.end() - static_cast<std::ptrdiff_t>(count),
                                                         inputs.end());
        CHECK(hex_of(many(few)) == hex_of(one_by_one(few)));
      }
    }
  }

  TEST_CASE("no inputs give no digests and touch nothing") {
    std::vector<rafs::Digest> out(1);
    out[0].fill(0xAB);
    rafs::blake3_many({}, std::span<rafs::Digest>(out).first(0));
    std::string want;
    for (int i = 0; i < 32; ++i) {
      want += "ab";
    }
    CHECK(rafs::to_hex(out[0]) == want);
  }
}
