// A harness without libFuzzer: runs LLVMFuzzerTestOneInput once on every
// file in the directories (or files) given, so ctest replays the kept
// regression inputs and the seed corpus in every build. A crash or a
// broken invariant aborts; replaying nothing at all is a failure too.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::vector<std::filesystem::path> inputs_in(const std::filesystem::path& where) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  if (std::filesystem::is_regular_file(where, ec)) {
    out.push_back(where);
  } else if (std::filesystem::is_directory(where, ec)) { // a missing one is empty (git keeps none)
    for (const auto& e : std::filesystem::recursive_directory_iterator(where)) {
      if (e.is_regular_file() && e.path().filename().string().front() != '.') {
        out.push_back(e.path());
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace

int main(int argc, char** argv) {
  std::size_t replayed = 0;
  for (int i = 1; i < argc; ++i) {
    for (const auto& file : inputs_in(argv[i])) {
      std::ifstream in(file, std::ios::binary);
      const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in),
                                            std::istreambuf_iterator<char>()};
      if (!in.eof() && !in) {
        std::fprintf(stderr, "replay: cannot read %s\n", file.c_str());
        return 1;
      }
      std::fprintf(stderr, "replay: %s\n", file.c_str());
      LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
      ++replayed;
    }
  }
  if (replayed == 0) {
    std::fprintf(stderr, "replay: no input found in the paths given\n");
    return 1;
  }
  std::printf("replayed %zu inputs\n", replayed);
  return 0;
}
