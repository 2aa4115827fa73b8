// build(): one source (tar layer or directory) -> one data blob + bootstrap.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "builder/blob_writer.hpp"
#include "builder/options.hpp"
#include "builder/source_entry.hpp"

namespace rafs::builder {

struct BuildProgress {
  std::uint64_t bytes_read = 0; // input bytes consumed
  std::uint64_t entries = 0;
};

struct BuildOutputs {
  std::filesystem::path bootstrap; // empty: <blob_dir>/<sha256 of the bootstrap>
  std::filesystem::path blob_dir;  // blob written as <blob_dir>/<blob id>
  std::filesystem::path blob;      // or exactly here (takes priority)
  // Called after each entry when set (the cli throttles what it shows).
  std::function<void(const BuildProgress&)> progress;
};

struct BuildResult {
  std::filesystem::path bootstrap;
  std::filesystem::path blob; // empty when the image has no file data
  std::string blob_id;
  BlobStats blob_stats;
  std::uint64_t entries = 0;
  std::uint64_t file_bytes = 0; // regular-file bytes read (holes included)
  std::vector<std::string> warnings;
};

// Reads the whole source, writes the blob and the bootstrap to temporary
// names and renames them only when everything succeeded.
[[nodiscard]] Result<BuildResult> build(Source& source, const BuildOptions& options,
                                        const BuildOutputs& outputs);

} // namespace rafs::builder
