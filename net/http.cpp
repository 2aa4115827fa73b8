#include "net/http.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "format/file.hpp"

namespace rafs::net {

namespace {

constexpr std::size_t k_error_body_cap = 64 * 1024;
constexpr std::size_t k_stream_high_water = 1 << 20;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return std::string(s);
}

bool is_2xx(long status) { return status >= 200 && status < 300; }

bool is_followed_redirect(long status, const HttpHeaders& h, bool follow) {
  return follow && (status == 301 || status == 302 || status == 303 || status == 307 || status == 308) &&
         h.count("location") != 0;
}

// Parses one header line into `headers`; a status line starts a new
// response (a redirect's or a 100 Continue's headers are forgotten).
// Returns true at the blank line that ends a block of headers.
bool take_header_line(std::string_view line, long& status, HttpHeaders& headers) {
  if (line.substr(0, 5) == "HTTP/") {
    headers.clear();
    auto sp = line.find(' ');
    status = sp == std::string_view::npos ? 0 : std::strtol(std::string(line.substr(sp + 1, 3)).c_str(), nullptr, 10);
    return false;
  }
  if (line == "\r\n" || line == "\n") {
    return true;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) {
    return false;
  }
  std::string name = lower(std::string(line.substr(0, colon)));
  std::string value = trim(line.substr(colon + 1));
  if (name == "www-authenticate" && headers.count(name) != 0) {
    return false;
  }
  headers[name] = std::move(value);
  return false;
}

// The upload body, read by libcurl's read callback.
struct BodyCursor {
  const HttpBody* body = nullptr;
  std::uint64_t sent = 0;
};

std::size_t on_read(char* out, std::size_t size, std::size_t n, void* user) {
  auto* c = static_cast<BodyCursor*>(user);
  const std::uint64_t left = c->body->length() - c->sent;
  const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, size * n));
  if (want == 0) {
    return 0;
  }
  if (c->body->fd < 0) {
    std::memcpy(out, c->body->memory.data() + c->sent, want);
  } else {
    auto got = pread_full(c->body->fd, c->body->offset + c->sent,
                          MutableBytes(reinterpret_cast<std::uint8_t*>(out), want), "upload body");
    if (!got) {
      return CURL_READFUNC_ABORT;
    }
  }
  c->sent += want;
  return want;
}

// What every request shares: TLS, timeouts, method, body, headers.
void set_common(CURL* h, const HttpOptions& o, const HttpRequest& r, BodyCursor& body,
                curl_slist* headers, char* errbuf) {
  curl_api().curl_easy_setopt(h, CURLOPT_URL, r.url.c_str());
  curl_api().curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_api().curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_api().curl_easy_setopt(h, CURLOPT_USERAGENT, "rafs/0.1");
  curl_api().curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, o.connect_timeout_s);
  curl_api().curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_api().curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, o.stall_timeout_s);
  curl_api().curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, r.follow_redirects ? 1L : 0L);
  curl_api().curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
  curl_api().curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_api().curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_api().curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, o.tls_verify ? 1L : 0L);
  curl_api().curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, o.tls_verify ? 2L : 0L);
  curl_api().curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_api().curl_easy_setopt(h, CURLOPT_TIMEOUT, static_cast<long>(r.timeout.count()));
  if (r.method == "HEAD") {
    curl_api().curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (r.method == "POST" || r.method == "PUT" || r.method == "PATCH") {
    body.body = &r.body;
    body.sent = 0;
    curl_api().curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_api().curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(r.body.length()));
    curl_api().curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
    curl_api().curl_easy_setopt(h, CURLOPT_READDATA, &body);
    curl_api().curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  } else if (r.method != "GET") {
    curl_api().curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  }
}

// The headers of a request, plus "Expect:" (no 100-continue round trip).
CurlHeaders header_list(const HttpRequest& r) {
  CurlHeaders h;
  for (const auto& line : r.headers) {
    h.append(line);
  }
  h.append("Expect:");
  return h;
}

// The CA bundle: the system's plus the extra files, as one PEM blob.
Result<std::string> ca_bundle(const HttpOptions& o) {
  std::string pem;
  const curl_version_info_data* v = curl_api().curl_version_info(CURLVERSION_NOW);
  std::vector<std::filesystem::path> files;
  if (v->cainfo != nullptr) {
    files.emplace_back(v->cainfo);
  }
  files.insert(files.end(), o.ca_files.begin(), o.ca_files.end());
  for (std::size_t i = 0; i < files.size(); ++i) {
    auto bytes = read_whole_file(files[i], 16 << 20);
    if (!bytes) {
      if (i == 0 && v->cainfo != nullptr) {
        continue; // no system bundle: only the given ones
      }
      return bytes.error();
    }
    pem.append(reinterpret_cast<const char*>(bytes->data()), bytes->size());
    pem += '\n';
  }
  return pem;
}

Error transport_error(const HttpRequest& r, CURLcode rc, const char* errbuf) {
  std::string detail = errbuf[0] != 0 ? errbuf : curl_api().curl_easy_strerror(rc);
  return make_error(Errc::io, r.method + " " + r.url + ": " + detail);
}

} // namespace

