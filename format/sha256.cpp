// SHA-256 over OpenSSL's EVP interface (SHA-NI where the CPU has it).
// OpenSSL stays inside this file, and libcrypto is loaded with dlopen at
// the first digest (format/shared_lib.hpp says why).
#include <openssl/evp.h>

#include <new>
#include <stdexcept>

#include "format/digest.hpp"
#include "format/shared_lib.hpp"

namespace rafs {
namespace {

#define RAFS_CRYPTO_FUNCTIONS(X)                                                                   \
  X(EVP_MD_CTX_new)                                                                                \
  X(EVP_MD_CTX_free)                                                                               \
  X(EVP_sha256)                                                                                    \
  X(EVP_DigestInit_ex)                                                                             \
  X(EVP_DigestUpdate)                                                                              \
  X(EVP_DigestFinal_ex)

struct CryptoApi {
#define RAFS_CRYPTO_MEMBER(name) decltype(&::name) name = nullptr;
  RAFS_CRYPTO_FUNCTIONS(RAFS_CRYPTO_MEMBER)
#undef RAFS_CRYPTO_MEMBER
  const EVP_MD* sha256 = nullptr;
  std::string error; // why it could not be loaded; "" when loaded
};

CryptoApi load() {
  CryptoApi api;
  auto lib = open_shared_lib("libcrypto.so.3", "libssl3");
  if (!lib) {
    api.error = lib.error().message;
    return api;
  }
#define RAFS_CRYPTO_LOOKUP(name)                                                                   \
  api.name = reinterpret_cast<decltype(&::name)>(shared_lib_symbol(*lib, #name));                \
  if (api.name == nullptr) {                                                                       \
    api.error = "libcrypto.so.3: no symbol " #name;                                               \
    return api;                                                                                    \
  }
  RAFS_CRYPTO_FUNCTIONS(RAFS_CRYPTO_LOOKUP)
#undef RAFS_CRYPTO_LOOKUP
  api.sha256 = api.EVP_sha256();
  return api;
}

// Loaded once per process (thread-safe); throws when libcrypto is unusable.
const CryptoApi& crypto() {
  static const CryptoApi api = load();
  if (!api.error.empty()) {
    throw std::runtime_error("sha256: " + api.error);
  }
  return api;
}

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const noexcept { crypto().EVP_MD_CTX_free(ctx); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

} // namespace

struct Sha256::Impl {
  MdCtxPtr ctx;
};

Sha256::Sha256() : m_impl(std::make_unique<Impl>()) {
  const CryptoApi& c = crypto();
  m_impl->ctx.reset(c.EVP_MD_CTX_new());
  if (!m_impl->ctx) {
    throw std::bad_alloc();
  }
  if (c.EVP_DigestInit_ex(m_impl->ctx.get(), c.sha256, nullptr) != 1) {
    throw std::runtime_error("sha256: EVP_DigestInit_ex failed");
  }
}

Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(Bytes data) {
  if (data.empty()) {
    return;
  }
  if (crypto().EVP_DigestUpdate(m_impl->ctx.get(), data.data(), data.size()) != 1) {
    throw std::runtime_error("sha256: EVP_DigestUpdate failed");
  }
}

Digest Sha256::finalize() {
  Digest d{};
  unsigned int len = 0;
  if (crypto().EVP_DigestFinal_ex(m_impl->ctx.get(), d.data(), &len) != 1 || len != d.size()) {
    throw std::runtime_error("sha256: EVP_DigestFinal_ex failed");
  }
  return d;
}

} // namespace rafs
