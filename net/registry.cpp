#include "net/registry.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <thread>

#include "format/digest.hpp"
#include "format/file.hpp"
#include "net/curl_api.hpp"
#include "net/base64.hpp"
#include "net/challenge.hpp"

namespace rafs::net {

namespace {

constexpr std::size_t k_manifest_cap = 4 << 20;
constexpr std::size_t k_token_cap = 1 << 20;
constexpr std::size_t k_small_cap = 64 << 10;

constexpr const char* k_manifest_accept =
    "Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json";

std::string status_text(long status) {
  switch (status) {
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 409: return "Conflict";
  case 413: return "Payload Too Large";
  case 416: return "Range Not Satisfiable";
  case 429: return "Too Many Requests";
  case 500: return "Internal Server Error";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  default: return {};
  }
}

// Percent-encodes everything but RFC 3986's unreserved characters.
std::string url_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", u);
      out += buf;
    }
  }
  return out;
}

std::string sha256_digest(Bytes bytes) {
  Sha256 h;
  h.update(bytes);
  return "sha256:" + to_hex(h.finalize());
}

bool is_2xx(long status) { return status >= 200 && status < 300; }

std::string media_type_of(const HttpHeaders& h) {
  auto it = h.find("content-type");
  if (it == h.end()) {
    return {};
  }
  std::string mt = it->second.substr(0, it->second.find(';'));
  while (!mt.empty() && mt.back() == ' ') {
    mt.pop_back();
  }
  return mt;
}

std::string with_query(const std::string& url, const std::string& query) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + query;
}

} // namespace

Error status_error(const std::string& method, const std::string& url, const HttpResponse& r) {
  std::string msg = method + " " + url + ": " + std::to_string(r.status);
  if (auto text = status_text(r.status); !text.empty()) {
    msg += " " + text;
  }
  auto doc = nlohmann::json::parse(r.body, nullptr, false);
  if (!doc.is_discarded() && doc.is_object() && doc.contains("errors") && doc["errors"].is_array() &&
      !doc["errors"].empty() && doc["errors"][0].is_object()) {
    const auto& e = doc["errors"][0];
    std::string code = e.value("code", std::string());
    std::string text = e.value("message", std::string());
    msg += " (" + code + (code.empty() || text.empty() ? "" : ": ") + text + ")";
  }
  Errc code = r.status == 404 ? Errc::not_found : Errc::io;
  return make_error(code, msg);
}

// A client borrowed from the pool for one request.
class Registry::Lease {
public:
  Lease(Registry& r, std::unique_ptr<HttpClient> c) : m_registry(r), m_client(std::move(c)) {}
  ~Lease() {
    std::lock_guard lock(m_registry.m_mutex);
    m_registry.m_idle.push_back(std::move(m_client));
  }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  HttpClient& client() { return *m_client; }

private:
  Registry& m_registry;
  std::unique_ptr<HttpClient> m_client;
};

Registry::Registry(ImageRef ref, RegistryOptions options) : m_ref(std::move(ref)), m_options(std::move(options)) {}
Registry::~Registry() = default;

Registry::Lease Registry::lease() {
  std::unique_ptr<HttpClient> c;
  {
    std::lock_guard lock(m_mutex);
    if (!m_idle.empty()) {
      c = std::move(m_idle.back());
      m_idle.pop_back();
    }
  }
  if (!c) {
    c = std::make_unique<HttpClient>(m_options.http);
  }
  return Lease(*this, std::move(c));
}

std::string Registry::authorization() const {
  std::lock_guard lock(m_mutex);
  return m_authorization;
}

void Registry::backoff(unsigned attempt, const HttpHeaders* headers) {
  ++m_counters.retries;
  auto delay = m_options.retry_delay * (1U << std::min(attempt - 1, 6U));
  if (headers != nullptr) {
    if (auto it = headers->find("retry-after"); it != headers->end()) {
      const long s = std::strtol(it->second.c_str(), nullptr, 10);
      if (s > 0 && s <= 30) {
        delay = std::chrono::seconds(s);
      }
    }
  }
  std::this_thread::sleep_for(delay);
}

