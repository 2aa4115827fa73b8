// A whole image, built layer by layer: each layer's data goes to its own
// blob (chunks already stored in a lower layer's blob or in a chunk
// dictionary are referenced, not stored again), and its tree is overlaid on
// the image's tree (whiteouts applied). finish() gives one bootstrap whose
// blob table holds just the blobs still referenced.
//
// `rafs create` is one layer with whiteouts kept as plain entries; `rafs
// convert` is every layer of an OCI image; `rafs merge` adds per-layer
// bootstraps instead of layers.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "builder/blob_writer.hpp"
#include "builder/chunk_index.hpp"
#include "builder/file_tree.hpp"
#include "builder/options.hpp"
#include "builder/prefetch_list.hpp"
#include "builder/source_entry.hpp"
#include "format/blob_table.hpp"
#include "format/bootstrap.hpp"
#include "format/file.hpp"

namespace rafs::builder {

struct BuildProgress {
  std::uint64_t bytes_read = 0; // input bytes consumed
  std::uint64_t entries = 0;
};

struct LayerOutputs {
  std::filesystem::path blob_dir; // blob written as <blob_dir>/<blob id>
  std::filesystem::path blob;     // or exactly here (takes priority)
  // Called after each entry when set (the cli throttles what it shows).
  std::function<void(const BuildProgress&)> progress;
  // true: the finished blob stays under its temporary name, handed back in
  // LayerReport::pending_blob, for the caller to commit once the rest of
  // its output is written.
  bool defer_commit = false;
};

struct LayerReport {
  std::filesystem::path blob; // empty when the layer stored no data
  std::string blob_id;
  BlobStats blob_stats;
  std::uint64_t entries = 0;
  std::uint64_t file_bytes = 0; // regular-file bytes read (holes included)
  std::uint64_t bytes_in = 0;   // input bytes consumed (compressed for a compressed layer)
  std::uint64_t region_offset = 0; // the blob's prefetch region (size 0: none)
  std::uint64_t region_size = 0;
  std::vector<std::string> warnings;
  // With LayerOutputs::defer_commit: the complete blob, to commit_as(blob).
  std::optional<AtomicFile> pending_blob;
};

// One blob of the image (table order in Image::blobs).
struct ImageBlob {
  v5::BlobInfo info;
  std::filesystem::path file; // its data file when known (built here, or the chunk dict's)
  bool from_chunk_dict = false;
};

struct BuiltImage {
  std::vector<std::uint8_t> bootstrap;
  std::vector<ImageBlob> blobs; // the bootstrap's blob table, in order
  std::vector<std::string> warnings;
};

class ImageBuilder {
public:
  // `prefetch` is used when options.prefetch_policy is not none.
  ImageBuilder(const BuildOptions& options, PrefetchList prefetch);

  // Chunks of an existing image become available for dedup; its blobs join
  // the blob table only if some chunk ends up referencing them.
  [[nodiscard]] Result<void> add_chunk_dict(const v5::Bootstrap& dict,
                                            const std::filesystem::path& blob_dir);
  // Reads one layer, writes its blob, then overlays its tree on the image
  // (`apply_whiteouts` false: whiteout entries stay as plain entries).
  [[nodiscard]] Result<LayerReport> add_layer(Source& source, const LayerOutputs& outputs,
                                              bool apply_whiteouts);
  // A per-layer bootstrap (rafs merge), overlaid with whiteouts applied.
  [[nodiscard]] Result<void> add_bootstrap(const v5::Bootstrap& layer);
  [[nodiscard]] Result<BuiltImage> finish();

private:
  // The blob's image-wide number (a new one on first sight). A blob seen
  // again must have the same chunk count and sizes: the image keeps one
  // entry, and chunks are checked against it.
  [[nodiscard]] Result<std::uint32_t> register_blob(const v5::BlobInfo& info, std::filesystem::path file,
                                                    bool from_chunk_dict);

  // Adds the last layer's stored chunks to m_known: done when the next layer
  // (or chunk dict) needs them, never after the image's only layer.
  void index_pending_chunks();

  BuildOptions m_options;
  PrefetchList m_prefetch;
  FileTree m_tree;
  ChunkIndex m_known;
  StoredChunks m_pending_known;           // the last layer's blob's chunks
  std::uint32_t m_pending_blob = 0;       // its image-wide number
  std::vector<ImageBlob> m_blobs; // by image-wide blob number
  std::vector<bool> m_region_built; // by blob number: readahead set from a placed region
};

} // namespace rafs::builder
