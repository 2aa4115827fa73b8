// fuzz_seeds OUT_DIR [UPSTREAM_FIXTURES_DIR]: writes OUT_DIR/<harness>/<seed>.
#include <cstdio>
#include <exception>
#include <filesystem>

#include "fuzz/seeds/seeds.hpp"
#include "support/temp_dir.hpp"

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: fuzz_seeds OUT_DIR [UPSTREAM_FIXTURES_DIR]\n");
    return 2;
  }
  namespace seeds = rafs::fuzz_seeds;
  const std::filesystem::path out = argv[1];
  const std::filesystem::path upstream = argc == 3 ? argv[2] : "";
  try {
    const std::pair<const char*, seeds::Seeds> all[] = {
        {"bootstrap", seeds::bootstrap_seeds(upstream)},
        {"layer", seeds::layer_seeds(upstream)},
        {"oci", seeds::oci_seeds()},
        {"config", seeds::config_seeds()},
    };
    for (const auto& [harness, list] : all) {
      std::filesystem::create_directories(out / harness);
      for (const auto& [name, bytes] : list) {
        rafs::test::write_file(out / harness / name, bytes);
      }
      std::printf("fuzz_seeds: %zu %s seeds\n", list.size(), harness);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
