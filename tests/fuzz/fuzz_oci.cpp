// Container image metadata from untrusted bytes: OCI index.json, image
// indexes, manifests and configs, and docker-archive manifest.json, read
// by OciImage (as `rafs convert` does), then every layer streamed.
//
// Input: one flags byte, then the image.
//   flags & 3 == 0  an OCI layout in memory: pieces separated by "\n----\n";
//                   piece 0 is index.json, every later piece a blob
//                   (blobs/sha256/<its sha256>, also stored as "<its number>")
//   flags & 3 == 1  a docker archive in memory: the same, piece 0 being
//                   manifest.json (which names the others "1", "2"...)
//   flags & 3 >= 2  an image archive file (tar, tar.gz, tar.zst), detected;
//                   3 says docker-archive:
//   flags & 4       select tag "latest"
//   flags & 8       ask for platform linux/arm64/v8
// Since no fuzzer finds a sha256 preimage, a piece may say "$D<j>" and
// "$S<j>" (j a later piece, 1 to 9): they become that piece's digest
// ("sha256:<hex>") and size, so index -> manifest -> config -> layer chains
// verify and the mutations reach the code behind them.
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "builder/oci_image.hpp"
#include "builder/oci_store.hpp"
#include "builder/source_entry.hpp"
#include "format/digest.hpp"
#include "fuzz/fuzz_support.hpp"

namespace {

using namespace rafs;

constexpr std::string_view k_separator = "\n----\n";
constexpr std::uint64_t k_drain_budget = 64 << 20; // decompressed layer bytes per input

class MemoryStore final : public builder::OciStore {
public:
  void add(std::string path, std::vector<std::uint8_t> bytes) { m_files[std::move(path)] = std::move(bytes); }

  Result<std::optional<std::uint64_t>> size_of(const std::string& path) const override {
    const auto* f = find(path);
    return f == nullptr ? std::optional<std::uint64_t>{} : std::optional<std::uint64_t>(f->size());
  }
  Result<std::vector<std::uint8_t>> read_all(const std::string& path, std::uint64_t cap) const override {
    const auto* f = find(path);
    if (f == nullptr) {
      return make_error(Errc::not_found, where(path) + ": missing");
    }
    if (f->size() > cap) {
      return make_error(Errc::overflow, where(path) + ": too large");
    }
    return *f;
  }
  Result<std::unique_ptr<builder::ByteReader>> open(const std::string& path,
                                                    std::string name) const override {
    const auto* f = find(path);
    if (f == nullptr) {
      return make_error(Errc::not_found, where(path) + ": missing");
    }
    return fuzz::memory_reader(*f, std::move(name));
  }
  std::string where(const std::string& path) const override { return "memory/" + path; }

private:
  // As the real stores: "./" ignored, ".." never found.
  const std::vector<std::uint8_t>* find(const std::string& path) const {
    auto n = builder::normalize_entry_path(path);
    if (!n) {
      return nullptr;
    }
    auto it = m_files.find(*n);
    return it == m_files.end() ? nullptr : &it->second;
  }

  std::map<std::string, std::vector<std::uint8_t>> m_files;
};

std::vector<std::string> split_pieces(std::string_view text) {
  std::vector<std::string> out;
  for (;;) {
    const std::size_t at = text.find(k_separator);
    out.emplace_back(text.substr(0, at));
    if (at == std::string_view::npos) {
      return out;
    }
    text.remove_prefix(at + k_separator.size());
  }
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

std::string sha256_digest(const std::string& s) {
  Sha256 h;
  h.update(Bytes(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
  return "sha256:" + to_hex(h.finalize());
}

std::unique_ptr<MemoryStore> memory_store(std::string_view text, bool docker) {
  std::vector<std::string> pieces = split_pieces(text);
  // Later pieces first, so a reference always sees its piece's final bytes.
  for (std::size_t i = pieces.size(); i-- > 0;) {
    for (std::size_t j = i + 1; j < std::min<std::size_t>(pieces.size(), 10); ++j) {
      replace_all(pieces[i], "$D" + std::to_string(j), sha256_digest(pieces[j]));
      replace_all(pieces[i], "$S" + std::to_string(j), std::to_string(pieces[j].size()));
    }
  }
  auto store = std::make_unique<MemoryStore>();
  auto bytes = [](const std::string& s) { return std::vector<std::uint8_t>(s.begin(), s.end()); };
  if (docker) {
    store->add("manifest.json", bytes(pieces[0]));
  } else {
    store->add("oci-layout", bytes(R"({"imageLayoutVersion":"1.0.0"})"));
    store->add("index.json", bytes(pieces[0]));
  }
  for (std::size_t j = 1; j < pieces.size(); ++j) {
    store->add("blobs/sha256/" + sha256_digest(pieces[j]).substr(7), bytes(pieces[j]));
    store->add(std::to_string(j), bytes(pieces[j]));
  }
  return store;
}

// Every layer's entries and data, as `rafs convert` reads them.
void drain_layers(const builder::OciImage& image) {
  std::uint64_t budget = k_drain_budget;
  (void)image.platform().str();
  for (std::size_t i = 0; i < image.layers().size(); ++i) {
    auto source = image.open_layer(i);
    if (!source) {
      continue;
    }
    builder::SourceEntry entry;
    for (;;) {
      auto more = (*source)->next(entry);
      if (!more || !*more) {
        break;
      }
      if (entry.kind != builder::EntryKind::regular) {
        continue;
      }
      const std::uint8_t* block = nullptr;
      std::size_t len = 0;
      std::uint64_t offset = 0;
      for (;;) {
        auto got = (*source)->data().next_block(block, len, offset);
        if (!got || !*got) {
          break;
        }
        if (len > budget) {
          return;
        }
        budget -= len;
      }
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) {
    return 0;
  }
  const std::uint8_t flags = data[0];
  const Bytes rest(data + 1, size - 1);
  const std::string tag = (flags & 4) != 0 ? "latest" : "";
  std::optional<builder::Platform> platform;
  if ((flags & 8) != 0) {
    platform = builder::Platform{"linux", "arm64", "v8"};
  }
  Result<std::unique_ptr<builder::OciImage>> image = make_error(Errc::internal, "unset");
  const int mode = flags & 3;
  if (mode < 2) {
    const bool docker = mode == 1;
    image = builder::OciImage::open(memory_store(fuzz::as_text(rest), docker),
                                    docker ? builder::ImageFormat::docker_archive
                                           : builder::ImageFormat::oci_layout,
                                    "memory", tag, platform);
  } else {
    fuzz::clear_scratch_dir();
    const std::filesystem::path file = fuzz::scratch_dir() / "image.tar";
    std::ofstream(file, std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char*>(rest.data()), static_cast<std::streamsize>(rest.size()));
    const std::string source =
        (mode == 3 ? "docker-archive:" : "") + file.string() + (tag.empty() ? "" : ":" + tag);
    image = builder::OciImage::open(source, platform);
  }
  if (image) {
    drain_layers(**image);
  }
  return 0;
}
