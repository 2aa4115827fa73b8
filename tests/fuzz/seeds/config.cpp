// Seeds of fuzz_config: nydusd v1 rafs configs and prefetch lists.
#include "fuzz/seeds/seeds.hpp"

namespace rafs::fuzz_seeds {

Seed bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

Seeds config_seeds() {
  return {
      {"full.json",
       bytes_of(R"({"device":{"id":"x","backend":{"type":"localfs","config":{"dir":"/var/lib/blobs",)"
                R"("blob_file":"","alt_dirs":["/a","/b"]}},"cache":{"type":"blobcache",)"
                R"("compressed":false,"validate":true,"config":{"work_dir":"/var/cache"}}},)"
                R"("mode":"cached","digest_validate":true,"enable_xattr":true,"iostats_files":false,)"
                R"("access_pattern":false,"latest_read_files":false,"amplify_io":1048576,)"
                R"("fs_prefetch":{"enable":true,"threads_count":4,"merging_size":131072,)"
                R"("bandwidth_rate":0,"prefetch_all":true,"stream_prefetch":false}})")},
      {"minimal.json", bytes_of(R"({"mode":"direct"})")},
      {"prefetch-defaults.json", bytes_of(R"({"mode":"direct","fs_prefetch":{"enable":true}})")},
      {"v2.json", bytes_of(R"({"version":2,"backend":{"type":"localfs"}})")},
      {"prefetch-list", bytes_of("/one\n/dir\n  /two \n/link\n/dir/sub\n")},
      {"prefetch-list-odd", bytes_of("relative\n/a/../b\n//x//y/\n/\n/one/./\n\r\n/dir/hard2\n/dir\n")},
  };
}

} // namespace rafs::fuzz_seeds