Result<HttpResponse> Registry::execute(HttpRequest request, const Attempt& send) {
  bool reauthenticated = false;
  unsigned attempt = 0;
  for (;;) {
    HttpRequest r = request;
    if (auto a = authorization(); !a.empty()) {
      r.headers.push_back("Authorization: " + a);
    }
    ++m_counters.requests;
    Result<HttpResponse> resp = [&] {
      Lease l = lease();
      return send(l.client(), r);
    }();
    if (!resp) {
      if (resp.error().code == Errc::io && attempt < m_options.retry_limit) {
        backoff(++attempt, nullptr);
        continue;
      }
      if (attempt > 0) {
        return resp.error().with_context("after " + std::to_string(attempt + 1) + " attempts");
      }
      return resp;
    }
    if (resp->status == 401) {
      if (reauthenticated) {
        Error e = status_error(r.method, r.url, *resp);
        const auto& c = m_options.creds;
        return make_error(Errc::invalid_argument,
                          e.message + ": the registry refused " +
                              (c ? "the credentials of user '" + c->username + "'" : std::string("anonymous access")));
      }
      reauthenticated = true;
      RAFS_TRY(authenticate(resp->headers, r.url));
      continue;
    }
    if ((resp->status == 429 || resp->status >= 500) && attempt < m_options.retry_limit) {
      backoff(++attempt, &resp->headers);
      continue;
    }
    return resp;
  }
}

Result<HttpResponse> Registry::execute_small(HttpRequest request, std::size_t cap) {
  return execute(std::move(request), [cap](HttpClient& c, const HttpRequest& r) { return c.perform(r, cap); });
}

Result<void> Registry::authenticate(const HttpHeaders& headers, const std::string& url) {
  auto h = headers.find("www-authenticate");
  const std::string host = m_ref.host;
  if (h == headers.end()) {
    return make_error(Errc::io, url + ": 401 Unauthorized without a WWW-Authenticate challenge");
  }
  auto challenge = parse_challenge(h->second);
  if (!challenge) {
    return make_error(Errc::io, url + ": unreadable WWW-Authenticate challenge '" + h->second + "'");
  }
  const auto& creds = m_options.creds;
  const std::string basic = creds ? "Basic " + base64_encode(creds->username + ":" + creds->password) : "";
  if (challenge->scheme == "basic") {
    if (!creds) {
      return make_error(Errc::invalid_argument,
                        host + ": the registry asks for credentials: give --creds USER:PASSWORD or log in "
                               "(skopeo login, docker login)");
    }
    std::lock_guard lock(m_mutex);
    m_authorization = basic;
    return {};
  }
  if (challenge->scheme != "bearer") {
    return make_error(Errc::unsupported, url + ": authentication scheme '" + challenge->scheme + "' is not supported");
  }
  const std::string realm = challenge->params["realm"];
  if (realm.empty()) {
    return make_error(Errc::io, url + ": Bearer challenge without a realm");
  }
  std::string query;
  if (auto s = challenge->params.find("service"); s != challenge->params.end()) {
    query = "service=" + url_escape(s->second);
  }
  auto add_scope = [&query](const std::string& scope) {
    query += (query.empty() ? "" : "&") + std::string("scope=") + url_escape(scope);
  };
  add_scope("repository:" + m_ref.repo + ":" + m_actions);
  if (!m_mount_from.empty()) {
    add_scope("repository:" + m_mount_from + ":pull");
  }
  HttpRequest token_request;
  token_request.url = with_query(realm, query);
  if (creds) {
    token_request.headers.push_back("Authorization: " + basic);
  }
  ++m_counters.requests;
  Result<HttpResponse> resp = [&] {
    Lease l = lease();
    return l.client().perform(token_request, k_token_cap);
  }();
  if (!resp) {
    return resp.error();
  }
  if (!is_2xx(resp->status)) {
    Error e = status_error("GET", token_request.url, *resp);
    if (resp->status == 401 || resp->status == 403) {
      e.code = Errc::invalid_argument;
      e.message += creds ? ": the token service refused the credentials of user '" + creds->username + "'"
                         : ": the token service refused anonymous access (give --creds or log in)";
    }
    return e;
  }
  auto doc = nlohmann::json::parse(resp->body, nullptr, false);
  std::string token;
  if (!doc.is_discarded() && doc.is_object()) {
    token = doc.value("token", std::string());
    if (token.empty()) {
      token = doc.value("access_token", std::string());
    }
  }
  if (token.empty()) {
    return make_error(Errc::io, "GET " + realm + ": the token response holds no token");
  }
  std::lock_guard lock(m_mutex);
  m_authorization = "Bearer " + token;
  return {};
}

