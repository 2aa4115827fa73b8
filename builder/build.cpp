#include "builder/build.hpp"

#include "format/file.hpp"

namespace rafs::builder {

namespace {

// <dir>/<sha256 of the bootstrap>
std::filesystem::path digest_named(const std::vector<std::uint8_t>& bytes,
                                   const std::filesystem::path& dir) {
  Sha256 h;
  h.update(bytes);
  return dir / to_hex(h.finalize());
}

} // namespace

Result<std::filesystem::path> write_bootstrap(const std::vector<std::uint8_t>& bytes,
                                              const std::filesystem::path& path,
                                              const std::filesystem::path& dir) {
  const std::filesystem::path target = path.empty() ? digest_named(bytes, dir) : path;
  RAFS_TRY_ASSIGN(AtomicFile file, AtomicFile::create(target));
  RAFS_TRY(file.write(bytes));
  RAFS_TRY(file.commit());
  return target;
}

Result<BuildResult> build(Source& source, const BuildOptions& options, const BuildOutputs& outputs,
                          const BuildExtras& extras) {
  auto image = std::make_shared<ImageBuilder>(options, extras.prefetch);
  if (!extras.chunk_dict.empty()) {
    RAFS_TRY_ASSIGN(v5::Bootstrap dict, v5::Bootstrap::open(extras.chunk_dict));
    RAFS_TRY(image->add_chunk_dict(dict, extras.chunk_dict_blobs));
  }
  // Opened first so an unwritable bootstrap path fails before the blob exists.
  std::optional<AtomicFile> boot_file;
  if (!outputs.bootstrap.empty()) {
    RAFS_TRY_ASSIGN(AtomicFile f, AtomicFile::create(outputs.bootstrap));
    boot_file.emplace(std::move(f));
  }
  LayerOutputs layer_out{outputs.blob_dir, outputs.blob, outputs.progress, /*defer_commit=*/true};
  RAFS_TRY_ASSIGN(LayerReport layer, image->add_layer(source, layer_out, /*apply_whiteouts=*/false));
  RAFS_TRY_ASSIGN(BuiltImage built, image->finish());

  BuildResult result;
  result.blob = layer.blob;
  result.blob_id = layer.blob_id;
  result.blob_stats = layer.blob_stats;
  result.entries = layer.entries;
  result.file_bytes = layer.file_bytes;
  result.blobs = std::move(built.blobs);
  result.warnings = std::move(layer.warnings);
  result.warnings.insert(result.warnings.end(), built.warnings.begin(), built.warnings.end());
  result.bootstrap = outputs.bootstrap;
  if (!boot_file) {
    result.bootstrap = digest_named(built.bootstrap, outputs.blob_dir);
    RAFS_TRY_ASSIGN(AtomicFile f, AtomicFile::create(result.bootstrap));
    boot_file.emplace(std::move(f));
  }
  // The bootstrap is written in full before the blob takes its name, and
  // takes its own name last: a failure (a full disk...) leaves neither at
  // its final name, and a bootstrap never names a blob that is not there.
  RAFS_TRY(boot_file->write(built.bootstrap));
  if (layer.pending_blob) {
    RAFS_TRY(layer.pending_blob->commit_as(layer.blob));
  }
  RAFS_TRY(boot_file->commit());
  if (outputs.keep_memory) {
    result.memory = std::move(image);
  }
  return result;
}

} // namespace rafs::builder
