// One tar layer with every feature rafs must keep (entry types, long and
// non-UTF-8 names, large ids, xattrs, sparse data, duplicates), shared by the
// create round-trip and mount tests, and the small text helpers they use.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "support/tar_maker.hpp"

namespace rafs::test {

// A directory and a file whose paths need PAX (or GNU long-name) records.
extern const std::string k_long_dir;
extern const std::string k_long_file;
// A symlink target over 400 bytes.
std::string long_symlink_target();
// A v2 file capability (cap_net_bind_service, effective): the kernel checks
// the format of security.capability values.
std::string capability_value();
// Lines joined, each ending in '\n'.
std::string join(const std::vector<std::string>& lines);

// Every tar feature rafs must keep, in one layer that GNU tar extracts to
// the same tree as rafs' image (see the .cpp). With `sub_second` false every
// mtime is whole seconds.
std::vector<TarEntry> feature_entries(bool sub_second = true);

} // namespace rafs::test
