// `rafs check BOOTSTRAP [-D BLOB_DIR] [-J OUT.json]`: validates the bootstrap
// and its inode digests; with -D also reads, decompresses and verifies every
// stored chunk and each blob file's size and id. Exit 0 only if all is valid.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <map>
#include <set>

#include "cli/commands.hpp"
#include "cli/image_json.hpp"
#include "cli/json_file.hpp"
#include "cli/text.hpp"
#include "format/bootstrap.hpp"
#include "format/chunk_reader.hpp"
#include "format/inode_digest.hpp"

namespace rafs::cli {

namespace {

struct CheckOptions {
  std::string bootstrap;
  std::string blob_dir;
  std::string output_json;
};

struct DataStats {
  std::uint64_t chunks = 0;
  std::uint64_t bytes = 0;
};

bool is_hex_digest(const std::string& id) {
  return id.size() == 64 && id.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// Blob files: present, the size the extended table says, named by their sha256.
void check_blob_files(const v5::Bootstrap& b, v5::ChunkReader& reader,
                      std::vector<std::string>& problems) {
  for (std::uint32_t i = 0; i < b.blobs().size(); ++i) {
    const v5::BlobInfo& info = b.blobs()[i];
    auto file = reader.blob(i);
    if (!file) {
      problems.push_back(file.error().message);
      continue;
    }
    const RandomAccessFile& f = **file;
    if (info.compressed_size != 0 && f.size() != info.compressed_size) {
      problems.push_back(f.name() + ": size " + std::to_string(f.size()) +
                         " != compressed size " + std::to_string(info.compressed_size) +
                         " in the blob table");
    }
    if (!is_hex_digest(info.id)) {
      continue;
    }
    Sha256 h;
    std::vector<std::uint8_t> buf(1 << 20);
    for (std::uint64_t off = 0; off < f.size(); off += buf.size()) {
      auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), f.size() - off));
      if (auto r = f.read_at(off, MutableBytes(buf.data(), n)); !r) {
        problems.push_back(r.error().message);
        break;
      }
      h.update(Bytes(buf.data(), n));
    }
    std::string found = to_hex(h.finalize());
    if (found != info.id) {
      problems.push_back(f.name() + ": sha256 of the blob file is " + found +
                         ", not its id " + info.id);
    }
  }
}

// Every distinct stored chunk, read once and verified; problems name the
// first file that uses a bad chunk.
DataStats check_chunks(const v5::Bootstrap& b, v5::ChunkReader& reader,
                       std::vector<std::string>& problems) {
  DataStats stats;
  std::set<std::pair<std::uint32_t, std::uint64_t>> seen; // (blob, compressed offset)
  std::vector<std::uint8_t> buf;
  for_each_in_tree(b, [&](std::uint32_t i) {
    for (std::uint32_t k = 0; k < b.chunk_count(i); ++k) {
      v5::ChunkInfo c = b.chunk(i, k);
      if (!seen.insert({c.blob_index, c.compressed_offset}).second) {
        continue;
      }
      buf.resize(c.uncompressed_size);
      if (auto r = reader.read_chunk(c, buf, true); !r) {
        problems.push_back(escape(b.path(i)) + ": chunk " + std::to_string(k) + ": " +
                           r.error().message);
        continue;
      }
      stats.chunks += 1;
      stats.bytes += c.uncompressed_size;
    }
  });
  return stats;
}

void print_summary(const v5::Bootstrap& b) {
  std::cout << "RAFS v5 filesystem metadata is valid: " << b.super_block().inodes_count
            << " inodes, " << b.inode_count() << " inode records, referenced data blobs:\n";
  for (std::size_t i = 0; i < b.blobs().size(); ++i) {
    const v5::BlobInfo& blob = b.blobs()[i];
    std::cout << "  " << i << ": " << blob.id << " compressed " << blob.compressed_size
              << " uncompressed " << blob.uncompressed_size << " chunk size "
              << hex(b.chunk_size()) << " chunks " << blob.chunk_count;
    for (const auto& f : v5::blob_feature_names(blob.features)) {
      std::cout << ' ' << f;
    }
    std::cout << '\n';
  }
}

int run_check(const CheckOptions& opt) {
  auto b = v5::Bootstrap::open(opt.bootstrap);
  if (!b) {
    return report(b.error());
  }
  std::vector<std::string> problems;
  for (const auto& m : v5::verify_inode_digests(*b)) {
    problems.push_back(opt.bootstrap + ": " + escape(b->path(m.index)) +
                       ": inode digest mismatch: expected " + to_hex(m.expected) + ", found " +
                       to_hex(m.found));
  }
  if (problems.empty()) {
    print_summary(*b);
  }
  DataStats stats;
  if (!opt.blob_dir.empty()) {
    v5::ChunkReader reader(*b, opt.blob_dir);
    check_blob_files(*b, reader, problems);
    stats = check_chunks(*b, reader, problems);
    std::cout << "data: " << stats.chunks << " chunks (" << stats.bytes << " bytes) verified in "
              << b->blobs().size() << " blobs\n";
  }
  for (const auto& p : problems) {
    std::cout << "problem: " << p << '\n';
  }
  if (!opt.output_json.empty()) {
    nlohmann::json j{{"version", "rafs 0.1.0"}, {"bootstrap", opt.bootstrap}, {"fs_version", "5"},
                     {"compressor", compressor_name(b->compressor())},
                     {"digester", digest_algo_name(b->digester())}, {"valid", problems.empty()},
                     {"problems", problems}, {"chunks_verified", stats.chunks}};
    nlohmann::json ids = nlohmann::json::array();
    for (const auto& blob : b->blobs()) {
      ids.push_back(blob.id);
    }
    j["blobs"] = ids;
    if (auto r = write_json_file(opt.output_json, j); !r) {
      return report(r.error());
    }
  }
  if (!problems.empty()) {
    std::cerr << "rafs: " << opt.bootstrap << ": " << problems.size() << " problem"
              << (problems.size() == 1 ? "" : "s") << " found\n";
    return k_exit_bad_input;
  }
  return k_exit_ok;
}

} // namespace

Action setup_check(CLI::App& app) {
  auto opt = std::make_shared<CheckOptions>();
  app.add_option("BOOTSTRAP", opt->bootstrap, "Bootstrap file")->required();
  app.add_option("-D,--blob-dir", opt->blob_dir,
                 "Directory of blob files named by id: also verify every chunk")
      ->check(CLI::ExistingDirectory);
  app.add_option("-J,--output-json", opt->output_json, "Write the result as JSON");
  return [opt] { return run_check(*opt); };
}

} // namespace rafs::cli
