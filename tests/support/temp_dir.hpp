// A fresh directory per test, removed with everything in it at scope exit.
#pragma once

#include <filesystem>
#include <string>
#include <vector>
#include <cstdint>

namespace rafs::test {

class TempDir {
public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return m_path; }
  std::filesystem::path operator/(const std::string& name) const { return m_path / name; }

private:
  std::filesystem::path m_path;
};

std::vector<std::uint8_t> read_file(const std::filesystem::path& p);
void write_file(const std::filesystem::path& p, const std::vector<std::uint8_t>& data);
std::string read_text(const std::filesystem::path& p);

// ../shared/testdata/nydus, or empty when the shared folder is absent.
std::filesystem::path nydus_fixtures();

} // namespace rafs::test

// In a doctest case: declares `nydus` (the upstream fixtures folder), or
// reports the skip and returns when ../shared is absent (never in our CI).
#define SKIP_WITHOUT_FIXTURES()                                                                    \
  const std::filesystem::path nydus = rafs::test::nydus_fixtures();                                \
  if (nydus.empty()) {                                                                             \
    MESSAGE("skipped: ../shared/testdata/nydus is absent");                                        \
    return;                                                                                        \
  }
