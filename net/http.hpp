// HTTP requests over libcurl, the way the registry client needs them:
// small requests with their body in memory, ranged reads straight into a
// caller's buffer, uploads from memory or a file range, and a pull stream
// for whole blobs that never holds more than ~1 MiB of one.
//
// Nothing here retries or authenticates: the status is returned as it came
// (after following redirects) and the registry layer decides. A transport
// failure (no connection, TLS, timeout, reset) is Errc::io naming the URL.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "format/bytes.hpp"
#include "format/error.hpp"
#include "net/curl_handle.hpp"

namespace rafs::net {

struct HttpOptions {
  bool tls_verify = true;
  std::vector<std::filesystem::path> ca_files; // extra CA certificates (PEM), besides the system's
  long connect_timeout_s = 5;
  // A transfer that moves no byte for this long fails (not a cap on the
  // whole transfer: blobs may be large).
  long stall_timeout_s = 30;
};

// Response header names are lower-cased; a repeated header keeps its last
// value, except www-authenticate, which keeps its first.
using HttpHeaders = std::map<std::string, std::string>;

struct HttpResponse {
  long status = 0;
  HttpHeaders headers;
  std::string body;          // up to the request's cap (error bodies: up to 64 KiB)
  std::string effective_url; // after redirects
};

// Where an upload's body comes from.
struct HttpBody {
  Bytes memory;                 // used when fd < 0
  int fd = -1;                  // else this file's [offset, offset + size)
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  std::uint64_t length() const noexcept { return fd < 0 ? memory.size() : size; }
};

struct HttpRequest {
  std::string method = "GET"; // GET, HEAD, POST, PUT, PATCH, DELETE
  std::string url;
  std::vector<std::string> headers; // "Name: value"
  HttpBody body;                    // sent for POST, PUT, PATCH
  bool follow_redirects = true;
  std::chrono::seconds timeout{0};  // the whole request; 0 = none
};

// One reusable handle: connections stay open between requests. Not
// thread-safe; use one per thread (or a pool).
class HttpClient {
public:
  explicit HttpClient(HttpOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // The whole body, up to `body_cap` bytes (Errc::overflow beyond it for a
  // 2xx response; an error response's body is cut at 64 KiB instead).
  [[nodiscard]] Result<HttpResponse> perform(const HttpRequest& request, std::size_t body_cap);

  // For a 2xx response, the body goes to `sink`, which returns false to
  // stop the transfer early (then the result is still the response). Other
  // responses keep their body in HttpResponse::body (64 KiB at most).
  using Sink = std::function<bool(Bytes)>;
  [[nodiscard]] Result<HttpResponse> perform(const HttpRequest& request, const Sink& sink);

  const HttpOptions& options() const noexcept { return m_options; }
  // The status of the response being received (valid inside a Sink).
  long last_status() const noexcept;

private:
  struct Transfer;
  void configure(const HttpRequest& request, Transfer& t, curl_slist* headers);
  Result<void> load_ca(); // once, when options.ca_files is set

  HttpOptions m_options;
  CurlEasy m_easy;
  std::string m_ca_pem; // system CAs + options.ca_files
};

// A GET whose 2xx body is read by pulling, with back-pressure: libcurl is
// paused while the unread bytes exceed ~1 MiB.
class HttpStream {
public:
  // Sends the request and waits for the status line of the final response.
  // A non-2xx response is read to its end (body capped at 64 KiB) before
  // this returns; read() then gives 0.
  [[nodiscard]] static Result<std::unique_ptr<HttpStream>> open(const HttpOptions& options,
                                                                const HttpRequest& request);
  ~HttpStream();
  HttpStream(const HttpStream&) = delete;
  HttpStream& operator=(const HttpStream&) = delete;

  long status() const noexcept;
  const HttpHeaders& headers() const noexcept;
  const std::string& error_body() const noexcept;
  // Up to out.size() bytes of the body; 0 at its end; Errc::io when the
  // connection fails mid-body (bytes_received() tells how far it got).
  [[nodiscard]] Result<std::size_t> read(MutableBytes out);
  std::uint64_t bytes_received() const noexcept;

  struct State;

private:
  explicit HttpStream(std::unique_ptr<State> state);
  std::unique_ptr<State> m_state;
};

} // namespace rafs::net
