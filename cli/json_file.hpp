#pragma once

#include <filesystem>

#include <nlohmann/json.hpp>

#include "format/error.hpp"

namespace rafs::cli {

// Writes pretty JSON (invalid UTF-8 replaced) to `path` atomically.
[[nodiscard]] Result<void> write_json_file(const std::filesystem::path& path,
                                           const nlohmann::json& j);

} // namespace rafs::cli
