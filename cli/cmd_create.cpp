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
#include "builder/tar_source.hpp"
#include "cli/commands.hpp"
#include "cli/json_file.hpp"
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
  std::string chunk_size = "0x100000";
  std::string compressor = "zstd";
  int compression_level = 0;
  std::string digester = "blake3";
  std::string whiteout_spec = "oci";
  bool repeatable = false;
  std::string output_json;
  unsigned threads = 0;
};

Result<std::uint32_t> parse_chunk_size(const std::string& text) {
  std::size_t used = 0;
  unsigned long long v = 0;
  try {
    v = std::stoull(text, &used, 0);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || v < v5::k_min_chunk_size || v > v5::k_max_chunk_size ||
      !std::has_single_bit(v)) {
    return make_error(Errc::invalid_argument,
                      "--chunk-size " + text + ": must be a power of two from 0x1000 to 0x1000000");
  }
  return static_cast<std::uint32_t>(v);
}

Result<builder::BuildOptions> build_options(const CreateOptions& o) {
  builder::BuildOptions b;
  RAFS_TRY_ASSIGN(b.chunk_size, parse_chunk_size(o.chunk_size));
  b.compressor = *compressor_from_name(o.compressor);
  b.compression_level = o.compression_level;
  b.digester = o.digester == "sha256" ? DigestAlgo::sha256 : DigestAlgo::blake3;
  b.whiteout_spec = o.whiteout_spec == "overlayfs" ? builder::WhiteoutSpec::overlayfs
                    : o.whiteout_spec == "none"    ? builder::WhiteoutSpec::none
                                                   : builder::WhiteoutSpec::oci;
  b.repeatable = o.repeatable;
  b.threads = o.threads != 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  return b;
}

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
          {"compressor", o.compressor},
          {"digester", o.digester},
          {"chunk_size", o.chunk_size},
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
  auto options = build_options(o);
  if (!options) {
    std::fprintf(stderr, "rafs: %s\n", options.error().message.c_str());
    return k_exit_usage;
  }
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
  builder::BuildOutputs out{o.bootstrap, o.blob_dir, o.blob, {}};
  if (::isatty(2) != 0) {
    out.progress = [start, last = start](const builder::BuildProgress& p) mutable {
      auto now = std::chrono::steady_clock::now();
      if (now - last < std::chrono::milliseconds(250)) {
        return;
      }
      last = now;
      double secs = std::chrono::duration<double>(now - start).count();
      double mb = static_cast<double>(p.bytes_read) / 1e6;
      std::fprintf(stderr, "\rread %.1f MB (%.1f MB/s), %llu entries ", mb, mb / secs,
                   static_cast<unsigned long long>(p.entries));
    };
  }
  auto result = builder::build(**source, *options, out);
  if (out.progress) {
    std::fprintf(stderr, "\n");
  }
  if (!result) {
    return report(result.error());
  }
  for (const auto& w : result->warnings) {
    std::fprintf(stderr, "rafs: warning: %s\n", w.c_str());
  }
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
  app.add_option("--chunk-size", o->chunk_size, "Chunk size: a power of two from 0x1000 to 0x1000000")
      ->capture_default_str();
  app.add_option("--compressor", o->compressor, "Chunk compressor")
      ->check(CLI::IsMember({"none", "lz4_block", "zstd"}))
      ->capture_default_str();
  app.add_option("--compression-level", o->compression_level, "zstd level (default 3)");
  app.add_option("--digester", o->digester, "Chunk digest")
      ->check(CLI::IsMember({"blake3", "sha256"}))
      ->capture_default_str();
  app.add_option("--whiteout-spec", o->whiteout_spec,
                 "Whiteouts: in a single-layer build markers are kept for a later merge")
      ->check(CLI::IsMember({"oci", "overlayfs", "none"}))
      ->capture_default_str();
  app.add_flag("--repeatable", o->repeatable, "Do not record uid/gid");
  app.add_option("-J,--output-json", o->output_json, "Write a JSON summary of the build");
  app.add_option("--threads", o->threads, "Hashing and compression threads (default: cores)")
      ->check(CLI::Range(1u, 256u));
  return [o] { return run_create(*o); };
}

} // namespace rafs::cli
