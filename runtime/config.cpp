// nydusd's legacy (v1) "rafs config" JSON -> RuntimeConfig.
//
// The rules follow nydusd (nydus-reference §5.1, §5.2): unknown keys are
// ignored, every key we know is type-checked, `mode` is required, and the
// fs_prefetch defaults depend on whether the object is present (absent: all
// off and zero; present: threads 8, merging 1 MiB, prefetch_all true for the
// keys it lacks). Errors read "<file>: <key>: <problem>".
#include "runtime/config.hpp"

#include <nlohmann/json.hpp>

#include <limits>

namespace rafs::runtime {

namespace {

using nlohmann::json;

constexpr std::uint64_t k_max_io_size = 0x10000000; // amplify_io, merging_size
constexpr std::uint64_t k_max_threads = 1024;

// Reads the known keys of one JSON object, naming them "a.b.c" in errors.
class Reader {
public:
  Reader(const json& object, std::string prefix, const std::string& file)
      : m_obj(object), m_prefix(std::move(prefix)), m_file(file) {}

  std::string key(std::string_view k) const { return m_prefix + std::string(k); }
  Error bad(std::string_view k, const std::string& what, Errc code = Errc::invalid_argument) const {
    return make_error(code, m_file + ": " + key(k) + ": " + what);
  }
  const json* find(std::string_view k) const {
    auto it = m_obj.find(std::string(k));
    return it == m_obj.end() ? nullptr : &*it;
  }

  Result<bool> get_bool(std::string_view k, bool fallback) const {
    const json* v = find(k);
    if (v == nullptr) {
      return fallback;
    }
    if (!v->is_boolean()) {
      return bad(k, "expected true or false, got " + describe(*v));
    }
    return v->get<bool>();
  }

  Result<std::string> get_string(std::string_view k, std::string fallback) const {
    const json* v = find(k);
    if (v == nullptr) {
      return fallback;
    }
    if (!v->is_string()) {
      return bad(k, "expected a string, got " + describe(*v));
    }
    return v->get<std::string>();
  }

  // A non-negative integer no larger than `max`.
  Result<std::uint64_t> get_uint(std::string_view k, std::uint64_t fallback, std::uint64_t max) const {
    const json* v = find(k);
    if (v == nullptr) {
      return fallback;
    }
    if (!v->is_number_unsigned()) {
      return bad(k, "expected a non-negative integer, got " + describe(*v));
    }
    const auto n = v->get<std::uint64_t>();
    if (n > max) {
      return bad(k, std::to_string(n) + " is above the maximum " + std::to_string(max));
    }
    return n;
  }

  // An array of strings (paths); empty when absent.
  Result<std::vector<std::filesystem::path>> get_paths(std::string_view k) const {
    std::vector<std::filesystem::path> out;
    const json* v = find(k);
    if (v == nullptr) {
      return out;
    }
    if (!v->is_array()) {
      return bad(k, "expected an array of strings, got " + describe(*v));
    }
    for (const json& item : *v) {
      if (!item.is_string()) {
        return bad(k, "expected an array of strings, found " + describe(item));
      }
      out.emplace_back(item.get<std::string>());
    }
    return out;
  }

  // A nested object, or nullptr when absent.
  Result<const json*> get_object(std::string_view k) const {
    const json* v = find(k);
    if (v != nullptr && !v->is_object()) {
      return bad(k, "expected an object, got " + describe(*v));
    }
    return v;
  }

  Reader child(const json& object, std::string_view k) const {
    return Reader(object, key(k) + ".", m_file);
  }

