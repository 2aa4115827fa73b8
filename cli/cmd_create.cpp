// `rafs create [OPTIONS] SOURCE`: one tar layer (file, or - for stdin; plain,
// gzip or zstd) or one directory -> a RAFS v5 data blob and bootstrap.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <chrono>
#include <iostream>
#include <optional>
#include <thread>

#include "builder/build.hpp"
#include "builder/dir_source.hpp"
#include "builder/output_dirs.hpp"
#include "builder/tar_source.hpp"
#include "cli/build_flags.hpp"
#include "cli/commands.hpp"
#include "cli/json_file.hpp"
#include "cli/leave_to_exit.hpp"
#include "format/file.hpp"
#include "format/layout.hpp"

namespace rafs::cli {

namespace {

struct CreateOptions {
  std::string source;
  std::string type;
  std::string bootstrap;
  std::string blob_dir;
  std::string blob;
  std::string output_json;
  BuildFlags build;
};

nlohmann::json result_json(const CreateOptions& o, const builder::BuildResult& r,
                           std::uint64_t bytes_in, double seconds) {
  const auto& s = r.blob_stats;
  nlohmann::json blobs = nlohmann::json::array();
  if (!r.blob_id.empty()) {
    blobs.push_back(r.blob_id);
  }
  return {{"version", "rafs 0.1.0"},
          {"bootstrap", r.bootstrap.string()},
          {"blobs", blobs},
          {"fs_version", "5"},
          {"compressor", o.build.compressor},
          {"digester", o.build.digester},
          {"chunk_size", o.build.chunk_size},
          {"entries", r.entries},
          {"bytes_in", bytes_in},
          {"file_bytes", r.file_bytes},
          {"bytes_out", s.compressed_size},
          {"chunks", s.chunks_submitted},
          {"chunks_stored", s.chunks_stored},
          {"dedup_hits", s.dedup_hits},
          {"dedup_bytes_saved", s.dedup_bytes},
          {"elapsed_seconds", seconds}};
}

int run_create(const CreateOptions& o) {
  if (o.bootstrap.empty() && o.blob_dir.empty()) {
    std::fprintf(stderr, "rafs: create: give -B/--bootstrap or -D/--blob-dir\n");
    return k_exit_usage;
  }
  if (o.blob.empty() && o.blob_dir.empty()) {
    std::fprintf(stderr, "rafs: create: give -D/--blob-dir or -b/--blob for the data blob\n");
    return k_exit_usage;
  }
  auto options = to_build_options(o.build);
  auto dict = chunk_dict_path(o.build);
  if (!options || !dict) {
    std::fprintf(stderr, "rafs: %s\n", (!options ? options.error() : dict.error()).message.c_str());
    return k_exit_usage;
  }
  if (options->prefetch_policy != builder::PrefetchPolicy::none && o.source == "-") {
    std::fprintf(stderr, "rafs: create: the prefetch list is read from stdin, so SOURCE cannot be -\n");
    return k_exit_usage;
  }
  builder::OutputDirs dirs; // held until exit
  dirs.add_file(o.bootstrap);
  dirs.add_file(o.blob);
  dirs.add_file(o.output_json);
  if (!o.blob_dir.empty()) {
    dirs.add_blob_dir(o.blob_dir);
  }
  dirs.claim();
  struct stat st {};
  const bool is_dir = o.source != "-" && ::stat(o.source.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  const std::string type = !o.type.empty() ? o.type : (is_dir ? "dir" : "tar");
  auto start = std::chrono::steady_clock::now();
  auto source = type == "dir" ? builder::open_dir_source(o.source) : builder::open_tar_source(o.source);
  if (!source) {
    return report(source.error());
  }
  // Created before the build so an unwritable -J path fails before any output exists.
  std::optional<AtomicFile> json_file;
  if (!o.output_json.empty()) {
    auto f = AtomicFile::create(o.output_json);
    if (!f) {
      return report(f.error());
    }
    json_file.emplace(std::move(*f));
  }
  builder::BuildExtras extras;
  extras.prefetch = read_prefetch_list(*options);
  extras.chunk_dict = *dict;
  extras.chunk_dict_blobs = !o.build.chunk_dict_blobs.empty()
                                ? std::filesystem::path(o.build.chunk_dict_blobs)
                                : std::filesystem::path(*dict).parent_path();
  builder::BuildOutputs out{o.bootstrap, o.blob_dir, o.blob, progress_printer(o.source)};
  out.keep_memory = true;
  auto result = builder::build(**source, *options, out, extras);
  if (out.progress) {
    std::fprintf(stderr, "\n");
  }
  if (!result) {
    return report(result.error());
  }
  leave_to_exit(std::move(result->memory));
  print_warnings(result->warnings);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto& stats = result->blob_stats;
  std::printf("bootstrap: %s\n", result->bootstrap.c_str());
  if (!result->blob_id.empty()) {
    std::printf("blob: %s (%llu bytes, %llu chunks stored, %llu deduplicated)\n",
                result->blob_id.c_str(), static_cast<unsigned long long>(stats.compressed_size),
                static_cast<unsigned long long>(stats.chunks_stored),
                static_cast<unsigned long long>(stats.dedup_hits));
  } else {
    std::printf("blob: none (no file data)\n");
  }
  if (json_file) {
    if (auto r = write_json_file(*json_file, result_json(o, *result, (*source)->bytes_read(), seconds));
        !r) {
      return report(r.error());
    }
  }
  return k_exit_ok;
}

} // namespace

Action setup_create(CLI::App& app) {
  auto o = std::make_shared<CreateOptions>();
  app.add_option("SOURCE", o->source, "Tar layer (plain, gzip or zstd; - for stdin) or directory")
      ->required();
  app.add_option("-t,--type", o->type, "Source type (default: dir for directories, else tar)")
      ->check(CLI::IsMember({"tar", "dir"}));
  app.add_option("-B,--bootstrap", o->bootstrap, "Bootstrap to write (default: in --blob-dir, named by its sha256)");
  app.add_option("-D,--blob-dir", o->blob_dir, "Directory for the blob, written as <dir>/<blob id>")
      ->check(CLI::ExistingDirectory);
  app.add_option("-b,--blob", o->blob, "Write the blob to exactly this path");
  add_build_flags(app, o->build);
  app.add_option("-J,--output-json", o->output_json, "Write a JSON summary of the build");
  return [o] { return run_create(*o); };
}

} // namespace rafs::cli