struct HttpClient::Transfer {
  CURL* easy = nullptr;
  HttpResponse response;
  const Sink* sink = nullptr;
  std::size_t cap = 0;
  bool overflow = false;
  bool stopped = false;
  BodyCursor body;
  char errbuf[CURL_ERROR_SIZE] = {};

  static std::size_t on_header(char* p, std::size_t size, std::size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    take_header_line(std::string_view(p, size * n), t->response.status, t->response.headers);
    return size * n;
  }
  static std::size_t on_write(char* p, std::size_t size, std::size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const std::size_t len = size * n;
    long code = 0;
    curl_api().curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
    if (!is_2xx(code)) {
      const std::size_t room = k_error_body_cap - std::min(k_error_body_cap, t->response.body.size());
      t->response.body.append(p, std::min(room, len));
      return len;
    }
    if (t->sink != nullptr) {
      if (!(*t->sink)(Bytes(reinterpret_cast<const std::uint8_t*>(p), len))) {
        t->stopped = true;
        return 0;
      }
      return len;
    }
    if (t->response.body.size() + len > t->cap) {
      t->overflow = true;
      return 0;
    }
    t->response.body.append(p, len);
    return len;
  }
};

HttpClient::HttpClient(HttpOptions options) : m_options(std::move(options)), m_easy(new_curl_easy()) {}
HttpClient::~HttpClient() = default;

long HttpClient::last_status() const noexcept {
  long code = 0;
  curl_api().curl_easy_getinfo(m_easy.get(), CURLINFO_RESPONSE_CODE, &code);
  return code;
}

Result<void> HttpClient::load_ca() {
  if (m_options.ca_files.empty() || !m_ca_pem.empty()) {
    return {};
  }
  RAFS_TRY_ASSIGN(m_ca_pem, ca_bundle(m_options));
  return {};
}

void HttpClient::configure(const HttpRequest& request, Transfer& t, curl_slist* headers) {
  CURL* h = m_easy.get();
  curl_api().curl_easy_reset(h); // options only: connections stay
  t.easy = h;
  set_common(h, m_options, request, t.body, headers, t.errbuf);
  if (!m_ca_pem.empty()) { // NOCOPY: libcurl keeps the pointer; m_ca_pem outlives the handle's use
    curl_blob blob{m_ca_pem.data(), m_ca_pem.size(), CURL_BLOB_NOCOPY};
    curl_api().curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
  }
  curl_api().curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &Transfer::on_header);
  curl_api().curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  curl_api().curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &Transfer::on_write);
  curl_api().curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
}

namespace {

Result<HttpResponse> finish(CURL* h, const HttpRequest& request, CURLcode rc, bool stopped, bool overflow,
                            std::size_t cap, HttpResponse response, const char* errbuf) {
  if (overflow) {
    return make_error(Errc::overflow, request.method + " " + request.url + ": response larger than " +
                                          std::to_string(cap) + " bytes");
  }
  if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && stopped)) {
    return transport_error(request, rc, errbuf);
  }
  char* url = nullptr;
  curl_api().curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &url);
  response.effective_url = url != nullptr ? url : request.url;
  curl_api().curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

} // namespace

Result<HttpResponse> HttpClient::perform(const HttpRequest& request, std::size_t body_cap) {
  Transfer t;
  t.cap = body_cap;
  RAFS_TRY(load_ca());
  CurlHeaders headers = header_list(request);
  configure(request, t, headers.get());
  CURLcode rc = curl_api().curl_easy_perform(m_easy.get());
  return finish(m_easy.get(), request, rc, t.stopped, t.overflow, body_cap, std::move(t.response), t.errbuf);
}

Result<HttpResponse> HttpClient::perform(const HttpRequest& request, const Sink& sink) {
  Transfer t;
  t.sink = &sink;
  RAFS_TRY(load_ca());
  CurlHeaders headers = header_list(request);
  configure(request, t, headers.get());
  CURLcode rc = curl_api().curl_easy_perform(m_easy.get());
  return finish(m_easy.get(), request, rc, t.stopped, false, 0, std::move(t.response), t.errbuf);
}

// ---- HttpStream ----------------------------------------------------------

struct HttpStream::State {
  HttpRequest request;
  CurlEasy easy = new_curl_easy();
  CurlMulti multi = new_curl_multi();
  CurlHeaders header_lines;
  BodyCursor body;
  std::string ca_pem;
  char errbuf[CURL_ERROR_SIZE] = {};

  long status = 0;
  HttpHeaders headers;
  bool headers_done = false;
  std::string error_body;
  std::vector<std::uint8_t> buf;
  std::size_t pos = 0;
  bool paused = false;
  bool done = false;
  bool attached = false;
  CURLcode result = CURLE_OK;
  std::uint64_t received = 0;
  std::uint64_t events = 0; // callbacks so far: did libcurl deliver anything?

  ~State() {
    if (attached) {
      curl_api().curl_multi_remove_handle(multi.get(), easy.get());
    }
  }

