// `rafs merge BOOTSTRAP... -B OUT`: per-layer bootstraps (lowest first)
// overlaid into one image bootstrap, whiteouts applied; only blobs still
// referenced stay in its blob table.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

#include "builder/build.hpp"
#include "builder/image_builder.hpp"
#include "builder/output_dirs.hpp"
#include "cli/build_flags.hpp"
#include "cli/commands.hpp"
#include "cli/json_file.hpp"
#include "format/bootstrap.hpp"
#include "format/layout.hpp"

namespace rafs::cli {

namespace {

struct MergeOptions {
  std::vector<std::string> sources;
  std::string bootstrap;
  std::string blob_dir;
  std::string output_json;
  BuildFlags build;
};

int run_merge(const MergeOptions& o) {
  if (o.bootstrap.empty() && o.blob_dir.empty()) {
    std::fprintf(stderr, "rafs: merge: give -B/--bootstrap or -D/--blob-dir\n");
    return k_exit_usage;
  }
  auto flags = to_build_options(o.build);
  if (!flags) {
    std::fprintf(stderr, "rafs: %s\n", flags.error().message.c_str());
    return k_exit_usage;
  }
  builder::OutputDirs dirs; // held until exit
  if (!o.bootstrap.empty()) {
    dirs.add_file(o.bootstrap);
  } else {
    dirs.add_blob_dir(o.blob_dir);
  }
  dirs.add_file(o.output_json);
  dirs.claim();
  std::vector<v5::Bootstrap> layers;
  for (const auto& path : o.sources) {
    auto b = v5::Bootstrap::open(path);
    if (!b) {
      return report(b.error());
    }
    layers.push_back(std::move(*b));
  }
  // The image takes the first layer's chunk size, codecs and uid/gid mode.
  builder::BuildOptions options = *flags;
  const v5::Bootstrap& first = layers.front();
  options.chunk_size = first.chunk_size();
  options.compressor = first.compressor();
  options.digester = first.digester();
  options.repeatable = (first.super_block().flags & v5::k_sb_explicit_uid_gid) == 0;

  builder::ImageBuilder image(options, read_prefetch_list(options));
  for (const auto& layer : layers) {
    if (auto r = image.add_bootstrap(layer); !r) {
      return report(r.error());
    }
  }
  auto built = image.finish();
  if (!built) {
    return report(built.error());
  }
  print_warnings(built->warnings);
  auto written = builder::write_bootstrap(built->bootstrap, o.bootstrap, o.blob_dir);
  if (!written) {
    return report(written.error());
  }
  std::printf("bootstrap: %s\n", written->c_str());
  nlohmann::json blobs = nlohmann::json::array();
  for (const auto& b : built->blobs) {
    std::printf("blob: %s\n", b.info.id.c_str());
    blobs.push_back(b.info.id);
  }
  if (!o.output_json.empty()) {
    nlohmann::json j{{"version", "rafs 0.1.0"},
                     {"bootstrap", written->string()},
                     {"blobs", blobs},
                     {"sources", o.sources}};
    if (auto r = write_json_file(o.output_json, j); !r) {
      return report(r.error());
    }
  }
  return k_exit_ok;
}

} // namespace

Action setup_merge(CLI::App& app) {
  auto o = std::make_shared<MergeOptions>();
  app.add_option("BOOTSTRAP", o->sources, "Per-layer bootstraps, lowest layer first")
      ->required();
  app.add_option("-B,--bootstrap", o->bootstrap, "Merged bootstrap to write");
  app.add_option("-D,--blob-dir", o->blob_dir,
                 "Write the bootstrap here, named by its sha256 (when no -B)")
      ->check(CLI::ExistingDirectory);
  app.add_option("-J,--output-json", o->output_json, "Write a JSON summary");
  add_build_flags(app, o->build, FlagSet::merge);
  return [o] { return run_merge(*o); };
}

} // namespace rafs::cli
