// Sizes that layers and JSON files declare and that lie, through the rafs
// binary: tar entries claiming huge sizes (plain and sparse), PAX headers and
// xattrs beyond the caps, OCI JSON past its cap. Each fails with one line
// naming the input, before allocating in proportion to the claim; where a
// cap decides, the capped value itself is accepted and one more is refused.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "format/bootstrap.hpp"
#include "format/layout.hpp"
#include "support/oci_maker.hpp"
#include "support/run.hpp"
#include "support/tar_maker.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using Buf = std::vector<std::uint8_t>;
using rafs::test::run_rafs;
using rafs::test::RunResult;
using rafs::test::TempDir;

constexpr std::uint64_t k_pax_cap = 1 << 20;       // libarchive's limit on one PAX header
constexpr std::uint64_t k_json_cap = 16 << 20;     // builder/oci_image.cpp
constexpr std::uint64_t k_config_cap = 1 << 20;    // cli/cmd_mount.cpp

// `text` then spaces up to exactly `size` bytes.
std::string padded(const std::string& text, std::uint64_t size) { return text + std::string(size - text.size(), ' '); }

void append(Buf& out, const std::string& s) { out.insert(out.end(), s.begin(), s.end()); }

void pad_block(Buf& out) { out.resize((out.size() + 511) / 512 * 512, 0); }

// One 512-byte ustar header. The size is octal, or base-256 when it needs
// more than 11 octal digits.
Buf ustar_header(const std::string& name, char type, std::uint64_t size) {
  Buf h(512, 0);
  auto put = [&h](std::size_t at, const std::string& s) {
    std::copy(s.begin(), s.end(), h.begin() + static_cast<std::ptrdiff_t>(at));
  };
  put(0, name);
  put(100, "0000644");
  put(108, "0000000");
  put(116, "0000000");
  if (size < (std::uint64_t{1} << 33)) {
    char digits[12];
    std::snprintf(digits, sizeof digits, "%011llo", static_cast<unsigned long long>(size));
    put(124, digits);
  } else {
    h[124] = 0x80;
    for (std::size_t i = 0; i < 8; ++i) {
      h[135 - i] = static_cast<std::uint8_t>(size >> (8 * i));
    }
  }
  put(136, "14524153400"); // mtime 1700000000
  h[156] = static_cast<std::uint8_t>(type);
  put(257, "ustar");
  put(263, "00");
  std::fill(h.begin() + 148, h.begin() + 156, ' ');
  const unsigned sum = std::accumulate(h.begin(), h.end(), 0u);
  char check[8];
  std::snprintf(check, sizeof check, "%06o", sum);
  put(148, check);
  h[154] = 0;
  return h;
}

// A PAX record "LEN key=value\n", LEN counting itself.
std::string pax_record(const std::string& key, const std::string& value) {
  const std::size_t body = key.size() + value.size() + 3; // space, '=', newline
  std::size_t len = body + 1;
  while (std::to_string(len).size() + body != len) {
    len = std::to_string(len).size() + body;
  }
  return std::to_string(len) + " " + key + "=" + value + "\n";
}

// A regular file entry, preceded by a PAX header of `records` when given;
// `data` is what the archive carries (the declared size may differ).
void add_entry(Buf& tar, const std::string& name, std::uint64_t declared, const std::string& data,
               const std::string& records = {}) {
  if (!records.empty()) {
    const Buf h = ustar_header("PaxHeader/" + name, 'x', records.size());
    tar.insert(tar.end(), h.begin(), h.end());
    append(tar, records);
    pad_block(tar);
  }
  const Buf h = ustar_header(name, '0', declared);
  tar.insert(tar.end(), h.begin(), h.end());
  append(tar, data);
  pad_block(tar);
}

Buf end_of_archive(Buf tar) {
  tar.resize(tar.size() + 1024, 0);
  return tar;
}

struct Created {
  RunResult run;
  fs::path out;
};

Created create(const TempDir& tmp, const std::string& name, const Buf& layer,
               const std::vector<std::string>& extra = {}) {
  const fs::path path = tmp / name;
  rafs::test::write_file(path, layer);
  Created c{{}, tmp / ("out-" + name)};
  fs::create_directories(c.out);
  std::vector<std::string> args{"create", path.string(), "-B", (c.out / "image.boot").string(), "-D", c.out.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  c.run = run_rafs(args);
  return c;
}

// Exit 1, exactly `message` after "rafs: LAYER: ", and nothing written.
void expect_refused(const TempDir& tmp, const std::string& name, const Buf& layer, const std::string& message,
                    const std::vector<std::string>& extra = {}) {
  CAPTURE(name);
  const Created c = create(tmp, name, layer, extra);
  CHECK(c.run.exit_code == 1);
  CHECK(c.run.err == "rafs: " + (tmp / name).string() + ": " + message + "\n");
  CHECK(fs::is_empty(c.out));
}

// A PAX sparse file (format 0.1) declaring `size` bytes with one data extent
// of 512 bytes at offset 0.
void add_sparse(Buf& tar, const std::string& name, std::uint64_t size) {
  add_entry(tar, name, 512, std::string(512, 's'),
            pax_record("GNU.sparse.size", std::to_string(size)) + pax_record("GNU.sparse.numblocks", "1") +
                pax_record("GNU.sparse.map", "0,512") + pax_record("GNU.sparse.name", name));
}

} // namespace

