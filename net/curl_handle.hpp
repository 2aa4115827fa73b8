// RAII owners of libcurl's C handles, and its one-time global set-up.
#pragma once

#include "net/curl_api.hpp"

#include <memory>
#include <string>

namespace rafs::net {

struct CurlEasyDeleter {
  void operator()(CURL* h) const noexcept { curl_api().curl_easy_cleanup(h); }
};
struct CurlMultiDeleter {
  void operator()(CURLM* h) const noexcept { curl_api().curl_multi_cleanup(h); }
};
struct CurlSlistDeleter {
  void operator()(curl_slist* l) const noexcept { curl_api().curl_slist_free_all(l); }
};

using CurlEasy = std::unique_ptr<CURL, CurlEasyDeleter>;
using CurlMulti = std::unique_ptr<CURLM, CurlMultiDeleter>;

// A header list that grows by append().
class CurlHeaders {
public:
  void append(const std::string& line);
  curl_slist* get() const noexcept { return m_list.get(); }

private:
  std::unique_ptr<curl_slist, CurlSlistDeleter> m_list;
};

// A new handle (libcurl must be loaded: load_curl()). Never null: an
// allocation failure aborts, as operator new would.
CurlEasy new_curl_easy();
CurlMulti new_curl_multi();

} // namespace rafs::net
