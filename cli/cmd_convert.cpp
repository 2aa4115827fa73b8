// `rafs convert SOURCE -o OUT_DIR`: a whole OCI image (layout directory,
// oci-archive or docker-archive) -> a Nydus image as an OCI layout, one data
// blob per layer plus a bootstrap layer, the way nydusify lays it out.
// Layers are streamed from their blobs (verified against the manifest and
// the config) straight into the builder; nothing is unpacked to disk.
#include <CLI/CLI.hpp>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <set>

#include "builder/build.hpp"
#include "builder/image_builder.hpp"
#include "builder/oci_image.hpp"
#include "builder/oci_output.hpp"
#include "builder/oci_output_fs.hpp"
#include "builder/output_dirs.hpp"
#include "builder/registry_store.hpp"
#include "cli/build_flags.hpp"
#include "cli/commands.hpp"
#include "cli/convert_target.hpp"
#include "cli/json_file.hpp"
#include "cli/leave_to_exit.hpp"
#include "cli/registry_flags.hpp"
#include "format/bootstrap.hpp"
#include "format/file.hpp"
#include "net/image_ref.hpp"

namespace rafs::cli {

namespace {

struct ConvertOptions {
  std::string source;
  std::string output;
  std::string platform;
  std::string bootstrap;
  std::string blob_dir;
  std::string output_json;
  BuildFlags build;
  RegistryFlags registry;
};

// SOURCE as OciImage::open takes it, or docker://... read from the registry.
Result<std::unique_ptr<builder::OciImage>> open_source(const ConvertOptions& o,
                                                       const std::optional<builder::Platform>& platform) {
  if (!net::is_docker_ref(o.source)) {
    return builder::OciImage::open(o.source, platform);
  }
  RAFS_TRY_ASSIGN(auto registry, connect_registry(o.source, o.registry, RegistrySide::source, "pull"));
  RAFS_TRY_ASSIGN(auto store, builder::open_registry_store(std::move(registry)));
  return builder::OciImage::open(std::move(store), builder::ImageFormat::oci_layout, o.source, "", platform);
}

nlohmann::json layer_json(const builder::LayerDescriptor& d, const builder::LayerReport& r) {
  const auto& s = r.blob_stats;
  nlohmann::json j{{"digest", d.digest},
                   {"diff_id", d.diff_id},
                   {"media_type", d.media_type},
                   {"blob_id", r.blob_id.empty() ? nlohmann::json() : nlohmann::json(r.blob_id)},
                   {"entries", r.entries},
                   {"bytes_in", r.bytes_in},
                   {"file_bytes", r.file_bytes},
                   {"bytes_stored", s.compressed_size},
                   {"chunks", s.chunks_submitted},
                   {"chunks_stored", s.chunks_stored},
                   {"dedup_hits", s.dedup_hits},
                   {"dedup_hits_other_blobs", s.external_hits},
                   {"dedup_bytes_saved", s.dedup_bytes}};
  if (r.region_size > 0) {
    j["prefetch_region"] = {{"offset", r.region_offset}, {"size", r.region_size}};
  }
  return j;
}

Result<std::uint64_t> size_of(const std::filesystem::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) {
    return sys_error(p.string());
  }
  return static_cast<std::uint64_t>(st.st_size);
}

int run_convert(const ConvertOptions& o) {
  auto options = to_build_options(o.build);
  auto dict = chunk_dict_path(o.build);
  std::optional<builder::Platform> platform;
  if (!o.platform.empty()) {
    auto p = builder::parse_platform(o.platform);
    if (!p) {
      std::fprintf(stderr, "rafs: --platform %s: %s\n", o.platform.c_str(), p.error().message.c_str());
      return k_exit_usage;
    }
    platform = *p;
  }
  if (!options || !dict) {
    std::fprintf(stderr, "rafs: %s\n", (!options ? options.error() : dict.error()).message.c_str());
    return k_exit_usage;
  }
  const auto start = std::chrono::steady_clock::now();
  builder::OutputDirs dirs; // held until exit; first removes what killed runs left
  dirs.add_file(o.bootstrap);
  dirs.add_file(o.output_json);
  if (!o.blob_dir.empty()) {
    dirs.add_blob_dir(o.blob_dir);
  }
  auto target = ConvertTarget::open(o.output, o.source, o.registry, dirs); // may claim them
  if (!target) {
    return report(target.error());
  }
  const std::filesystem::path& layout_dir = target->layout_dir();
  dirs.add_dir(layout_dir);
  dirs.claim();
  // Output files that are named up front are created first: an unwritable
  // path fails before any work is done.
  std::optional<AtomicFile> json_file;
  std::optional<AtomicFile> boot_file;
  if (!o.output_json.empty()) {
    auto f = AtomicFile::create(o.output_json);
    if (!f) {
      return report(f.error());
    }
    json_file.emplace(std::move(*f));
  }
  if (!o.bootstrap.empty()) {
    auto f = AtomicFile::create(o.bootstrap);
    if (!f) {
      return report(f.error());
    }
    boot_file.emplace(std::move(*f));
  }
  auto image = open_source(o, platform);
  if (!image) {
    return report(image.error());
  }
  const builder::OciImage& src = **image;
  auto memory = std::make_shared<builder::ImageBuilder>(*options, read_prefetch_list(*options));
  builder::ImageBuilder& builder = *memory;
  if (!dict->empty()) {
    auto d = v5::Bootstrap::open(*dict);
    if (!d) {
      return report(d.error());
    }
    std::filesystem::path dict_blobs = !o.build.chunk_dict_blobs.empty()
                                           ? std::filesystem::path(o.build.chunk_dict_blobs)
                                           : std::filesystem::path(*dict).parent_path();
    if (auto r = builder.add_chunk_dict(*d, dict_blobs); !r) {
      return report(r.error());
    }
  }
  auto out = builder::OciLayoutWriter::create(layout_dir);
  if (!out) {
    return report(out.error());
  }

  nlohmann::json layers = nlohmann::json::array();
  nlohmann::json totals{{"bytes_in", 0}, {"bytes_stored", 0}, {"chunks", 0},
                        {"chunks_stored", 0}, {"dedup_hits", 0}};
  std::set<std::string> layer_blobs;
  const std::size_t n = src.layers().size();
  for (std::size_t i = 0; i < n; ++i) {
    auto layer = src.open_layer(i);
    if (!layer) {
      return report(layer.error());
    }
    std::string label = "layer " + std::to_string(i + 1) + "/" + std::to_string(n);
    auto progress = progress_printer(label, src.layers()[i].size);
    auto r = builder.add_layer(**layer, {out->blob_dir(), {}, progress}, /*apply_whiteouts=*/true);
    if (progress) {
      std::fprintf(stderr, "\n");
    }
    if (!r) {
      return report(r.error());
    }
    print_warnings(r->warnings);
    const auto& s = r->blob_stats;
    std::printf("layer %zu/%zu %s: %s (%llu bytes stored, %llu chunks, %llu deduplicated)\n", i + 1,
                n, src.layers()[i].digest.empty() ? src.layers()[i].path.c_str()
                                                  : src.layers()[i].digest.c_str(),
                r->blob_id.empty() ? "no blob" : r->blob_id.c_str(),
                static_cast<unsigned long long>(s.compressed_size),
                static_cast<unsigned long long>(s.chunks_submitted),
                static_cast<unsigned long long>(s.dedup_hits));
    if (!r->blob_id.empty()) {
      layer_blobs.insert(r->blob_id);
    }
    layers.push_back(layer_json(src.layers()[i], *r));
    totals["bytes_in"] = totals["bytes_in"].get<std::uint64_t>() + r->bytes_in;
    totals["bytes_stored"] = totals["bytes_stored"].get<std::uint64_t>() + s.compressed_size;
    totals["chunks"] = totals["chunks"].get<std::uint64_t>() + s.chunks_submitted;
    totals["chunks_stored"] = totals["chunks_stored"].get<std::uint64_t>() + s.chunks_stored;
    totals["dedup_hits"] = totals["dedup_hits"].get<std::uint64_t>() + s.dedup_hits;
  }
  auto built = builder.finish();
  if (!built) {
    return report(built.error());
  }
  print_warnings(built->warnings);

  // The OCI layout holds exactly the blobs of the bootstrap's blob table.
  builder::OciLayoutWriter::Image layout;
  layout.bootstrap = built->bootstrap;
  layout.source_config = src.config_bytes();
  layout.ref_name = target->tag().empty() ? src.ref_name() : target->tag();
  nlohmann::json blob_ids = nlohmann::json::array();
  for (const auto& b : built->blobs) {
    if (b.from_chunk_dict) {
      if (auto r = out->add_blob_file(b.info.id, b.file); !r) {
        return report(r.error());
      }
    }
    auto size = size_of(out->blob_dir() / b.info.id);
    if (!size) {
      return report(size.error());
    }
    layout.data_blobs.emplace_back(b.info.id, *size);
    layer_blobs.erase(b.info.id);
    blob_ids.push_back(b.info.id);
  }
  for (const auto& unused : layer_blobs) { // every chunk of it was hidden by upper layers
    if (auto r = out->remove_blob(unused); !r) {
      return report(r.error());
    }
  }
  auto written = out->commit(layout);
  if (!written) {
    return report(written.error());
  }
  const std::filesystem::path committed_blobs = layout_dir / "blobs" / "sha256";
  if (boot_file) {
    if (auto r = boot_file->write(built->bootstrap); !r) {
      return report(r.error());
    }
    if (auto r = boot_file->commit(); !r) {
      return report(r.error());
    }
  }
  if (!o.blob_dir.empty()) {
    for (const auto& b : built->blobs) {
      if (auto r = builder::add_file(committed_blobs / b.info.id,
                                     std::filesystem::path(o.blob_dir) / b.info.id,
                                     builder::Transfer::link_or_copy);
          !r) {
        return report(r.error());
      }
    }
  }
  auto finished = target->finish();
  if (!finished) {
    return report(finished.error());
  }
  leave_to_exit(std::move(memory));
  std::printf("image: %s (manifest %s, %zu data blobs)\n", target->display().c_str(),
              written->manifest_digest.c_str(), built->blobs.size());
  if (!finished->empty()) {
    std::printf("%s\n", finished->c_str());
  }
  if (json_file) {
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    nlohmann::json j{{"version", "rafs 0.1.0"},
                     {"source", o.source},
                     {"platform", src.platform().str()},
                     {"ref_name", src.ref_name()},
                     {"output", o.output},
                     {"manifest_digest", written->manifest_digest},
                     {"config_digest", written->config_digest},
                     {"bootstrap_layer_digest", written->bootstrap_layer_digest},
                     {"bootstrap", o.bootstrap.empty() ? nlohmann::json() : nlohmann::json(o.bootstrap)},
                     {"blobs", blob_ids},
                     {"layers", layers},
                     {"totals", totals},
                     {"elapsed_seconds", seconds}};
    if (auto r = write_json_file(*json_file, j); !r) {
      return report(r.error());
    }
  }
  return k_exit_ok;
}

} // namespace

