#include "builder/byte_reader.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "format/digest.hpp"
#include "format/file.hpp"

namespace rafs::builder {

namespace {

class FileReader final : public ByteReader {
public:
  FileReader(UniqueFd fd, std::string name) : m_fd(std::move(fd)), m_name(std::move(name)) {}

  Result<std::size_t> read(MutableBytes out) override {
    for (;;) {
      ssize_t n = ::read(m_fd.get(), out.data(), out.size());
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0) {
        return sys_error(m_name);
      }
      m_read += static_cast<std::uint64_t>(n);
      return static_cast<std::size_t>(n);
    }
  }
  std::string name() const override { return m_name; }
  std::uint64_t raw_bytes_read() const override { return m_read; }

private:
  UniqueFd m_fd;
  std::string m_name;
  std::uint64_t m_read = 0;
};

class VerifyingReader final : public ByteReader {
public:
  VerifyingReader(std::unique_ptr<ByteReader> inner, ExpectedContent expected)
      : m_inner(std::move(inner)), m_expected(std::move(expected)) {}

  Result<std::size_t> read(MutableBytes out) override {
    if (m_done) {
      return std::size_t{0};
    }
    RAFS_TRY_ASSIGN(std::size_t n, m_inner->read(out));
    if (n == 0) {
      RAFS_TRY(finish());
      m_done = true;
      return std::size_t{0};
    }
    m_total += n;
    if (m_expected.size && m_total > *m_expected.size) {
      return mismatch("size", std::to_string(*m_expected.size) + " bytes", "longer");
    }
    m_hash.update(out.first(n));
    return n;
  }
  std::string name() const override { return m_inner->name(); }
  std::uint64_t raw_bytes_read() const override { return m_inner->raw_bytes_read(); }

private:
  Result<void> finish() {
    if (m_expected.size && m_total != *m_expected.size) {
      return mismatch("size", std::to_string(*m_expected.size) + " bytes",
                      std::to_string(m_total) + " bytes");
    }
    std::string actual = "sha256:" + to_hex(m_hash.finalize());
    if (actual != m_expected.digest) {
      return mismatch(m_expected.what, m_expected.digest, actual);
    }
    return {};
  }

  Error mismatch(const std::string& what, const std::string& said, const std::string& is) const {
    return make_error(Errc::corrupted, name() + ": " + what + " mismatch: " + m_expected.claimed_by +
                                           " says " + said + ", data is " + is);
  }

  std::unique_ptr<ByteReader> m_inner;
  ExpectedContent m_expected;
  Sha256 m_hash;
  std::uint64_t m_total = 0;
  bool m_done = false;
};

bool is_lower_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

} // namespace

Result<std::unique_ptr<ByteReader>> open_file_reader(const std::string& path, std::string name) {
  UniqueFd fd(path == "-" ? ::dup(0) : ::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    return sys_error(path);
  }
  return std::unique_ptr<ByteReader>(
      std::make_unique<FileReader>(std::move(fd), name.empty() ? path : std::move(name)));
}

Result<void> check_sha256_digest(std::string_view digest) {
  const std::size_t colon = digest.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return make_error(Errc::corrupted, "'" + std::string(digest) + "' is not a digest (ALGORITHM:HEX)");
  }
  std::string_view algo = digest.substr(0, colon);
  if (algo != "sha256") {
    return make_error(Errc::unsupported,
                      "unsupported digest algorithm " + std::string(algo) + " (only sha256 is supported)");
  }
  std::string_view hex = digest.substr(colon + 1);
  if (hex.size() != 64 || !is_lower_hex(hex)) {
    return make_error(Errc::corrupted,
                      "'" + std::string(digest) + "' is not a sha256 digest (64 lowercase hex digits)");
  }
  return {};
}

Result<std::unique_ptr<ByteReader>> verify_sha256(std::unique_ptr<ByteReader> inner,
                                                  ExpectedContent expected) {
  if (auto ok = check_sha256_digest(expected.digest); !ok) {
    return ok.error().with_context(inner->name() + ": " + expected.claimed_by + " " + expected.what);
  }
  return std::unique_ptr<ByteReader>(
      std::make_unique<VerifyingReader>(std::move(inner), std::move(expected)));
}

} // namespace rafs::builder
