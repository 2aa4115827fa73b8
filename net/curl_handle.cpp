#include "net/curl_handle.hpp"

#include <cstdlib>
#include <mutex>

namespace rafs::net {

namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      std::abort();
    }
  });
}

} // namespace

void CurlHeaders::append(const std::string& line) {
  curl_slist* grown = curl_slist_append(m_list.get(), line.c_str());
  if (grown == nullptr) {
    std::abort();
  }
  (void)m_list.release(); // now owned by `grown`
  m_list.reset(grown);
}

CurlEasy new_curl_easy() {
  global_init();
  CurlEasy h(curl_easy_init());
  if (!h) {
    std::abort();
  }
  return h;
}

CurlMulti new_curl_multi() {
  global_init();
  CurlMulti h(curl_multi_init());
  if (!h) {
    std::abort();
  }
  return h;
}

} // namespace rafs::net