Action setup_convert(CLI::App& app) {
  auto o = std::make_shared<ConvertOptions>();
  app.add_option("SOURCE", o->source,
                 "OCI layout DIR[:TAG] or oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:TAG], "
                 "docker://HOST/REPO[:TAG|@DIGEST], or an archive FILE")
      ->required();
  app.add_option("-o,--output", o->output,
                 "Where the Nydus image goes: DIR or oci:DIR[:TAG] (an OCI layout), oci-archive:FILE[:TAG], "
                 "docker-archive:FILE[:REF] (the layout plus docker's manifest.json, as docker 25+ saves), "
                 "or docker://HOST/REPO:TAG")
      ->required();
  app.add_option("--platform", o->platform, "os/arch[/variant] to pick from a multi-platform index")
      ->default_str("linux/amd64");
  app.add_option("-B,--bootstrap", o->bootstrap, "Also write the merged bootstrap here");
  app.add_option("-D,--blob-dir", o->blob_dir, "Also place the data blobs here (<dir>/<blob id>)")
      ->check(CLI::ExistingDirectory);
  app.add_option("-J,--output-json", o->output_json, "Write a JSON report (per layer and totals)");
  add_build_flags(app, o->build);
  add_registry_flags(app, o->registry, /*two_sides=*/true);
  return [o] { return run_convert(*o); };
}

} // namespace rafs::cli