TEST_SUITE("cli::declared sizes") {
  TEST_CASE("a tar entry declaring 8 GiB over 1 KiB of data is a truncated layer, 2^62 bytes is over the "
            "chunk record cap before any data is read") {
    TempDir tmp;
    Buf tar;
    add_entry(tar, "huge", (std::uint64_t{1} << 33) - 1, std::string(1024, 'h'));
    expect_refused(tmp, "8gib.tar", end_of_archive(tar), "entry 1 'huge': Truncated tar archive");
    tar.clear();
    add_entry(tar, "huge", std::uint64_t{1} << 62, std::string(1024, 'h')); // base-256 size field
    expect_refused(tmp, "2e62.tar", end_of_archive(tar),
                   "huge: size 4611686018427387904 needs 4398046511104 chunk records, beyond the 26843545 a "
                   "bootstrap can hold (0 used by the layer's earlier files)");
  }

  TEST_CASE("a sparse entry needing more chunk records than a bootstrap holds is refused before cutting it") {
    TempDir tmp;
    const std::uint64_t cap = rafs::v5::k_max_chunk_records;
    Buf tar;
    add_sparse(tar, "sparse", (cap + 1) * 0x1000);
    expect_refused(tmp, "sparse.tar", end_of_archive(tar),
                   "sparse: size " + std::to_string((cap + 1) * 0x1000) + " needs " + std::to_string(cap + 1) +
                       " chunk records, beyond the 26843545 a bootstrap can hold (0 used by the layer's "
                       "earlier files)",
                   {"--chunk-size", "0x1000"});
    // The count is per layer: after a file of 3 chunks, cap - 2 more do not fit.
    tar.clear();
    add_entry(tar, "a", 3 * 0x1000, rafs::test::random_bytes(3 * 0x1000, 3));
    add_sparse(tar, "b", (cap - 2) * 0x1000);
    expect_refused(tmp, "two.tar", end_of_archive(tar),
                   "b: size " + std::to_string((cap - 2) * 0x1000) + " needs " + std::to_string(cap - 2) +
                       " chunk records, beyond the 26843545 a bootstrap can hold (3 used by the layer's "
                       "earlier files)",
                   {"--chunk-size", "0x1000"});
  }

  TEST_CASE("a PAX header of exactly 1 MiB is read, one byte more is refused by libarchive") {
    TempDir tmp;
    // One comment record (ignored by readers) of exactly `size` bytes.
    auto header_of = [](std::uint64_t size) {
      const std::string key = "comment";
      std::string record = pax_record(key, std::string(size - 20, 'c'));
      record = pax_record(key, std::string(size - 20 - (record.size() - size), 'c'));
      REQUIRE(record.size() == size);
      return record;
    };
    Buf ok;
    add_entry(ok, "f", 2, "f\n", header_of(k_pax_cap));
    const Created c = create(tmp, "pax-1mib.tar", end_of_archive(ok));
    INFO(c.run.err);
    CHECK(c.run.exit_code == 0);
    auto b = rafs::v5::Bootstrap::open(c.out / "image.boot");
    REQUIRE(b);
    CHECK(b->lookup("/f"));

    Buf over;
    add_entry(over, "f", 2, "f\n", header_of(k_pax_cap + 1));
    expect_refused(tmp, "pax-over.tar", end_of_archive(over), "not a tar archive: Special header too large");
  }

  TEST_CASE("an xattr value of 65536 bytes is kept, 65537 is skipped with one warning") {
    TempDir tmp;
    using namespace rafs::test;
    const Buf layer = make_tar({tar_file("kept", "k\n").with_xattr("user.v", std::string(65536, 'v')),
                                tar_file("skipped", "s\n").with_xattr("user.v", std::string(65537, 'v'))});
    const Created c = create(tmp, "xattrs.tar", layer);
    CHECK(c.run.exit_code == 0);
    CHECK(c.run.err == "rafs: warning: " + (tmp / "xattrs.tar").string() +
                           ": entry 2 'skipped': xattr 'user.v' skipped (RAFS keeps user., security., "
                           "trusted. and POSIX ACL xattrs)\n");
    auto b = rafs::v5::Bootstrap::open(c.out / "image.boot");
    REQUIRE(b);
    const auto kept = b->lookup("/kept");
    const auto skipped = b->lookup("/skipped");
    REQUIRE(kept);
    REQUIRE(skipped);
    REQUIRE(b->xattrs(*kept).size() == 1);
    CHECK(b->xattrs(*kept)[0].value == std::string(65536, 'v'));
    CHECK(b->xattrs(*skipped).empty());
  }

  TEST_CASE("a symlink target of 4096 bytes is kept, 4097 is refused") {
    TempDir tmp;
    using namespace rafs::test;
    const Created c = create(tmp, "link-4096.tar", make_tar({tar_symlink("l", std::string(4096, 't'))}));
    CHECK(c.run.exit_code == 0);
    auto b = rafs::v5::Bootstrap::open(c.out / "image.boot");
    REQUIRE(b);
    CHECK(b->symlink_target(*b->lookup("/l")) == std::string(4096, 't'));
    expect_refused(tmp, "link-4097.tar", make_tar({tar_symlink("l", std::string(4097, 't'))}),
                   "entry 1 'l': symlink target is empty or longer than 4096 bytes");
  }

  TEST_CASE("an OCI index.json of exactly 16 MiB converts, one byte more is refused before reading it") {
    TempDir tmp;
    using namespace rafs::test;
    const fs::path layout = tmp / "layout";
    write_oci_layout(layout, {OciImageSpec{{OciLayerSpec{{tar_file("f", "f\n")}}}}});
    const std::string index = read_text(layout / "index.json");
    auto pad_index = [&](std::uint64_t size) {
      std::ofstream(layout / "index.json", std::ios::binary | std::ios::trunc) << padded(index, size);
    };
    pad_index(k_json_cap);
    RunResult ok = run_rafs({"convert", layout.string(), "-o", (tmp / "ok").string()});
    INFO(ok.err);
    CHECK(ok.exit_code == 0);
    pad_index(k_json_cap + 1);
    RunResult over = run_rafs({"convert", layout.string(), "-o", (tmp / "over").string()});
    CHECK(over.exit_code == 1);
    CHECK(over.err == "rafs: " + (layout / "index.json").string() + ": file of 16777217 bytes exceeds the limit "
                                                                   "of 16777216\n");
    CHECK(!fs::exists(tmp / "over"));
  }

  TEST_CASE("a manifest descriptor declaring 16 MiB + 1 bytes is refused before the blob is read") {
    TempDir tmp;
    using namespace rafs::test;
    const fs::path layout = tmp / "layout";
    const auto info = write_oci_layout(layout, {OciImageSpec{{OciLayerSpec{{tar_file("f", "f\n")}}}}});
    nlohmann::json index = nlohmann::json::parse(read_text(layout / "index.json"));
    index["manifests"][0]["size"] = k_json_cap + 1;
    std::ofstream(layout / "index.json", std::ios::binary | std::ios::trunc) << index.dump();
    RunResult r = run_rafs({"convert", layout.string(), "-o", (tmp / "out").string()});
    CHECK(r.exit_code == 1);
    CHECK(r.err == "rafs: " + layout.string() + ": blob " + info.at(0).manifest_digest +
                       " (manifest): 16777217 bytes exceeds the limit of 16777216\n");
  }

  TEST_CASE("a docker-archive manifest.json of exactly 16 MiB is parsed, one byte more is refused unread") {
    TempDir tmp;
    using namespace rafs::test;
    const fs::path archive = tmp / "image.tar";
    write_tar(archive, {tar_file("manifest.json", padded("[]", k_json_cap))});
    RunResult ok = run_rafs({"convert", "docker-archive:" + archive.string(), "-o", (tmp / "out").string()});
    CHECK(ok.exit_code == 1);
    CHECK(ok.err == "rafs: " + archive.string() + "/manifest.json: not a non-empty JSON array of images\n");
    write_tar(archive, {tar_file("manifest.json", padded("[]", k_json_cap + 1))});
    RunResult over = run_rafs({"convert", "docker-archive:" + archive.string(), "-o", (tmp / "out").string()});
    CHECK(over.exit_code == 1);
    CHECK(over.err == "rafs: " + archive.string() + "/manifest.json: member of 16777217 bytes exceeds the limit of "
                                                   "16777216\n");
  }

  TEST_CASE("a mount config of exactly 1 MiB is parsed, one byte more is refused unread") {
    TempDir tmp;
    using namespace rafs::test;
    const Created image = create(tmp, "layer.tar", make_tar({tar_file("f", "f\n")}));
    REQUIRE(image.run.exit_code == 0);
    fs::create_directories(tmp / "mnt");
    const fs::path config = tmp / "config.json";
    auto mount = [&](std::uint64_t size) {
      std::ofstream(config, std::ios::binary | std::ios::trunc) << padded(R"({"digest_validate": true})", size);
      return run_rafs({"mount", (image.out / "image.boot").string(), (tmp / "mnt").string(), "-D",
                       image.out.string(), "--config", config.string()});
    };
    RunResult ok = mount(k_config_cap);
    CHECK(ok.exit_code == 1);
    CHECK(ok.err == "rafs: " + config.string() + R"(: mode: missing (required: "direct" or "cached"))" + "\n");
    RunResult over = mount(k_config_cap + 1);
    CHECK(over.exit_code == 1);
    CHECK(over.err == "rafs: " + config.string() + ": file of 1048577 bytes exceeds the limit of 1048576\n");
  }
}