Result<void> Registry::ping() {
  std::vector<std::string> schemes;
  if (!m_options.scheme.empty()) {
    schemes.push_back(m_options.scheme);
  } else {
    schemes.emplace_back("https");
    if (m_options.allow_http || is_local_host(m_ref.host)) {
      schemes.emplace_back("http");
    }
  }
  std::optional<Error> first_error;
  for (std::size_t i = 0; i < schemes.size(); ++i) {
    m_origin = schemes[i] + "://" + m_ref.api_host();
    m_base = m_origin + "/v2/" + m_ref.repo;
    HttpRequest r;
    r.url = m_origin + "/v2/";
    const bool last = i + 1 == schemes.size();
    Result<HttpResponse> resp = last ? execute_small(r, k_small_cap) : [&] {
      ++m_counters.requests;
      Lease l = lease();
      return l.client().perform(r, k_small_cap);
    }();
    if (!resp) {
      if (!first_error) {
        first_error = resp.error();
      }
      if (last) {
        // An auth failure on the fallback is the answer; a transport
        // failure there says less than the https one.
        return resp.error().code == Errc::io ? *first_error : resp.error();
      }
      continue;
    }
    if (resp->status == 401 && !last) { // the retrying path re-authenticates by itself
      RAFS_TRY(authenticate(resp->headers, r.url));
      return {};
    }
    if (!is_2xx(resp->status)) {
      if (first_error && i > 0) {
        // https failed and plain http is no registry (e.g. a TLS port
        // answering 400): the https failure is the one to report.
        return *first_error;
      }
      return status_error("GET", r.url, *resp).with_context(m_ref.host + ": not an OCI registry");
    }
    return {};
  }
  return make_error(Errc::internal, "no scheme to try");
}

Result<std::shared_ptr<Registry>> Registry::connect(const ImageRef& ref, RegistryOptions options,
                                                     std::string actions, std::string mount_from_repo) {
  RAFS_TRY(load_curl());
  if (!options.creds && options.bearer_token.empty()) {
    RAFS_TRY_ASSIGN(options.creds, find_credentials(ref.host));
  }
  std::shared_ptr<Registry> r(new Registry(ref, std::move(options)));
  r->m_actions = std::move(actions);
  r->m_mount_from = std::move(mount_from_repo);
  if (!r->m_options.bearer_token.empty()) {
    r->m_authorization = "Bearer " + r->m_options.bearer_token;
  }
  RAFS_TRY(r->ping());
  return r;
}

Result<Registry::Manifest> Registry::get_manifest(const std::string& reference) {
  HttpRequest r;
  r.url = m_base + "/manifests/" + reference;
  r.headers.emplace_back(k_manifest_accept);
  r.timeout = m_options.request_timeout;
  RAFS_TRY_ASSIGN(HttpResponse resp, execute_small(r, k_manifest_cap));
  if (!is_2xx(resp.status)) {
    return status_error("GET", r.url, resp);
  }
  m_counters.bytes_received += resp.body.size();
  Manifest m;
  m.bytes.assign(resp.body.begin(), resp.body.end());
  m.digest = sha256_digest(m.bytes);
  m.media_type = media_type_of(resp.headers);
  auto doc = nlohmann::json::parse(resp.body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return make_error(Errc::corrupted, "GET " + r.url + ": the manifest is not a JSON object");
  }
  if (auto mt = doc.find("mediaType"); mt != doc.end() && mt->is_string()) {
    m.media_type = mt->get<std::string>(); // the document's own word wins over the header's
  }
  if (reference.rfind("sha256:", 0) == 0 && m.digest != reference) {
    return make_error(Errc::corrupted, "GET " + r.url + ": digest mismatch: asked for " + reference +
                                           ", data is " + m.digest);
  }
  return m;
}

Result<std::vector<std::uint8_t>> Registry::get_blob(const std::string& digest, std::uint64_t cap) {
  HttpRequest r;
  r.url = m_base + "/blobs/" + digest;
  r.timeout = m_options.request_timeout;
  RAFS_TRY_ASSIGN(HttpResponse resp, execute_small(r, static_cast<std::size_t>(cap)));
  if (!is_2xx(resp.status)) {
    return status_error("GET", r.url, resp);
  }
  m_counters.bytes_received += resp.body.size();
  return std::vector<std::uint8_t>(resp.body.begin(), resp.body.end());
}

