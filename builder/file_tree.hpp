// The image's tree while it is built: entries inserted in source order,
// children kept sorted by raw name bytes, hard links sharing their file data.
//
// Rules (what a demanding nydus-image user expects from a tar layer):
// - missing parent directories are created 0755 root:root, mtime 0, and get
//   their real attributes if their own entry comes later;
// - a later entry for the same path wins; a directory over a directory keeps
//   the children, anything else drops the old subtree;
// - a hard link to a regular file shares its data and attributes (one inode
//   in the image); a hard link to anything else becomes a copy (RAFS groups
//   regular files only);
// - an entry below a non-directory is an error.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "builder/source_entry.hpp"
#include "format/chunk_info.hpp"
#include "format/error.hpp"

namespace rafs::builder {

// The contents of a regular file: shared by every hard link to it (also
// across layers: an upper-layer hard link may share a lower file's data).
struct FileData {
  std::uint64_t size = 0;
  // While its layer is being written: BlobWriter slot ids, in file order.
  std::vector<std::uint32_t> chunk_slots;
  // Once its layer is finished: the chunk records, blob_index holding the
  // image-wide blob number (the blob table index is assigned at the end).
  std::vector<v5::ChunkInfo> chunks;
};

struct Node {
  std::string name;
  Node* parent = nullptr;
  SourceEntry attr;                      // path unused; kind never hardlink
  std::shared_ptr<FileData> data;        // regular files only
  std::map<std::string, std::unique_ptr<Node>> children; // std::string orders bytes unsigned
  // A directory made up because an entry below it came without its own
  // entry: over a lower directory it keeps the lower attributes.
  bool implicit = false;

  bool is_dir() const noexcept { return attr.kind == EntryKind::directory; }
  bool is_reg() const noexcept { return attr.kind == EntryKind::regular; }
};

class FileTree {
public:
  FileTree();

  Node& root() noexcept { return *m_root; }
  const Node& root() const noexcept { return *m_root; }

  // Inserts (or replaces) the node for `entry` and returns it. For a regular
  // file the caller fills node.data->chunk_slots afterwards.
  // A hard link whose target is not in this tree is looked up in `lower`
  // (an upper layer linking to a file of the layers below).
  [[nodiscard]] Result<Node*> insert(const SourceEntry& entry, const FileTree* lower = nullptr);
  Node* find(std::string_view path) const;

private:
  Result<Node*> parent_of(std::string_view path, std::string_view& leaf);
  std::unique_ptr<Node> m_root;
};

} // namespace rafs::builder
