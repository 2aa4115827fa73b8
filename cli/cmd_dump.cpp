// `rafs dump BOOTSTRAP [--json]`: superblock, blob table, prefetch table and
// tree, as text or as JSON shaped by schemas/dump.schema.json.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>

#include "cli/commands.hpp"
#include "cli/image_json.hpp"
#include "cli/text.hpp"
#include "format/bootstrap.hpp"
#include "format/layout.hpp"

namespace rafs::cli {

namespace {

struct DumpOptions {
  std::string bootstrap;
  bool json = false;
  bool chunks = false;
};

void print_inode(const v5::Bootstrap& b, std::uint32_t i, bool chunks) {
  const v5::Inode& n = b.inode(i);
  std::cout << v5::file_type_name(n.mode) << ' ' << perm_string(n.mode) << ' ' << n.uid << ':'
            << n.gid << ' ' << n.size << ' ' << n.nlink << ' ' << iso_time(n.mtime, n.mtime_nsec)
            << ' ' << b.chunk_count(i) << ' ' << escape(b.path(i));
  if (n.is_symlink()) {
    std::cout << " -> " << escape(b.symlink_target(i));
  }
  if (n.ino != i) {
    std::cout << " (hard link to " << escape(b.path(static_cast<std::uint32_t>(n.ino))) << ')';
  }
  if (n.has_xattr()) {
    std::cout << " xattrs:";
    for (const auto& x : b.xattrs(i)) {
      std::cout << ' ' << escape(x.name);
    }
  }
  std::cout << '\n';
  for (std::uint32_t k = 0; chunks && k < b.chunk_count(i); ++k) {
    v5::ChunkInfo c = b.chunk(i, k);
    std::cout << "    chunk " << k << ": file " << c.file_offset << " blob " << c.blob_index
              << " index " << c.index << " compressed " << c.compressed_offset << '+'
              << c.compressed_size << " uncompressed " << c.uncompressed_offset << '+'
              << c.uncompressed_size << (c.compressed() ? " compressed" : "") << ' '
              << to_hex(c.block_id) << '\n';
  }
}

void print_text(const v5::Bootstrap& b, bool chunks) {
  const v5::SuperBlock& sb = b.super_block();
  std::cout << "bootstrap: " << b.name() << '\n'
            << "version: RAFS v5 (" << hex(sb.fs_version) << ")\n"
            << "flags: " << hex(sb.flags);
  for (const auto& f : v5::super_flag_names(sb.flags)) {
    std::cout << ' ' << f;
  }
  std::cout << "\nchunk size: " << hex(sb.block_size) << '\n'
            << "compressor: " << compressor_name(b.compressor()) << '\n'
            << "digester: " << digest_algo_name(b.digester()) << '\n'
            << "inodes: " << sb.inodes_count << " (inode table entries " << sb.inode_table_entries
            << ")\n"
            << "blobs: " << b.blobs().size()
            << (b.has_ext_blob_table() ? "" : " (no extended blob table)") << '\n';
  for (std::size_t i = 0; i < b.blobs().size(); ++i) {
    const v5::BlobInfo& blob = b.blobs()[i];
    std::cout << "  [" << i << "] " << blob.id << " compressed " << blob.compressed_size
              << " uncompressed " << blob.uncompressed_size << " chunks " << blob.chunk_count
              << " readahead " << blob.readahead_offset << '+' << blob.readahead_size
              << " features";
    auto names = v5::blob_feature_names(blob.features);
    std::cout << (names.empty() ? " -" : "");
    for (const auto& f : names) {
      std::cout << ' ' << f;
    }
    std::cout << '\n';
  }
  std::cout << "prefetch: " << b.prefetch_table().size() << " entries\n";
  for (std::uint32_t ino : b.prefetch_table()) {
    std::cout << "  " << escape(b.path(ino)) << '\n';
  }
  std::cout << "tree: type mode uid:gid size nlink mtime chunks path\n";
  for_each_in_tree(b, [&](std::uint32_t i) { print_inode(b, i, chunks); });
}

} // namespace

Action setup_dump(CLI::App& app) {
  auto opt = std::make_shared<DumpOptions>();
  app.add_option("BOOTSTRAP", opt->bootstrap, "Bootstrap file")->required();
  app.add_flag("--json", opt->json, "Print JSON (schemas/dump.schema.json)");
  app.add_flag("--chunks", opt->chunks, "Also list every chunk record of every file");
  return [opt] {
    auto b = v5::Bootstrap::open(opt->bootstrap);
    if (!b) {
      return report(b.error());
    }
    if (opt->json) {
      std::cout << dump_json(*b, opt->chunks).dump(2, ' ', false,
                                                   nlohmann::json::error_handler_t::replace)
                << '\n';
    } else {
      print_text(*b, opt->chunks);
    }
    return k_exit_ok;
  };
}

} // namespace rafs::cli