Result<void> Registry::read_blob(const std::string& digest, std::uint64_t offset, MutableBytes out) {
  if (out.empty()) {
    return {};
  }
  HttpRequest r;
  r.url = m_base + "/blobs/" + digest;
  r.timeout = m_options.request_timeout;
  r.headers.push_back("Range: bytes=" + std::to_string(offset) + "-" + std::to_string(offset + out.size() - 1));
  std::size_t filled = 0;
  auto send = [&](HttpClient& c, const HttpRequest& req) {
    filled = 0;
    std::optional<std::uint64_t> skip; // at the first byte: a 200 (Range ignored) starts at byte 0
    return c.perform(req, [&](Bytes data) {
      if (!skip) {
        skip = c.last_status() == 206 ? 0 : offset;
      }
      m_counters.bytes_received += data.size();
      const auto from = static_cast<std::size_t>(std::min<std::uint64_t>(*skip, data.size()));
      *skip -= from;
      const std::size_t n = std::min(out.size() - filled, data.size() - from);
      std::memcpy(out.data() + filled, data.data() + from, n);
      filled += n;
      return filled < out.size();
    });
  };
  RAFS_TRY_ASSIGN(HttpResponse resp, execute(r, send));
  if (!is_2xx(resp.status)) {
    return status_error("GET", r.url, resp);
  }
  if (filled != out.size()) {
    return make_error(Errc::corrupted, "GET " + r.url + ": " + std::to_string(filled) + " bytes from offset " +
                                           std::to_string(offset) + ", wanted " + std::to_string(out.size()) +
                                           " (the blob is shorter)");
  }
  return {};
}

Result<std::optional<std::uint64_t>> Registry::blob_size(const std::string& digest) {
  HttpRequest r;
  r.method = "HEAD";
  r.url = m_base + "/blobs/" + digest;
  r.timeout = m_options.request_timeout;
  RAFS_TRY_ASSIGN(HttpResponse resp, execute_small(r, k_small_cap));
  if (resp.status == 404) {
    return std::optional<std::uint64_t>{};
  }
  if (!is_2xx(resp.status)) {
    return status_error("HEAD", r.url, resp);
  }
  auto it = resp.headers.find("content-length");
  if (it == resp.headers.end()) {
    return make_error(Errc::io, "HEAD " + r.url + ": no Content-Length");
  }
  return std::optional<std::uint64_t>(std::strtoull(it->second.c_str(), nullptr, 10));
}

// ---- streamed blobs --------------------------------------------------------

class RegistryBlobStream final : public BlobStream {
public:
  RegistryBlobStream(std::shared_ptr<Registry> registry, std::string digest)
      : m_registry(std::move(registry)), m_digest(std::move(digest)),
        m_url(m_registry->base_url() + "/blobs/" + m_digest) {}

  // Opens (or re-opens from m_offset) the body.
  Result<void> start() {
    HttpRequest r;
    r.url = m_url;
    if (m_offset > 0) {
      r.headers.push_back("Range: bytes=" + std::to_string(m_offset) + "-");
    }
    std::unique_ptr<HttpStream> opened;
    auto send = [&](HttpClient& c, const HttpRequest& req) -> Result<HttpResponse> {
      RAFS_TRY_ASSIGN(opened, HttpStream::open(c.options(), req));
      HttpResponse resp;
      resp.status = opened->status();
      resp.headers = opened->headers();
      resp.body = opened->error_body();
      return resp;
    };
    RAFS_TRY_ASSIGN(HttpResponse resp, m_registry->execute(r, send));
    if (!is_2xx(resp.status)) {
      return status_error("GET", r.url, resp);
    }
    m_skip = resp.status == 200 ? m_offset : 0; // Range ignored: the body starts at byte 0
    m_stream = std::move(opened);
    return {};
  }

  Result<std::size_t> read(MutableBytes out) override {
    for (;;) {
      if (!m_stream) {
        RAFS_TRY(start());
      }
      auto got = m_stream->read(out);
      if (!got) {
        if (m_resumes < m_registry->m_options.retry_limit) {
          ++m_resumes;
          m_registry->backoff(m_resumes, nullptr);
          m_stream.reset();
          continue;
        }
        return got.error();
      }
      if (*got == 0) {
        return std::size_t{0};
      }
      m_registry->m_counters.bytes_received += *got;
      if (m_skip > 0) {
        const auto s = static_cast<std::size_t>(std::min<std::uint64_t>(m_skip, *got));
        m_skip -= s;
        if (s == *got) {
          continue;
        }
        std::memmove(out.data(), out.data() + s, *got - s);
        m_offset += *got - s;
        return *got - s;
      }
      m_offset += *got;
      return *got;
    }
  }

private:
  std::shared_ptr<Registry> m_registry;
  std::string m_digest;
  std::string m_url;
  std::unique_ptr<HttpStream> m_stream;
  std::uint64_t m_offset = 0; // body bytes delivered so far
  std::uint64_t m_skip = 0;
  unsigned m_resumes = 0;
};

