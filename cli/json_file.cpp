#include "cli/json_file.hpp"

#include "format/file.hpp"

namespace rafs::cli {

Result<void> write_json_file(const std::filesystem::path& path, const nlohmann::json& j) {
  RAFS_TRY_ASSIGN(AtomicFile out, AtomicFile::create(path));
  return write_json_file(out, j);
}

Result<void> write_json_file(AtomicFile& out, const nlohmann::json& j) {
  std::string text = j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  RAFS_TRY(out.write(Bytes(reinterpret_cast<const std::uint8_t*>(text.data()), text.size())));
  return out.commit();
}

} // namespace rafs::cli
