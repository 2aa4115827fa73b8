#include "net/curl_handle.hpp"

#include <cstdlib>

namespace rafs::net {

void CurlHeaders::append(const std::string& line) {
  curl_slist* grown = curl_api().curl_slist_append(m_list.get(), line.c_str());
  if (grown == nullptr) {
    std::abort();
  }
  (void)m_list.release(); // now owned by `grown`
  m_list.reset(grown);
}

CurlEasy new_curl_easy() {
  CurlEasy h(curl_api().curl_easy_init());
  if (!h) {
    std::abort();
  }
  return h;
}

CurlMulti new_curl_multi() {
  CurlMulti h(curl_api().curl_multi_init());
  if (!h) {
    std::abort();
  }
  return h;
}

} // namespace rafs::net
