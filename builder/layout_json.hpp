// The JSON files of an OCI layout rafs wrote, read back to pack or push it:
// index.json and manifests as JSON objects, and the blob a descriptor names.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

#include "format/error.hpp"

namespace rafs::builder {

// A JSON object from `file` (at most 4 MiB); "FILE: not a JSON object" else.
[[nodiscard]] Result<nlohmann::json> read_layout_json(const std::filesystem::path& file);

// The blob a descriptor names, as a path in the layout: "blobs/sha256/<hex>".
// `where` (the file holding the descriptor) prefixes the error: no digest,
// or a digest that is not sha256:<64 lowercase hex>.
[[nodiscard]] Result<std::string> descriptor_blob(const nlohmann::json& descriptor, const std::string& where);

} // namespace rafs::builder
