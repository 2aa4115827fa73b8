// The digest algorithm names, and one hasher type for either algorithm.
#include "format/digest.hpp"

namespace rafs {

std::string_view digest_algo_name(DigestAlgo algo) noexcept {
  switch (algo) {
  case DigestAlgo::blake3:
    return "blake3";
  case DigestAlgo::sha256:
    return "sha256";
  }
  return "unknown";
}

Hasher::Hasher(DigestAlgo algo) {
  if (algo == DigestAlgo::sha256) {
    m_sha256.emplace();
  }
}

void Hasher::update(Bytes data) {
  if (m_sha256) {
    m_sha256->update(data);
  } else {
    m_blake3.update(data);
  }
}

Digest Hasher::finalize() { return m_sha256 ? m_sha256->finalize() : m_blake3.finalize(); }

Digest digest_of(DigestAlgo algo, Bytes data) {
  if (algo == DigestAlgo::sha256) {
    Sha256 h;
    h.update(data);
    return h.finalize();
  }
  Blake3 h;
  h.update(data);
  return h.finalize();
}

void digest_many(DigestAlgo algo, std::span<const Bytes> inputs, std::span<Digest> out) {
  if (algo == DigestAlgo::blake3) {
    blake3_many(inputs, out);
    return;
  }
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    out[i] = digest_of(algo, inputs[i]);
  }
}

} // namespace rafs
