// A client of one repository on an OCI distribution (v2) registry:
// manifests and blobs, pulled and pushed, with the registry's auth flow
// (anonymous, Basic, or Bearer tokens from the challenge's realm) and
// retries with backoff on connection errors, 429 and 5xx.
//
// Errors are one line naming the method, the URL and the status, with the
// registry's own error code and message when it sent one:
//   "GET https://h/v2/app/manifests/1.2: 404 Not Found (MANIFEST_UNKNOWN: manifest unknown)"
// Thread-safe: each request takes a connection from a pool.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "format/bytes.hpp"
#include "format/error.hpp"
#include "net/credentials.hpp"
#include "net/http.hpp"
#include "net/image_ref.hpp"

namespace rafs::net {

struct RegistryOptions {
  HttpOptions http;
  // nullopt: looked up in the auth files (net/credentials.hpp) at connect.
  std::optional<Credentials> creds;
  std::string bearer_token; // used as is (nydusd's registry_token); refreshed from the realm on 401 if possible
  // "https" or "http" to force one; "" = https, then plain http when that
  // fails to connect and http is allowed (allow_http, or a local host).
  std::string scheme;
  bool allow_http = false;
  unsigned retry_limit = 3; // further attempts after a failed one
  std::chrono::milliseconds retry_delay{200}; // doubles each attempt
  // Whole-request limit for manifests and ranged reads (0 = none); streamed
  // blobs are limited by http.stall_timeout_s instead.
  std::chrono::seconds request_timeout{0};
};

// What went over the wire, for metrics and tests.
struct RegistryCounters {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> bytes_received{0}; // bodies of blob and manifest GETs
  std::atomic<std::uint64_t> bytes_sent{0};     // upload bodies
  std::atomic<std::uint64_t> retries{0};
};

// A blob body pulled as a stream; a dropped connection is resumed with a
// Range request from where it stopped (up to retry_limit times).
class BlobStream {
public:
  virtual ~BlobStream() = default;
  [[nodiscard]] virtual Result<std::size_t> read(MutableBytes out) = 0; // 0 at the end
};

class Registry : public std::enable_shared_from_this<Registry> {
public:
  // Finds the scheme (GET /v2/) and authenticates for `actions` ("pull" or
  // "pull,push") on ref.repo, and pull on `mount_from_repo` when given
  // (cross-repository blob mounts).
  [[nodiscard]] static Result<std::shared_ptr<Registry>> connect(const ImageRef& ref, RegistryOptions options,
                                                                 std::string actions = "pull",
                                                                 std::string mount_from_repo = {});
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  const ImageRef& ref() const noexcept { return m_ref; }
  // "https://host/v2/repo"
  const std::string& base_url() const noexcept { return m_base; }
  RegistryCounters& counters() noexcept { return m_counters; }
  // The credentials in use (given, or found in the auth files at connect).
  const std::optional<Credentials>& credentials() const noexcept { return m_options.creds; }

  struct Manifest {
    std::vector<std::uint8_t> bytes;
    std::string media_type;
    std::string digest; // sha256 of the bytes; checked against `reference` when that is a digest
  };
  // An image manifest or index (OCI or Docker schema 2) by tag or digest.
  [[nodiscard]] Result<Manifest> get_manifest(const std::string& reference);
  // A small blob (a config), read whole; at most `cap` bytes.
  [[nodiscard]] Result<std::vector<std::uint8_t>> get_blob(const std::string& digest, std::uint64_t cap);
  [[nodiscard]] Result<std::unique_ptr<BlobStream>> open_blob(const std::string& digest);
  // Exactly out.size() bytes of the blob from `offset` (HTTP Range).
  [[nodiscard]] Result<void> read_blob(const std::string& digest, std::uint64_t offset, MutableBytes out);
  // The blob's size (HEAD), nullopt when the registry does not have it.
  [[nodiscard]] Result<std::optional<std::uint64_t>> blob_size(const std::string& digest);

  enum class PushResult : std::uint8_t { uploaded, existed, mounted };
  // Uploads the file as blob `digest` unless the registry has it; tries a
  // cross-repository mount from `mount_from_repo` first when given. Large
  // files go in chunks (PATCH), small ones in one PUT. Verifies nothing
  // locally: the registry checks the digest.
  [[nodiscard]] Result<PushResult> push_blob(const std::string& digest, const std::filesystem::path& file,
                                             const std::string& mount_from_repo = {});
  // PUT /manifests/<reference>; returns the digest the registry reports.
  [[nodiscard]] Result<std::string> put_manifest(const std::string& reference, const std::string& media_type,
                                                 Bytes bytes);

  // Requests above this size are uploaded in PATCH chunks of this size.
  static constexpr std::uint64_t k_upload_chunk = 16 << 20;

private:
  Registry(ImageRef ref, RegistryOptions options);
  class Lease;
  friend class RegistryBlobStream;

  Lease lease();
  // Sends `request` (with our Authorization) through the auth and retry
  // loop. `send` performs one attempt on a client.
  using Attempt = std::function<Result<HttpResponse>(HttpClient&, const HttpRequest&)>;
  [[nodiscard]] Result<HttpResponse> execute(HttpRequest request, const Attempt& send);
  [[nodiscard]] Result<HttpResponse> execute_small(HttpRequest request, std::size_t cap);
  [[nodiscard]] Result<void> authenticate(const HttpHeaders& response_headers, const std::string& url);
  [[nodiscard]] Result<void> ping();
  std::string authorization() const;
  void backoff(unsigned attempt, const HttpHeaders* headers);
  Result<PushResult> upload(const std::string& digest, const std::filesystem::path& file, std::string location);
  std::string absolute(const std::string& location) const;

  ImageRef m_ref;
  RegistryOptions m_options;
  std::string m_actions = "pull";
  std::string m_mount_from;
  std::string m_origin; // "https://host"
  std::string m_base;   // m_origin + "/v2/" + repo
  RegistryCounters m_counters;

  mutable std::mutex m_mutex; // guards what follows
  std::string m_authorization; // "Basic ...", "Bearer ..." or empty
  std::vector<std::unique_ptr<HttpClient>> m_idle;
};

// The error of a non-2xx response: "METHOD URL: STATUS TEXT (CODE: message)".
Error status_error(const std::string& method, const std::string& url, const HttpResponse& r);

} // namespace rafs::net
