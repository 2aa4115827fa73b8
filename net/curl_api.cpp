#include "net/curl_api.hpp"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>

#include "format/shared_lib.hpp"

namespace rafs::net {

namespace {

constexpr const char* k_library = "libcurl.so.4";

struct Loaded {
  CurlApi api;
  std::optional<Error> error; // why loading failed
  bool ok = false;
};

Loaded load() {
  Loaded l;
  auto fail = [&](const std::string& why) {
    l.error = make_error(Errc::unsupported, why + " (registries need the libcurl4 package)");
    return std::move(l);
  };
  auto opened = open_shared_lib(k_library, "libcurl4");
  if (!opened) {
    l.error = std::move(opened).error();
    return l;
  }
  void* lib = *opened;
#define RAFS_CURL_LOOKUP(name)                                                                     \
  l.api.name = reinterpret_cast<decltype(&::name)>(shared_lib_symbol(lib, #name));               \
  if (l.api.name == nullptr) {                                                                     \
    return fail(std::string(k_library) + ": no symbol " #name);                                   \
  }
  RAFS_CURL_FUNCTIONS(RAFS_CURL_LOOKUP)
#undef RAFS_CURL_LOOKUP
  if (l.api.curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    return fail(std::string(k_library) + ": curl_global_init failed");
  }
  l.ok = true;
  return l;
}

const Loaded& loaded() {
  static const Loaded l = load(); // thread-safe, once
  return l;
}

} // namespace

Result<void> load_curl() {
  const Loaded& l = loaded();
  if (!l.ok) {
    return *l.error;
  }
  return {};
}

const CurlApi& curl_api() {
  const Loaded& l = loaded();
  if (!l.ok) {
    std::fprintf(stderr, "rafs: libcurl used before it was loaded: %s\n", l.error->message.c_str());
    std::abort();
  }
  return l.api;
}

} // namespace rafs::net
