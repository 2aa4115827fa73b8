// build(): one source (tar layer or directory) -> one data blob + bootstrap
// (`rafs create`). Whiteout entries stay as plain entries: they act when
// the layer is merged over others.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "builder/image_builder.hpp"

namespace rafs::builder {

struct BuildOutputs {
  std::filesystem::path bootstrap; // empty: <blob_dir>/<sha256 of the bootstrap>
  std::filesystem::path blob_dir;  // blob written as <blob_dir>/<blob id>
  std::filesystem::path blob;      // or exactly here (takes priority)
  // Called after each entry when set (the cli throttles what it shows).
  std::function<void(const BuildProgress&)> progress;
  // The builder's memory (the tree, the chunk tables: ~40 ms of free() for
  // 100k files) goes to BuildResult::memory instead of being freed, for a
  // caller that exits soon after and leaves it to the exit.
  bool keep_memory = false;
};

struct BuildExtras {
  PrefetchList prefetch;                   // used with options.prefetch_policy fs|blob
  std::filesystem::path chunk_dict;        // a bootstrap whose chunks are referenced, not stored
  std::filesystem::path chunk_dict_blobs;  // its blob directory
};

struct BuildResult {
  std::filesystem::path bootstrap;
  std::filesystem::path blob; // empty when the image stored no file data
  std::string blob_id;
  BlobStats blob_stats;
  std::uint64_t entries = 0;
  std::uint64_t file_bytes = 0; // regular-file bytes read (holes included)
  std::vector<ImageBlob> blobs; // the bootstrap's blob table
  std::vector<std::string> warnings;
  std::shared_ptr<void> memory; // with BuildOutputs::keep_memory
};

// Reads the whole source, writes the blob and the bootstrap to temporary
// names and renames them only when everything succeeded.
[[nodiscard]] Result<BuildResult> build(Source& source, const BuildOptions& options,
                                        const BuildOutputs& outputs, const BuildExtras& extras = {});

// Writes bootstrap bytes to `path`, or when it is empty to
// <dir>/<sha256 of the bytes>; returns where.
[[nodiscard]] Result<std::filesystem::path> write_bootstrap(const std::vector<std::uint8_t>& bytes,
                                                           const std::filesystem::path& path,
                                                           const std::filesystem::path& dir);

} // namespace rafs::builder