  static std::size_t on_header(char* p, std::size_t size, std::size_t n, void* user) {
    auto* s = static_cast<State*>(user);
    ++s->events;
    if (take_header_line(std::string_view(p, size * n), s->status, s->headers) && s->status >= 200 &&
        !is_followed_redirect(s->status, s->headers, s->request.follow_redirects)) {
      s->headers_done = true;
    }
    return size * n;
  }
  static std::size_t on_write(char* p, std::size_t size, std::size_t n, void* user) {
    auto* s = static_cast<State*>(user);
    const std::size_t len = size * n;
    ++s->events;
    s->headers_done = true;
    if (!is_2xx(s->status)) {
      const std::size_t room = k_error_body_cap - std::min(k_error_body_cap, s->error_body.size());
      s->error_body.append(p, std::min(room, len));
      return len;
    }
    if (s->buf.size() - s->pos >= k_stream_high_water) {
      s->paused = true;
      return CURL_WRITEFUNC_PAUSE;
    }
    s->buf.insert(s->buf.end(), reinterpret_cast<const std::uint8_t*>(p),
                  reinterpret_cast<const std::uint8_t*>(p) + len);
    s->received += len;
    return len;
  }

  // Moves the transfer on; waits (up to 1 s) for the sockets only when
  // libcurl delivered nothing.
  void pump() {
    const std::uint64_t before = events;
    int running = 0;
    CURLMcode mc = curl_api().curl_multi_perform(multi.get(), &running);
    collect();
    if (mc != CURLM_OK && !done) {
      done = true;
      result = CURLE_FAILED_INIT;
      std::snprintf(errbuf, sizeof errbuf, "%s", curl_api().curl_multi_strerror(mc));
      return;
    }
    if (!done && events == before) {
      curl_api().curl_multi_poll(multi.get(), nullptr, 0, 1000, nullptr);
    }
  }
  void collect() {
    int left = 0;
    while (CURLMsg* m = curl_api().curl_multi_info_read(multi.get(), &left)) {
      if (m->msg == CURLMSG_DONE) {
        done = true;
        result = m->data.result;
      }
    }
  }
  Error failure() const {
    std::string detail = errbuf[0] != 0 ? errbuf : curl_api().curl_easy_strerror(result);
    return make_error(Errc::io, request.method + " " + request.url + ": " + detail + " (after " +
                                    std::to_string(received) + " bytes of the body)");
  }
};

Result<std::unique_ptr<HttpStream>> HttpStream::open(const HttpOptions& options, const HttpRequest& request) {
  auto s = std::make_unique<State>();
  s->request = request;
  s->request.method = "GET";
  if (!options.ca_files.empty()) {
    RAFS_TRY_ASSIGN(s->ca_pem, ca_bundle(options));
  }
  for (const auto& line : s->request.headers) {
    s->header_lines.append(line);
  }
  CURL* h = s->easy.get();
  set_common(h, options, s->request, s->body, s->header_lines.get(), s->errbuf);
  if (!s->ca_pem.empty()) {
    curl_blob blob{s->ca_pem.data(), s->ca_pem.size(), CURL_BLOB_NOCOPY};
    curl_api().curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
  }
  curl_api().curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &State::on_header);
  curl_api().curl_easy_setopt(h, CURLOPT_HEADERDATA, s.get());
  curl_api().curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &State::on_write);
  curl_api().curl_easy_setopt(h, CURLOPT_WRITEDATA, s.get());
  curl_api().curl_multi_add_handle(s->multi.get(), h);
  s->attached = true;
  while (!s->headers_done && !s->done) {
    s->pump();
  }
  if (s->done && s->result != CURLE_OK) {
    return s->failure();
  }
  if (!is_2xx(s->status)) {
    while (!s->done) {
      s->pump();
    }
  }
  return std::unique_ptr<HttpStream>(new HttpStream(std::move(s)));
}

HttpStream::HttpStream(std::unique_ptr<State> state) : m_state(std::move(state)) {}
HttpStream::~HttpStream() = default;

long HttpStream::status() const noexcept { return m_state->status; }
const HttpHeaders& HttpStream::headers() const noexcept { return m_state->headers; }
const std::string& HttpStream::error_body() const noexcept { return m_state->error_body; }
std::uint64_t HttpStream::bytes_received() const noexcept { return m_state->received; }

Result<std::size_t> HttpStream::read(MutableBytes out) {
  State& s = *m_state;
  if (!is_2xx(s.status)) {
    return std::size_t{0};
  }
  while (s.pos == s.buf.size()) {
    if (s.done) {
      if (s.result != CURLE_OK) {
        return s.failure();
      }
      return std::size_t{0};
    }
    s.buf.clear();
    s.pos = 0;
    if (s.paused) {
      s.paused = false;
      curl_api().curl_easy_pause(s.easy.get(), CURLPAUSE_CONT);
    }
    s.pump();
  }
  const std::size_t n = std::min(out.size(), s.buf.size() - s.pos);
  std::memcpy(out.data(), s.buf.data() + s.pos, n);
  s.pos += n;
  return n;
}

} // namespace rafs::net
