// The upstream fixtures' .result files (../shared/testdata/nydus/repeatable):
// a `tree -a -J -v` block, then an md5 block (`find -type f | md5sum`,
// sorted). A directory holding an image's tree (unpacked or mounted) is
// compared with one here, with tree 1.x/2.x differences normalized.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace rafs::test {

inline constexpr const char* k_upstream_fixtures[] = {"sha256-nocompress-repeatable",
                                                      "blake3-lz4_block-non_repeatable"};

struct ResultComparison {
  nlohmann::json got_tree, want_tree; // normalized `tree -J`
  std::string got_md5, want_md5;      // trimmed md5 blocks
};

// Runs tree and md5sum over `root`; throws std::runtime_error when a tool
// fails or the .result file has no tree block.
ResultComparison compare_with_result(const std::filesystem::path& root,
                                     const std::filesystem::path& result_file);

} // namespace rafs::test
