// parse_config: nydusd's v1 rafs config JSON, with nydusd's defaults and
// rules, and schemas/mount-config.schema.json agreeing with it.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "runtime/config.hpp"
#include "support/run.hpp"
#include "support/temp_dir.hpp"

namespace {

using rafs::Errc;
using rafs::runtime::parse_config;
using rafs::runtime::RuntimeConfig;

const std::string k_name = "/etc/rafs/cfg.json";

RuntimeConfig parse_ok(const std::string& json) {
  auto r = parse_config(json, k_name);
  INFO(json);
  if (!r) {
    FAIL(r.error().message);
  }
  return *r;
}

// The error message, which must be one line starting with "<file>: <key>: ".
std::string parse_error(const std::string& json, const std::string& key, Errc code = Errc::invalid_argument) {
  auto r = parse_config(json, k_name);
  INFO(json);
  REQUIRE(!r.ok());
  const std::string& m = r.error().message;
  CHECK(m.find('\n') == std::string::npos);
  CHECK(m.rfind(k_name + ": " + key + ": ", 0) == 0);
  CHECK(r.error().code == code);
  return m;
}

// A valid v1 config around extra top-level members.
std::string with(const std::string& members) {
  return "{\"mode\": \"direct\"" + (members.empty() ? "" : ", " + members) + "}";
}

} // namespace

