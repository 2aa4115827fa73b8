#include "cli/build_flags.hpp"

#include <CLI/CLI.hpp>
#include <unistd.h>

#include <bit>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <thread>

#include "format/layout.hpp"

namespace rafs::cli {

namespace {

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

} // namespace

void add_build_flags(CLI::App& app, BuildFlags& f, FlagSet set) {
  if (set == FlagSet::build) {
    app.add_option("--chunk-size", f.chunk_size,
                   "Chunk size: a power of two from 0x1000 to 0x1000000")
        ->capture_default_str();
    app.add_option("--compressor", f.compressor, "Chunk compressor")
        ->check(CLI::IsMember({"none", "lz4_block", "zstd"}))
        ->capture_default_str();
    app.add_option("--compression-level", f.compression_level, "zstd level (default 3)");
    app.add_option("--digester", f.digester, "Chunk digest")
        ->check(CLI::IsMember({"blake3", "sha256"}))
        ->capture_default_str();
    app.add_flag("--repeatable", f.repeatable, "Do not record uid/gid");
    app.add_option("--threads", f.threads, "Hashing and compression threads (default: cores)")
        ->check(CLI::Range(1u, 256u));
    app.add_option("--chunk-dict", f.chunk_dict,
                   "[bootstrap=]PATH: reference chunks of this image instead of storing them");
    app.add_option("--chunk-dict-blob-dir", f.chunk_dict_blobs,
                   "Blob directory of the chunk dict (default: the bootstrap's directory)");
  }
  app.add_option("--whiteout-spec", f.whiteout_spec, "Whiteout convention of the layers")
      ->check(CLI::IsMember({"oci", "overlayfs", "none"}))
      ->capture_default_str();
  app.add_option("--prefetch-policy", f.prefetch_policy,
                 "fs: prefetch table; blob: blob readahead ranges. The list (one absolute path "
                 "per line) is read from stdin")
      ->check(CLI::IsMember({"none", "fs", "blob"}))
      ->capture_default_str();
}

Result<builder::BuildOptions> to_build_options(const BuildFlags& f) {
  builder::BuildOptions b;
  RAFS_TRY_ASSIGN(b.chunk_size, parse_chunk_size(f.chunk_size));
  b.compressor = *compressor_from_name(f.compressor);
  b.compression_level = f.compression_level;
  b.digester = f.digester == "sha256" ? DigestAlgo::sha256 : DigestAlgo::blake3;
  b.whiteout_spec = f.whiteout_spec == "overlayfs" ? builder::WhiteoutSpec::overlayfs
                    : f.whiteout_spec == "none"    ? builder::WhiteoutSpec::none
                                                   : builder::WhiteoutSpec::oci;
  b.prefetch_policy = f.prefetch_policy == "fs"     ? builder::PrefetchPolicy::fs
                      : f.prefetch_policy == "blob" ? builder::PrefetchPolicy::blob
                                                    : builder::PrefetchPolicy::none;
  b.repeatable = f.repeatable;
  b.threads = f.threads != 0 ? f.threads : std::max(1u, std::thread::hardware_concurrency());
  return b;
}

Result<std::string> chunk_dict_path(const BuildFlags& f) {
  std::string p = f.chunk_dict;
  if (auto eq = p.find('='); eq != std::string::npos) {
    if (p.substr(0, eq) != "bootstrap") {
      return make_error(Errc::invalid_argument,
                        "--chunk-dict " + p + ": the only chunk dict type is bootstrap");
    }
    p = p.substr(eq + 1);
  }
  return p;
}

builder::PrefetchList read_prefetch_list(const builder::BuildOptions& options) {
  if (options.prefetch_policy == builder::PrefetchPolicy::none) {
    return {};
  }
  std::string text{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
  std::vector<std::string> warnings;
  builder::PrefetchList list = builder::PrefetchList::parse(text, warnings);
  print_warnings(warnings);
  return list;
}

std::function<void(const builder::BuildProgress&)> progress_printer(std::string label,
                                                                   std::uint64_t total_bytes) {
  if (::isatty(2) == 0) {
    return {};
  }
  const auto start = std::chrono::steady_clock::now();
  return [label = std::move(label), total_bytes, start,
          last = start](const builder::BuildProgress& p) mutable {
    auto now = std::chrono::steady_clock::now();
    if (now - last < std::chrono::milliseconds(250)) {
      return;
    }
    last = now;
    double secs = std::chrono::duration<double>(now - start).count();
    double mb = static_cast<double>(p.bytes_read) / 1e6;
    if (total_bytes > 0) {
      std::fprintf(stderr, "\r%s: %.1f/%.1f MB (%.0f%%, %.1f MB/s), %llu entries ", label.c_str(),
                   mb, static_cast<double>(total_bytes) / 1e6,
                   100.0 * static_cast<double>(p.bytes_read) / static_cast<double>(total_bytes),
                   mb / secs, static_cast<unsigned long long>(p.entries));
    } else {
      std::fprintf(stderr, "\r%s: read %.1f MB (%.1f MB/s), %llu entries ", label.c_str(), mb,
                   mb / secs, static_cast<unsigned long long>(p.entries));
    }
  };
}

void print_warnings(const std::vector<std::string>& warnings) {
  for (const auto& w : warnings) {
    std::fprintf(stderr, "rafs: warning: %s\n", w.c_str());
  }
}

} // namespace rafs::cli
