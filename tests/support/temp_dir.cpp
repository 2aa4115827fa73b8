#include "support/temp_dir.hpp"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace rafs::test {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "rafs-test-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed");
  }
  m_path = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(m_path, ec);
}

std::vector<std::uint8_t> read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot read " + p.string());
  }
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::filesystem::path& p, const std::vector<std::uint8_t>& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  if (!out) {
    throw std::runtime_error("cannot write " + p.string());
  }
}

std::string read_text(const std::filesystem::path& p) {
  auto bytes = read_file(p);
  return {bytes.begin(), bytes.end()};
}

std::filesystem::path nydus_fixtures() {
  std::filesystem::path p = std::filesystem::path(RAFS_SHARED_DIR) / "testdata" / "nydus";
  return std::filesystem::is_directory(p) ? p : std::filesystem::path{};
}

} // namespace rafs::test
