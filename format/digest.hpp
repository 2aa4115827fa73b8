// Chunk and inode digests: blake3 (our implementation) and sha256 (OpenSSL).
#pragma once

#include <array>
#include <optional>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "format/bytes.hpp"

namespace rafs {

// The digest algorithms of RAFS. Values are ours (v5 stores a flag bit).
enum class DigestAlgo : std::uint8_t { blake3 = 0, sha256 = 1 };

using Digest = std::array<std::uint8_t, 32>;

std::string_view digest_algo_name(DigestAlgo algo) noexcept;

// Incremental BLAKE3 (hash mode, keyed mode, derive-key mode; extendable
// output). Implemented from the BLAKE3 specification: portable C++, and on
// x86-64 AVX2 and AVX-512 kernels that hash 8 or 16 chunks side by side,
// chosen once at run time from what the CPU supports.
class Blake3 {
public:
  Blake3() noexcept;                                       // hash mode
  static Blake3 keyed(const std::array<std::uint8_t, 32>& key) noexcept;
  static Blake3 derive_key(std::string_view context) noexcept;

  void update(Bytes data) noexcept;
  // The first 32 bytes of output. Does not change the state.
  Digest finalize() const noexcept;
  // Any length of output (XOF). Does not change the state.
  void finalize_xof(MutableBytes out) const noexcept;

private:
  struct Chunk {
    std::array<std::uint32_t, 8> cv;
    std::uint64_t counter;
    std::array<std::uint8_t, 64> block;
    std::uint8_t block_len;
    std::uint8_t blocks_compressed;
    std::uint32_t flags;
  };
  Blake3(const std::array<std::uint32_t, 8>& key, std::uint32_t flags) noexcept;
  void push_cv(const std::array<std::uint32_t, 8>& cv, std::uint64_t total_chunks) noexcept;
  void hash_whole_chunks(const std::uint8_t* data, std::size_t chunks) noexcept;

  std::array<std::uint32_t, 8> m_key;
  Chunk m_chunk;
  std::array<std::array<std::uint32_t, 8>, 54> m_stack; // enough for 2^64 bytes
  std::uint8_t m_stack_len = 0;
  std::uint32_t m_flags;
};

// BLAKE3 (hash mode) of many inputs at once: out[i] is the digest Blake3
// gives inputs[i]. Inputs of up to 16 KiB are hashed side by side, a block
// of each of up to 16 of them per step of the kernel (blake3_many.cpp), so
// the SIMD lanes stay busy however few chunks each input has; longer ones go
// through Blake3 one after another. `out` has at least inputs.size() digests.
void blake3_many(std::span<const Bytes> inputs, std::span<Digest> out);

// The BLAKE3 kernels: which one hashes is chosen on first use, the fastest
// the CPU supports. For tests and benchmarks: the supported ones (portable
// always first), the one in use, and forcing one (false if the CPU lacks it).
// Forcing is not for use while another thread hashes.
enum class Blake3Kernel : std::uint8_t { portable, avx2, avx512 };
std::vector<Blake3Kernel> blake3_kernels_supported();
Blake3Kernel blake3_active_kernel() noexcept;
bool blake3_force_kernel(Blake3Kernel kernel) noexcept;

// Incremental SHA-256 over OpenSSL's EVP interface.
class Sha256 {
public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(Bytes data);
  Digest finalize(); // ends this hasher; call once

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// Either algorithm behind one type, for code that follows the image's flag.
class Hasher {
public:
  explicit Hasher(DigestAlgo algo);
  void update(Bytes data);
  Digest finalize(); // call once
private:
  Blake3 m_blake3;
  std::optional<Sha256> m_sha256; // only for sha256: its OpenSSL context costs an allocation
};

Digest digest_of(DigestAlgo algo, Bytes data);
// out[i] = digest_of(algo, inputs[i]); BLAKE3 through blake3_many.
void digest_many(DigestAlgo algo, std::span<const Bytes> inputs, std::span<Digest> out);

} // namespace rafs
