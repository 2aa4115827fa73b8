#include "builder/build.hpp"

#include "format/file.hpp"

namespace rafs::builder {

Result<std::filesystem::path> write_bootstrap(const std::vector<std::uint8_t>& bytes,
                                              const std::filesystem::path& path,
                                              const std::filesystem::path& dir) {
  std::filesystem::path target = path;
  if (target.empty()) {
    Sha256 h;
    h.update(bytes);
    target = dir / to_hex(h.finalize());
  }
  RAFS_TRY_ASSIGN(AtomicFile file, AtomicFile::create(target));
  RAFS_TRY(file.write(bytes));
  RAFS_TRY(file.commit());
  return target;
}

Result<BuildResult> build(Source& source, const BuildOptions& options, const BuildOutputs& outputs,
                          const BuildExtras& extras) {
  ImageBuilder image(options, extras.prefetch);
  if (!extras.chunk_dict.empty()) {
    RAFS_TRY_ASSIGN(v5::Bootstrap dict, v5::Bootstrap::open(extras.chunk_dict));
    RAFS_TRY(image.add_chunk_dict(dict, extras.chunk_dict_blobs));
  }
  // Opened first so an unwritable bootstrap path fails before the blob exists.
  std::optional<AtomicFile> boot_file;
  if (!outputs.bootstrap.empty()) {
    RAFS_TRY_ASSIGN(AtomicFile f, AtomicFile::create(outputs.bootstrap));
    boot_file.emplace(std::move(f));
  }
  LayerOutputs layer_out{outputs.blob_dir, outputs.blob, outputs.progress};
  RAFS_TRY_ASSIGN(LayerReport layer, image.add_layer(source, layer_out, /*apply_whiteouts=*/false));
  RAFS_TRY_ASSIGN(BuiltImage built, image.finish());

  BuildResult result;
  result.blob = layer.blob;
  result.blob_id = layer.blob_id;
  result.blob_stats = layer.blob_stats;
  result.entries = layer.entries;
  result.file_bytes = layer.file_bytes;
  result.blobs = std::move(built.blobs);
  result.warnings = std::move(layer.warnings);
  result.warnings.insert(result.warnings.end(), built.warnings.begin(), built.warnings.end());
  if (boot_file) {
    RAFS_TRY(boot_file->write(built.bootstrap));
    RAFS_TRY(boot_file->commit());
    result.bootstrap = outputs.bootstrap;
  } else {
    RAFS_TRY_ASSIGN(result.bootstrap, write_bootstrap(built.bootstrap, {}, outputs.blob_dir));
  }
  return result;
}

} // namespace rafs::builder
