// fuzz_seeds: the seed inputs of each harness, made by code from our own
// test fixtures (tests/support) and, when given, from the upstream fixtures
// folder (../shared/testdata/nydus). Input formats: see each harness.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace rafs::fuzz_seeds {

using Seed = std::vector<std::uint8_t>;
using Seeds = std::vector<std::pair<std::string, Seed>>; // file name, bytes

// Inputs longer than this are not made: ci/fuzz.sh runs the harnesses with
// -max_len=65536 (the config harness with less).
inline constexpr std::size_t k_max_len = 65536;

// `upstream` may be empty (the folder is absent).
Seeds bootstrap_seeds(const std::filesystem::path& upstream);
Seeds layer_seeds(const std::filesystem::path& upstream);
Seeds oci_seeds();
Seeds config_seeds();

// Shared by the makers above.
Seed bytes_of(const std::string& s);
// A small tar layer with every entry type, whiteouts, xattrs, a hard link,
// a sparse file and a multi-chunk file, under the paths the layer harness
// prefetches.
std::vector<std::uint8_t> small_layer_tar();

} // namespace rafs::fuzz_seeds