  static std::string describe(const json& v) {
    if (v.is_number_integer() && !v.is_number_unsigned()) {
      return "negative number " + v.dump();
    }
    if (v.is_number_float()) {
      return "number " + v.dump();
    }
    return std::string(v.type_name());
  }

private:
  const json& m_obj;
  std::string m_prefix;
  const std::string& m_file;
};

constexpr std::uint64_t k_max_timeout_s = 3600;
constexpr std::uint64_t k_max_retries = 100;

Result<void> parse_registry(const Reader& r, const json& config, RuntimeConfig& c) {
  const Reader lc = r.child(config, "config");
  RegistryBackendConfig& g = c.registry;
  RAFS_TRY_ASSIGN(g.scheme, lc.get_string("scheme", ""));
  if (!g.scheme.empty() && g.scheme != "https" && g.scheme != "http") {
    return lc.bad("scheme", "expected \"https\" or \"http\", got \"" + g.scheme + "\"");
  }
  RAFS_TRY_ASSIGN(g.host, lc.get_string("host", ""));
  RAFS_TRY_ASSIGN(g.repo, lc.get_string("repo", ""));
  if (g.host.empty()) {
    return lc.bad("host", "missing (host[:port] of the registry)");
  }
  if (g.repo.empty()) {
    return lc.bad("repo", "missing (namespace/repo, no tag)");
  }
  RAFS_TRY_ASSIGN(g.auth, lc.get_string("auth", ""));
  RAFS_TRY_ASSIGN(g.registry_token, lc.get_string("registry_token", ""));
  RAFS_TRY_ASSIGN(g.skip_verify, lc.get_bool("skip_verify", false));
  RAFS_TRY_ASSIGN(g.timeout_s, lc.get_uint("timeout", 5, k_max_timeout_s));
  RAFS_TRY_ASSIGN(g.connect_timeout_s, lc.get_uint("connect_timeout", 5, k_max_timeout_s));
  RAFS_TRY_ASSIGN(const std::uint64_t retries, lc.get_uint("retry_limit", 0, k_max_retries));
  g.retry_limit = static_cast<unsigned>(retries);
  if (g.timeout_s == 0) {
    return lc.bad("timeout", "must be at least 1 second");
  }
  RAFS_TRY_ASSIGN(g.ca_cert_files, lc.get_paths("ca_cert_files"));
  c.backend = BackendType::registry;
  return {};
}

Result<void> parse_backend(const Reader& device, const json& backend, RuntimeConfig& c) {
  const Reader r = device.child(backend, "backend");
  const json* type = r.find("type");
  if (type == nullptr) {
    return r.bad("type", "missing (\"localfs\" or \"registry\")");
  }
  RAFS_TRY_ASSIGN(const std::string t, r.get_string("type", ""));
  if (t == "oss" || t == "s3" || t == "localdisk" || t == "http-proxy") {
    return r.bad("type", "the " + t + " backend is not supported yet (localfs and registry are)", Errc::unsupported);
  }
  if (t == "registry") {
    RAFS_TRY_ASSIGN(const json* config, r.get_object("config"));
    if (config == nullptr) {
      return r.bad("config", "missing (the registry backend needs host and repo)");
    }
    return parse_registry(r, *config, c);
  }
  if (t != "localfs") {
    return r.bad("type", "unknown backend type \"" + t + "\" (expected \"localfs\" or \"registry\")");
  }
  c.backend = BackendType::localfs;
  RAFS_TRY_ASSIGN(const json* config, r.get_object("config"));
  if (config == nullptr) {
    return {};
  }
  const Reader lc = r.child(*config, "config");
  RAFS_TRY_ASSIGN(const std::string dir, lc.get_string("dir", ""));
  RAFS_TRY_ASSIGN(const std::string blob_file, lc.get_string("blob_file", ""));
  c.blob_dir = dir;
  c.blob_file = blob_file;
  RAFS_TRY_ASSIGN(c.alt_dirs, lc.get_paths("alt_dirs"));
  return {};
}

Result<void> parse_cache(const Reader& device, const json& cache, RuntimeConfig& c) {
  const Reader r = device.child(cache, "cache");
  RAFS_TRY_ASSIGN(const std::string type, r.get_string("type", ""));
  RAFS_TRY(r.get_bool("compressed", false)); // "not used anymore" upstream
  RAFS_TRY_ASSIGN(c.cache_validate, r.get_bool("validate", false));
  if (type == "fscache") {
    return r.bad("type", "fscache (EROFS over fscache, RAFS v6) is not supported", Errc::unsupported);
  }
  if (type != "" && type != "dummycache" && type != "blobcache" && type != "filecache") {
    return r.bad("type", "unknown cache type \"" + type +
                             "\" (expected \"blobcache\", \"filecache\", \"dummycache\" or \"\")");
  }
  c.cache_enabled = type == "blobcache" || type == "filecache";
  RAFS_TRY_ASSIGN(const json* config, r.get_object("config"));
  std::string work_dir = ".";
  if (config != nullptr) {
    RAFS_TRY_ASSIGN(work_dir, r.child(*config, "config").get_string("work_dir", "."));
    if (c.cache_enabled && work_dir.empty()) {
      return r.child(*config, "config").bad("work_dir", "must not be empty for a " + type);
    }
  }
  if (c.cache_enabled) {
    c.cache_dir = work_dir;
  }
  return {};
}

Result<void> parse_device(const Reader& top, RuntimeConfig& c) {
  RAFS_TRY_ASSIGN(const json* device, top.get_object("device"));
  if (device == nullptr) {
    return {};
  }
  const Reader r = top.child(*device, "device");
  RAFS_TRY(r.get_string("id", ""));
  RAFS_TRY_ASSIGN(const json* backend, r.get_object("backend"));
  if (backend != nullptr) {
    RAFS_TRY(parse_backend(r, *backend, c));
  }
  RAFS_TRY_ASSIGN(const json* cache, r.get_object("cache"));
  if (cache != nullptr) {
    RAFS_TRY(parse_cache(r, *cache, c));
  }
  return {};
}

// Absent object: everything off and zero. Present: nydusd's serde defaults
// (threads 8, merging 1 MiB, prefetch_all true) for the keys it lacks.
Result<void> parse_prefetch(const Reader& top, RuntimeConfig& c) {
  RAFS_TRY_ASSIGN(const json* object, top.get_object("fs_prefetch"));
  if (object == nullptr) {
    c.prefetch = PrefetchConfig{};
    return {};
  }
  const Reader r = top.child(*object, "fs_prefetch");
  PrefetchConfig& p = c.prefetch;
  RAFS_TRY_ASSIGN(p.enable, r.get_bool("enable", false));
  RAFS_TRY_ASSIGN(const std::uint64_t threads,
                  r.get_uint("threads_count", 8, std::numeric_limits<std::uint32_t>::max()));
  if (p.enable && (threads < 1 || threads > k_max_threads)) {
    return r.bad("threads_count", std::to_string(threads) + " is outside 1..1024 (fs_prefetch is enabled)");
  }
  p.threads_count = static_cast<unsigned>(threads);
  RAFS_TRY_ASSIGN(p.merging_size, r.get_uint("merging_size", 1 << 20, k_max_io_size));
  RAFS_TRY_ASSIGN(p.bandwidth_rate,
                  r.get_uint("bandwidth_rate", 0, std::numeric_limits<std::uint32_t>::max()));
  RAFS_TRY_ASSIGN(p.prefetch_all, r.get_bool("prefetch_all", true));
  RAFS_TRY(r.get_bool("stream_prefetch", false)); // Dragonfly-proxy streaming: not applicable
  return {};
}

} // namespace

Result<RuntimeConfig> parse_config(std::string_view text, const std::string& name) {
  json doc;
  try {
    doc = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    return make_error(Errc::invalid_argument, name + ": not valid JSON: " + e.what());
  }
  if (!doc.is_object()) {
    return make_error(Errc::invalid_argument,
                      name + ": expected a JSON object (nydusd's v1 rafs config), got " +
                          std::string(doc.type_name()));
  }
  const Reader top(doc, "", name);
  if (const json* v = top.find("version"); v != nullptr && *v == 2) {
    return top.bad("version", "the v2 config format is not supported; use the v1 rafs config "
                              "(device, mode, fs_prefetch...)",
                   Errc::unsupported);
  }
  RuntimeConfig c;
  RAFS_TRY(parse_device(top, c));
  if (top.find("mode") == nullptr) {
    return top.bad("mode", "missing (required: \"direct\" or \"cached\")");
  }
  RAFS_TRY_ASSIGN(c.mode, top.get_string("mode", ""));
  if (c.mode != "direct" && c.mode != "cached") {
    return top.bad("mode", "\"" + c.mode + "\" is neither \"direct\" nor \"cached\"");
  }
  RAFS_TRY_ASSIGN(c.digest_validate, top.get_bool("digest_validate", false));
  RAFS_TRY_ASSIGN(c.enable_xattr, top.get_bool("enable_xattr", false));
  for (const char* ignored : {"iostats_files", "access_pattern", "latest_read_files"}) {
    RAFS_TRY(top.get_bool(ignored, false));
  }
  RAFS_TRY_ASSIGN(c.amplify_io, top.get_uint("amplify_io", 1 << 20, k_max_io_size));
  RAFS_TRY(parse_prefetch(top, c));
  return c;
}

} // namespace rafs::runtime
