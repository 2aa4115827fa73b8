// libcurl, loaded with dlopen the first time a registry is used, as systemd
// loads its optional libraries: libcurl and the ~25 libraries it brings
// (TLS, HTTP/2, IDN, Kerberos, LDAP...) cost ~3.5 ms at every start of
// `rafs`, and most runs (create, dump, a local mount) never speak HTTP.
// The headers still come from libcurl4-openssl-dev (types and constants);
// every libcurl function is called through curl_api().
#pragma once

#include <curl/curl.h>

#include "format/error.hpp"

namespace rafs::net {

#define RAFS_CURL_FUNCTIONS(X)                                                                     \
  X(curl_global_init)                                                                              \
  X(curl_version_info)                                                                             \
  X(curl_easy_init)                                                                                \
  X(curl_easy_cleanup)                                                                             \
  X(curl_easy_reset)                                                                               \
  X(curl_easy_setopt)                                                                              \
  X(curl_easy_getinfo)                                                                             \
  X(curl_easy_perform)                                                                             \
  X(curl_easy_pause)                                                                               \
  X(curl_easy_strerror)                                                                            \
  X(curl_multi_init)                                                                               \
  X(curl_multi_cleanup)                                                                            \
  X(curl_multi_add_handle)                                                                         \
  X(curl_multi_remove_handle)                                                                      \
  X(curl_multi_perform)                                                                            \
  X(curl_multi_poll)                                                                               \
  X(curl_multi_info_read)                                                                          \
  X(curl_multi_strerror)                                                                           \
  X(curl_slist_append)                                                                             \
  X(curl_slist_free_all)

// Members named as the functions they point to: curl_api().curl_easy_init().
struct CurlApi {
#define RAFS_CURL_MEMBER(name) decltype(&::name) name = nullptr;
  RAFS_CURL_FUNCTIONS(RAFS_CURL_MEMBER)
#undef RAFS_CURL_MEMBER
};

// Loads libcurl.so.4 and runs curl_global_init, once per process
// (thread-safe). The error names the library and why it could not be used
// (Errc::unsupported): "libcurl.so.4: cannot open shared object file ...
// (registries need the libcurl4 package)".
[[nodiscard]] Result<void> load_curl();

// The functions, once load_curl() succeeded (aborts before).
const CurlApi& curl_api();

} // namespace rafs::net
