// Libraries loaded with dlopen the first time they are needed rather than
// at every start of `rafs`: each linked library costs start-up time (its
// mapping, relocations and constructors, and those of what it brings), and
// a mount is timed from exec. libcurl (net/curl_api), libcrypto
// (format/sha256.cpp) and libarchive (builder/archive_shim.cpp) are loaded
// this way; their headers still come from their -dev packages.
#pragma once

#include <string>

#include "format/error.hpp"

namespace rafs {

// dlopen(soname) for the life of the process (never closed). The error is
// Errc::unsupported naming the library, why, and the Debian package
// that provides it.
[[nodiscard]] Result<void*> open_shared_lib(const char* soname, const char* package);

// The address of `name` in `lib`, or nullptr.
void* shared_lib_symbol(void* lib, const char* name) noexcept;

} // namespace rafs