TEST_SUITE("runtime::config") {
  TEST_CASE("a minimal config is direct mode, no cache, no prefetch, amplify_io 1 MiB") {
    const RuntimeConfig c = parse_ok(with(""));
    CHECK(c.mode == "direct");
    CHECK(!c.cache_enabled);
    CHECK(c.blob_dir.empty());
    CHECK(c.amplify_io == 1 << 20);
    CHECK(!c.digest_validate);
    CHECK(!c.enable_xattr);
    CHECK(!c.prefetch.enable);
    CHECK(c.prefetch.threads_count == 0);
    CHECK(c.prefetch.merging_size == 0);
    CHECK(!c.prefetch.prefetch_all);
  }

  TEST_CASE("nydusd's documented localfs + blobcache config reads every field") {
    const RuntimeConfig c = parse_ok(R"({
      "device": {
        "id": "img",
        "backend": {"type": "localfs", "config": {"dir": "/var/lib/nydus/blobs", "readahead": true,
                     "alt_dirs": ["/a", "/b"], "blob_file": "/one"}},
        "cache": {"type": "blobcache", "compressed": true, "validate": true,
                  "config": {"work_dir": "/var/lib/nydus/cache"}}
      },
      "mode": "cached",
      "digest_validate": true,
      "iostats_files": false,
      "enable_xattr": true,
      "access_pattern": true,
      "latest_read_files": false,
      "amplify_io": 4096,
      "fs_prefetch": {"enable": true, "threads_count": 4, "merging_size": 131072,
                      "bandwidth_rate": 10485760, "prefetch_all": false, "stream_prefetch": true}
    })");
    CHECK(c.blob_dir == "/var/lib/nydus/blobs");
    CHECK(c.blob_file == "/one");
    CHECK(c.alt_dirs == std::vector<std::filesystem::path>{"/a", "/b"});
    CHECK(c.cache_enabled);
    CHECK(c.cache_dir == "/var/lib/nydus/cache");
    CHECK(c.cache_validate);
    CHECK(c.mode == "cached");
    CHECK(c.digest_validate);
    CHECK(c.enable_xattr);
    CHECK(c.amplify_io == 4096);
    CHECK(c.prefetch.enable);
    CHECK(c.prefetch.threads_count == 4);
    CHECK(c.prefetch.merging_size == 131072);
    CHECK(c.prefetch.bandwidth_rate == 10485760);
    CHECK(!c.prefetch.prefetch_all);
  }

  TEST_CASE("fs_prefetch defaults: absent means all off and zero, present fills 8 threads, 1 MiB, prefetch_all") {
    SUBCASE("absent") {
      const RuntimeConfig c = parse_ok(with(""));
      CHECK(c.prefetch.threads_count == 0);
      CHECK(c.prefetch.merging_size == 0);
      CHECK(c.prefetch.bandwidth_rate == 0);
      CHECK(!c.prefetch.prefetch_all);
      CHECK(!c.prefetch.enable);
    }
    SUBCASE("present and empty") {
      const RuntimeConfig c = parse_ok(with(R"("fs_prefetch": {})"));
      CHECK(!c.prefetch.enable);
      CHECK(c.prefetch.threads_count == 8);
      CHECK(c.prefetch.merging_size == 1 << 20);
      CHECK(c.prefetch.bandwidth_rate == 0);
      CHECK(c.prefetch.prefetch_all);
    }
    SUBCASE("present with enable only") {
      const RuntimeConfig c = parse_ok(with(R"("fs_prefetch": {"enable": true})"));
      CHECK(c.prefetch.enable);
      CHECK(c.prefetch.threads_count == 8);
      CHECK(c.prefetch.prefetch_all);
    }
  }

  TEST_CASE("threads_count must be 1..1024 only when prefetch is enabled") {
    parse_error(with(R"("fs_prefetch": {"enable": true, "threads_count": 0})"), "fs_prefetch.threads_count");
    parse_error(with(R"("fs_prefetch": {"enable": true, "threads_count": 1025})"), "fs_prefetch.threads_count");
    CHECK(parse_ok(with(R"("fs_prefetch": {"enable": true, "threads_count": 1024})")).prefetch.threads_count == 1024);
    CHECK(parse_ok(with(R"("fs_prefetch": {"enable": true, "threads_count": 1})")).prefetch.threads_count == 1);
    CHECK(parse_ok(with(R"("fs_prefetch": {"enable": false, "threads_count": 0})")).prefetch.threads_count == 0);
  }

  TEST_CASE("merging_size and amplify_io are at most 0x10000000, bandwidth_rate fits in u32") {
    CHECK(parse_ok(with(R"("amplify_io": 268435456)")).amplify_io == 0x10000000);
    CHECK(parse_ok(with(R"("amplify_io": 0)")).amplify_io == 0);
    parse_error(with(R"("amplify_io": 268435457)"), "amplify_io");
    CHECK(parse_ok(with(R"("fs_prefetch": {"merging_size": 268435456})")).prefetch.merging_size == 0x10000000);
    parse_error(with(R"("fs_prefetch": {"merging_size": 268435457})"), "fs_prefetch.merging_size");
    CHECK(parse_ok(with(R"("fs_prefetch": {"bandwidth_rate": 4294967295})")).prefetch.bandwidth_rate ==
          4294967295U);
    parse_error(with(R"("fs_prefetch": {"bandwidth_rate": 4294967296})"), "fs_prefetch.bandwidth_rate");
  }

  TEST_CASE("mode is required and is direct or cached") {
    const std::string m = parse_error("{}", "mode");
    CHECK(m.find("missing") != std::string::npos);
    parse_error(R"({"mode": "lazy"})", "mode");
    parse_error(R"({"mode": 1})", "mode");
    CHECK(parse_ok(R"({"mode": "cached"})").mode == "cached");
  }

  TEST_CASE("a wrong type names the key, nested keys with dots") {
    parse_error(with(R"("digest_validate": "yes")"), "digest_validate");
    parse_error(with(R"("enable_xattr": 1)"), "enable_xattr");
    parse_error(with(R"("iostats_files": null)"), "iostats_files");
    parse_error(with(R"("amplify_io": -1)"), "amplify_io");
    parse_error(with(R"("amplify_io": 1.5)"), "amplify_io");
    parse_error(with(R"("amplify_io": "1M")"), "amplify_io");
    parse_error(with(R"("device": [])"), "device");
    parse_error(with(R"("fs_prefetch": true)"), "fs_prefetch");
    parse_error(with(R"("fs_prefetch": {"enable": 1})"), "fs_prefetch.enable");
    parse_error(with(R"("fs_prefetch": {"prefetch_all": "no"})"), "fs_prefetch.prefetch_all");
    parse_error(with(R"("fs_prefetch": {"stream_prefetch": 0})"), "fs_prefetch.stream_prefetch");
    parse_error(with(R"("fs_prefetch": {"threads_count": -2})"), "fs_prefetch.threads_count");
    parse_error(with(R"("device": {"backend": {"type": "localfs", "config": {"dir": 5}}})"),
                "device.backend.config.dir");
    parse_error(with(R"("device": {"backend": {"type": "localfs", "config": {"alt_dirs": "/a"}}})"),
                "device.backend.config.alt_dirs");
    parse_error(with(R"("device": {"backend": {"type": "localfs", "config": {"alt_dirs": ["/a", 1]}}})"),
                "device.backend.config.alt_dirs");
    parse_error(with(R"("device": {"backend": {"type": "localfs", "config": []}})"), "device.backend.config");
    parse_error(with(R"("device": {"cache": {"type": "blobcache", "compressed": "no"}})"),
                "device.cache.compressed");
    parse_error(with(R"("device": {"cache": {"validate": 1}})"), "device.cache.validate");
    parse_error(with(R"("device": {"cache": {"type": "blobcache", "config": {"work_dir": 1}}})"),
                "device.cache.config.work_dir");
  }

  TEST_CASE("backends other than localfs and registry are refused: known ones as not supported yet") {
    for (const char* type : {"oss", "s3", "localdisk", "http-proxy"}) {
      CAPTURE(type);
      const std::string m = parse_error(
          with(R"("device": {"backend": {"type": ")" + std::string(type) + R"(", "config": {"host": "h"}}})"),
          "device.backend.type", Errc::unsupported);
      CHECK(m.find("not supported yet") != std::string::npos);
    }
    const std::string m = parse_error(with(R"("device": {"backend": {"type": "ftp"}})"), "device.backend.type");
    CHECK(m.find("unknown backend type") != std::string::npos);
    parse_error(with(R"("device": {"backend": {"config": {"dir": "/x"}}})"), "device.backend.type");
  }

  TEST_CASE("the registry backend reads nydusd's fields, with timeouts of 5 s and no retries by default") {
    const RuntimeConfig d = parse_ok(with(R"("device": {"backend": {"type": "registry", "config": {"host": "reg:5000", "repo": "team/app"}}})"));
    CHECK(d.backend == rafs::runtime::BackendType::registry);
    CHECK(d.registry.host == "reg:5000");
    CHECK(d.registry.repo == "team/app");
    CHECK(d.registry.scheme == "");
    CHECK(d.registry.timeout_s == 5);
    CHECK(d.registry.connect_timeout_s == 5);
    CHECK(d.registry.retry_limit == 0);
    CHECK(!d.registry.skip_verify);
    const RuntimeConfig c = parse_ok(with(R"("device": {"backend": {"type": "registry", "config": {
        "scheme": "http", "host": "h", "repo": "r", "auth": "dTpw", "registry_token": "tok", "skip_verify": true,
        "ca_cert_files": ["/ca.pem"], "timeout": 30, "connect_timeout": 2, "retry_limit": 4,
        "blob_url_scheme": "https", "proxy": {}}}})"));
    CHECK(c.registry.scheme == "http");
    CHECK(c.registry.auth == "dTpw");
    CHECK(c.registry.registry_token == "tok");
    CHECK(c.registry.skip_verify);
    CHECK(c.registry.ca_cert_files == std::vector<std::filesystem::path>{"/ca.pem"});
    CHECK(c.registry.timeout_s == 30);
    CHECK(c.registry.connect_timeout_s == 2);
    CHECK(c.registry.retry_limit == 4);
    parse_error(with(R"("device": {"backend": {"type": "registry"}})"), "device.backend.config");
    parse_error(with(R"("device": {"backend": {"type": "registry", "config": {"repo": "r"}}})"),
                "device.backend.config.host");
    parse_error(with(R"("device": {"backend": {"type": "registry", "config": {"host": "h"}}})"),
                "device.backend.config.repo");
    parse_error(with(R"("device": {"backend": {"type": "registry", "config": {"host": "h", "repo": "r", "scheme": "ftp"}}})"),
                "device.backend.config.scheme");
    parse_error(with(R"("device": {"backend": {"type": "registry", "config": {"host": "h", "repo": "r", "timeout": 0}}})"),
                "device.backend.config.timeout");
    parse_error(with(R"("device": {"backend": {"type": "registry", "config": {"host": "h", "repo": "r", "retry_limit": 101}}})"),
                "device.backend.config.retry_limit");
    parse_error(with(R"("device": {"backend": {"type": "registry", "config": {"host": "h", "repo": "r", "ca_cert_files": "x"}}})"),
                "device.backend.config.ca_cert_files");
  }

  TEST_CASE("cache types: none, dummycache, blobcache and filecache, while fscache and others are refused") {
    CHECK(!parse_ok(with(R"("device": {"cache": {"type": ""}})")).cache_enabled);
    CHECK(!parse_ok(with(R"("device": {"cache": {"type": "dummycache", "config": {"work_dir": "/c"}}})"))
               .cache_enabled);
    for (const char* type : {"blobcache", "filecache"}) {
      CAPTURE(type);
      const RuntimeConfig c = parse_ok(
          with(R"("device": {"cache": {"type": ")" + std::string(type) + R"(", "config": {"work_dir": "/c"}}})"));
      CHECK(c.cache_enabled);
      CHECK(c.cache_dir == "/c");
    }
    // nydusd's work_dir default is "."; an empty one is refused.
    CHECK(parse_ok(with(R"("device": {"cache": {"type": "blobcache"}})")).cache_dir == ".");
    parse_error(with(R"("device": {"cache": {"type": "blobcache", "config": {"work_dir": ""}}})"),
                "device.cache.config.work_dir");
    parse_error(with(R"("device": {"cache": {"type": "fscache"}})"), "device.cache.type", Errc::unsupported);
    parse_error(with(R"("device": {"cache": {"type": "lru"}})"), "device.cache.type");
  }

  TEST_CASE("unknown keys are ignored at every level, as nydusd does") {
    const RuntimeConfig c = parse_ok(R"({"mode": "direct", "readahead": true, "whatever": [1, 2],
      "device": {"backend": {"type": "localfs", "config": {"dir": "/b", "prefetch": 1}, "extra": {}},
                 "cache": {"type": "blobcache", "config": {"work_dir": "/c", "disable_indexed_map": true}},
                 "more": null},
      "fs_prefetch": {"enable": false, "batch_size": "x"}})");
    CHECK(c.blob_dir == "/b");
    CHECK(c.cache_dir == "/c");
  }

  TEST_CASE("text that is not a JSON object, or a v2 config, fails naming the file") {
    auto bad = parse_config("{\"mode\": ", k_name);
    REQUIRE(!bad.ok());
    CHECK(bad.error().message.rfind(k_name + ": not valid JSON", 0) == 0);
    CHECK(bad.error().message.find('\n') == std::string::npos);
    auto arr = parse_config("[1]", k_name);
    REQUIRE(!arr.ok());
    CHECK(arr.error().message.rfind(k_name + ": ", 0) == 0);
    parse_error(R"({"version": 2, "backend": {"type": "localfs"}})", "version", Errc::unsupported);
  }

  TEST_CASE("schemas/mount-config.schema.json accepts exactly the configs parse_config accepts") {
    struct Case {
      std::string json;
      bool valid;
    };
    const std::vector<Case> cases{
        {with(""), true},
        {R"({"device": {"backend": {"type": "localfs", "config": {"dir": "/b"}},
             "cache": {"type": "blobcache", "config": {"work_dir": "/c"}}},
             "mode": "direct", "digest_validate": false, "iostats_files": false, "enable_xattr": true,
             "amplify_io": 1048576,
             "fs_prefetch": {"enable": true, "threads_count": 8, "merging_size": 1048576,
                             "bandwidth_rate": 0, "prefetch_all": true, "stream_prefetch": false}})",
         true},
        {with(R"("device": {"cache": {"type": "dummycache"}}, "unknown": 1)"), true},
        {with(R"("fs_prefetch": {"enable": false, "threads_count": 0})"), true},
        {"{}", false},
        {R"({"mode": "lazy"})", false},
        {with(R"("device": {"backend": {"type": "registry", "config": {"host": "h", "repo": "r"}}})"), true},
        {with(R"("device": {"backend": {"type": "registry", "config": {"host": "h", "repo": "r", "scheme": "http",
             "timeout": 9, "retry_limit": 2, "skip_verify": true, "ca_cert_files": ["/c"]}}})"), true},
        {with(R"("device": {"backend": {"type": "registry", "config": {"host": "h"}}})"), false},
        {with(R"("device": {"backend": {"type": "registry", "config": {"host": "h", "repo": "r", "timeout": 0}}})"), false},
        {with(R"("device": {"backend": {"type": "oss", "config": {"host": "h", "repo": "r"}}})"), false},
        {with(R"("device": {"backend": {"config": {"dir": "/b"}}})"), false},
        {with(R"("device": {"cache": {"type": "fscache"}})"), false},
        {with(R"("device": {"cache": {"type": "filecache", "config": {"work_dir": ""}}})"), false},
        {with(R"("fs_prefetch": {"enable": true, "threads_count": 0})"), false},
        {with(R"("fs_prefetch": {"enable": true, "threads_count": 2000})"), false},
        {with(R"("fs_prefetch": {"merging_size": 268435457})"), false},
        {with(R"("amplify_io": -1)"), false},
        {with(R"("enable_xattr": "true")"), false},
        {R"({"version": 2, "mode": "direct"})", false},
    };
    rafs::test::TempDir tmp;
    for (std::size_t i = 0; i < cases.size(); ++i) {
      const Case& c = cases[i];
      CAPTURE(c.json);
      CHECK(parse_config(c.json, k_name).ok() == c.valid);
      const auto doc = tmp / ("cfg" + std::to_string(i) + ".json");
      rafs::test::write_file(doc, std::vector<std::uint8_t>(c.json.begin(), c.json.end()));
      auto v = rafs::test::run({"/usr/bin/python3", RAFS_SOURCE_DIR "/ci/validate_json.py",
                                RAFS_SOURCE_DIR "/schemas/mount-config.schema.json", doc.string()});
      INFO(v.out << v.err);
      CHECK(v.err == "");
      CHECK(v.exit_code == (c.valid ? 0 : 1));
    }
  }
}
