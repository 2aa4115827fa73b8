// SHA-256 over OpenSSL's EVP interface. OpenSSL stays inside this file.
#include <openssl/evp.h>

#include <new>
#include <stdexcept>

#include "format/digest.hpp"

namespace rafs {
namespace {

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

} // namespace

struct Sha256::Impl {
  MdCtxPtr ctx;
};

Sha256::Sha256() : m_impl(std::make_unique<Impl>()) {
  m_impl->ctx.reset(EVP_MD_CTX_new());
  if (!m_impl->ctx) {
    throw std::bad_alloc();
  }
  if (EVP_DigestInit_ex(m_impl->ctx.get(), EVP_sha256(), nullptr) != 1) {
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
  if (EVP_DigestUpdate(m_impl->ctx.get(), data.data(), data.size()) != 1) {
    throw std::runtime_error("sha256: EVP_DigestUpdate failed");
  }
}

Digest Sha256::finalize() {
  Digest d{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(m_impl->ctx.get(), d.data(), &len) != 1 || len != d.size()) {
    throw std::runtime_error("sha256: EVP_DigestFinal_ex failed");
  }
  return d;
}

} // namespace rafs
