// The build options `create`, `convert` and `merge` share (chunking,
// codecs, whiteouts, prefetch, chunk dict, threads), their CLI flags, the
// prefetch list read from stdin and the terminal progress line.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "builder/image_builder.hpp"
#include "builder/options.hpp"
#include "builder/prefetch_list.hpp"
#include "format/error.hpp"

namespace CLI {
class App;
}

namespace rafs::cli {

struct BuildFlags {
  std::string chunk_size = "0x100000";
  std::string compressor = "zstd";
  int compression_level = 0;
  std::string digester = "blake3";
  std::string whiteout_spec = "oci";
  std::string prefetch_policy = "none";
  std::string chunk_dict;      // [bootstrap=]PATH
  std::string chunk_dict_blobs;
  bool repeatable = false;
  unsigned threads = 0;
};

enum class FlagSet : std::uint8_t { build, merge };

// Adds the flags; `merge` adds only those that apply to existing bootstraps.
void add_build_flags(CLI::App& app, BuildFlags& flags, FlagSet set = FlagSet::build);
// Validated options (Errc::invalid_argument: a usage error).
[[nodiscard]] Result<builder::BuildOptions> to_build_options(const BuildFlags& flags);
// The chunk dict's bootstrap path ("bootstrap=" prefix stripped), or "".
[[nodiscard]] Result<std::string> chunk_dict_path(const BuildFlags& flags);
// With policy fs|blob: reads stdin to EOF and parses the list (warnings
// printed); else an empty list.
[[nodiscard]] builder::PrefetchList read_prefetch_list(const builder::BuildOptions& options);

// A "\r..." progress line on stderr, at most 4 times a second; nothing
// when stderr is not a terminal.
std::function<void(const builder::BuildProgress&)> progress_printer(std::string label,
                                                                   std::uint64_t total_bytes = 0);
void print_warnings(const std::vector<std::string>& warnings);

} // namespace rafs::cli
