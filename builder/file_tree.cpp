#include "builder/file_tree.hpp"

#include <sys/stat.h>

namespace rafs::builder {

namespace {

void make_default_dir(Node& n) {
  n.attr = SourceEntry{};
  n.attr.kind = EntryKind::directory;
  n.attr.mode = S_IFDIR | 0755;
  n.implicit = true;
}

} // namespace

FileTree::FileTree() : m_root(std::make_unique<Node>()) {
  make_default_dir(*m_root);
  m_root->name = "/";
}

Node* FileTree::find(std::string_view path) const {
  Node* cur = m_root.get();
  std::size_t pos = 0;
  while (cur != nullptr && pos < path.size()) {
    std::size_t slash = path.find('/', pos);
    std::string part(path.substr(pos, slash == std::string_view::npos ? path.npos : slash - pos));
    pos = slash == std::string_view::npos ? path.size() : slash + 1;
    auto it = cur->children.find(part);
    cur = it == cur->children.end() ? nullptr : it->second.get();
  }
  return cur;
}

Result<Node*> FileTree::parent_of(std::string_view path, std::string_view& leaf) {
  Node* cur = m_root.get();
  std::size_t pos = 0;
  for (;;) {
    std::size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) {
      leaf = path.substr(pos);
      return cur;
    }
    std::string part(path.substr(pos, slash - pos));
    pos = slash + 1;
    auto it = cur->children.find(part);
    if (it == cur->children.end()) {
      auto dir = std::make_unique<Node>();
      make_default_dir(*dir);
      dir->name = part;
      dir->parent = cur;
      it = cur->children.emplace(part, std::move(dir)).first;
    } else if (!it->second->is_dir()) {
      return make_error(Errc::corrupted, std::string(path) + ": parent " +
                                             std::string(path.substr(0, slash)) +
                                             " is not a directory");
    }
    cur = it->second.get();
  }
}

Result<Node*> FileTree::insert(const SourceEntry& entry, const FileTree* lower) {
  SourceEntry attr = entry;
  std::shared_ptr<FileData> data;
  if (entry.kind == EntryKind::hardlink) {
    Node* target = find(entry.link_target);
    if (target == nullptr && lower != nullptr) {
      target = lower->find(entry.link_target);
    }
    if (target == nullptr || entry.link_target.empty()) {
      return make_error(Errc::corrupted, entry.path + ": hard link to " + entry.link_target +
                                             ", which does not exist");
    }
    if (target->is_dir()) {
      return make_error(Errc::corrupted, entry.path + ": hard link to directory " +
                                             entry.link_target);
    }
    attr = target->attr;
    data = target->data; // shared for regular files: one inode
  } else if (entry.kind == EntryKind::regular) {
    data = std::make_shared<FileData>();
    data->size = entry.size;
  }
  attr.path.clear();

  if (entry.path.empty()) {
    if (attr.kind != EntryKind::directory) {
      return make_error(Errc::corrupted, "the root entry is not a directory");
    }
    m_root->attr = attr;
    m_root->implicit = false;
    return m_root.get();
  }
  std::string_view leaf;
  RAFS_TRY_ASSIGN(Node * parent, parent_of(entry.path, leaf));
  std::string name(leaf);
  auto it = parent->children.find(name);
  if (it != parent->children.end() && it->second->is_dir() && attr.kind == EntryKind::directory) {
    it->second->attr = attr; // a directory over a directory keeps its children
    it->second->implicit = false;
    return it->second.get();
  }
  auto node = std::make_unique<Node>();
  node->name = name;
  node->parent = parent;
  node->attr = std::move(attr);
  node->data = std::move(data);
  Node* raw = node.get();
  parent->children[name] = std::move(node);
  return raw;
}

} // namespace rafs::builder
