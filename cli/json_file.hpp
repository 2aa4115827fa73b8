#pragma once

#include <filesystem>

#include <nlohmann/json.hpp>

#include "format/error.hpp"
#include "format/file.hpp"

namespace rafs::cli {

// Writes pretty JSON (invalid UTF-8 replaced) to `path` atomically.
[[nodiscard]] Result<void> write_json_file(const std::filesystem::path& path,
                                           const nlohmann::json& j);
// The same into a file created earlier (e.g. before a long build, so an
// unwritable path fails first); commits it.
[[nodiscard]] Result<void> write_json_file(AtomicFile& out, const nlohmann::json& j);

} // namespace rafs::cli