Result<std::unique_ptr<BlobStream>> Registry::open_blob(const std::string& digest) {
  auto s = std::make_unique<RegistryBlobStream>(shared_from_this(), digest);
  RAFS_TRY(s->start());
  return std::unique_ptr<BlobStream>(std::move(s));
}

// ---- push ------------------------------------------------------------------

std::string Registry::absolute(const std::string& location) const {
  if (location.rfind("http://", 0) == 0 || location.rfind("https://", 0) == 0) {
    return location;
  }
  return m_origin + (location.empty() || location.front() != '/' ? "/" : "") + location;
}

Result<Registry::PushResult> Registry::push_blob(const std::string& digest, const std::filesystem::path& file,
                                                 const std::string& mount_from_repo) {
  RAFS_TRY_ASSIGN(auto existing, blob_size(digest));
  if (existing) {
    return PushResult::existed;
  }
  HttpRequest post;
  post.method = "POST";
  post.url = m_base + "/blobs/uploads/";
  if (!mount_from_repo.empty()) {
    post.url += "?mount=" + url_escape(digest) + "&from=" + url_escape(mount_from_repo);
  }
  RAFS_TRY_ASSIGN(HttpResponse resp, execute_small(post, k_small_cap));
  if (resp.status == 201 && !mount_from_repo.empty()) {
    return PushResult::mounted;
  }
  if (resp.status != 202) {
    return status_error("POST", post.url, resp);
  }
  auto loc = resp.headers.find("location");
  if (loc == resp.headers.end()) {
    return make_error(Errc::io, "POST " + post.url + ": 202 without a Location");
  }
  return upload(digest, file, absolute(loc->second));
}

Result<Registry::PushResult> Registry::upload(const std::string& digest, const std::filesystem::path& file,
                                              std::string location) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    return sys_error(file.string());
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return sys_error(file.string());
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  std::uint64_t offset = 0;
  // Chunks first (PATCH), then the closing PUT with what is left.
  while (size - offset > k_upload_chunk) {
    HttpRequest patch;
    patch.method = "PATCH";
    patch.url = location;
    patch.body = HttpBody{{}, fd.get(), offset, k_upload_chunk};
    patch.headers = {"Content-Type: application/octet-stream",
                     "Content-Range: " + std::to_string(offset) + "-" + std::to_string(offset + k_upload_chunk - 1)};
    RAFS_TRY_ASSIGN(HttpResponse resp, execute_small(patch, k_small_cap));
    if (resp.status != 202) {
      return status_error("PATCH", patch.url, resp).with_context(file.string());
    }
    m_counters.bytes_sent += k_upload_chunk;
    offset += k_upload_chunk;
    if (auto loc = resp.headers.find("location"); loc != resp.headers.end()) {
      location = absolute(loc->second);
    }
  }
  HttpRequest put;
  put.method = "PUT";
  put.url = with_query(location, "digest=" + url_escape(digest));
  put.body = HttpBody{{}, fd.get(), offset, size - offset};
  put.headers = {"Content-Type: application/octet-stream"};
  RAFS_TRY_ASSIGN(HttpResponse resp, execute_small(put, k_small_cap));
  if (resp.status != 201) {
    return status_error("PUT", put.url, resp).with_context(file.string());
  }
  m_counters.bytes_sent += size - offset;
  return PushResult::uploaded;
}

Result<std::string> Registry::put_manifest(const std::string& reference, const std::string& media_type,
                                           Bytes bytes) {
  HttpRequest put;
  put.method = "PUT";
  put.url = m_base + "/manifests/" + reference;
  put.body.memory = bytes;
  put.headers = {"Content-Type: " + media_type};
  RAFS_TRY_ASSIGN(HttpResponse resp, execute_small(put, k_small_cap));
  if (resp.status != 201 && resp.status != 200) {
    return status_error("PUT", put.url, resp);
  }
  m_counters.bytes_sent += bytes.size();
  if (auto d = resp.headers.find("docker-content-digest"); d != resp.headers.end()) {
    return d->second;
  }
  return sha256_digest(bytes);
}

} // namespace rafs::net
