#include "builder/bootstrap_builder.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <atomic>
#include <cstring>
#include <map>
#include <span>
#include <unordered_map>

#include "builder/split_work.hpp"
#include "format/layout.hpp"
#include "format/superblock.hpp"

namespace rafs::builder {

namespace {

// Nodes in index order (index = position + 1) with each node's parent index.
struct Layout {
  std::vector<const Node*> nodes;
  std::vector<std::uint32_t> parent;      // by index - 1; 0 for the root
  std::vector<std::uint32_t> child_index; // by index - 1; directories
};

Layout assign_indexes(const Node& root) {
  Layout l;
  l.nodes.push_back(&root);
  l.parent.push_back(0);
  l.child_index.push_back(0);
  std::vector<std::uint32_t> stack{1};
  while (!stack.empty()) {
    std::uint32_t dir = stack.back();
    stack.pop_back();
    const Node& d = *l.nodes[dir - 1];
    l.child_index[dir - 1] = static_cast<std::uint32_t>(l.nodes.size() + 1);
    std::vector<std::uint32_t> subdirs;
    for (const auto& [name, child] : d.children) {
      l.nodes.push_back(child.get());
      l.parent.push_back(dir);
      l.child_index.push_back(0);
      if (child->is_dir()) {
        subdirs.push_back(static_cast<std::uint32_t>(l.nodes.size()));
      }
    }
    stack.insert(stack.end(), subdirs.rbegin(), subdirs.rend());
  }
  return l;
}

std::uint32_t rdev_of(const SourceEntry& a) {
  if (a.kind != EntryKind::chardev && a.kind != EntryKind::blockdev) {
    return 0;
  }
  return static_cast<std::uint32_t>(makedev(a.rdev_major, a.rdev_minor));
}

std::uint64_t dir_size(const Node& n) {
  std::uint64_t sum = 0;
  for (const auto& [name, child] : n.children) {
    sum += name.size() + 8;
  }
  return sum == 0 ? 4096 : (sum + 4095) / 4096 * 4096;
}

// The digest of each of `inodes` but directories, side by side
// (digest_many): a regular file's input is its chunks' digests one after
// another, a symlink's its target, anything else's nothing.
void leaf_digests(std::span<v5::InodeSpec> inodes, DigestAlgo algo) {
  std::size_t joined_size = 0; // files of 2 chunks or more: their digests copied together
  for (const v5::InodeSpec& s : inodes) {
    if (S_ISREG(s.inode.mode) && s.chunks.size() > 1) {
      joined_size += s.chunks.size() * sizeof(Digest);
    }
  }
  std::vector<std::uint8_t> joined(joined_size);
  std::size_t used = 0;
  std::vector<Bytes> inputs;
  std::vector<v5::InodeSpec*> owners;
  for (v5::InodeSpec& s : inodes) {
    Bytes in;
    if (S_ISDIR(s.inode.mode)) {
      continue;
    }
    if (S_ISREG(s.inode.mode) && s.chunks.size() == 1) {
      in = s.chunks.front().block_id;
    } else if (S_ISREG(s.inode.mode) && !s.chunks.empty()) {
      const std::size_t start = used;
      for (const auto& c : s.chunks) {
        std::memcpy(joined.data() + used, c.block_id.data(), sizeof(Digest));
        used += sizeof(Digest);
      }
      in = Bytes(joined).subspan(start, used - start);
    } else if (S_ISLNK(s.inode.mode)) {
      in = {reinterpret_cast<const std::uint8_t*>(s.symlink.data()), s.symlink.size()};
    }
    inputs.push_back(in);
    owners.push_back(&s);
  }
  std::vector<Digest> digests(inputs.size());
  digest_many(algo, inputs, digests);
  for (std::size_t k = 0; k < owners.size(); ++k) {
    owners[k]->inode.digest = digests[k];
  }
}

// Fewer inodes than this are filled on one thread: a thread costs more.
constexpr std::size_t k_min_range = 8192;

} // namespace

BootstrapPlan make_bootstrap(const BootstrapInputs& in, const BuildOptions& options) {
  Layout l = assign_indexes(in.tree->root());
  const auto count = static_cast<std::uint32_t>(l.nodes.size());

  // Blob table: the referenced blobs, in image-wide number order.
  BootstrapPlan plan;
  std::vector<std::uint32_t> table_index(in.blobs.size(), UINT32_MAX);
  for (const Node* n : l.nodes) {
    if (n->is_reg()) {
      for (const auto& c : n->data->chunks) {
        table_index.at(c.blob_index) = 0;
      }
    }
  }
  for (std::uint32_t b = 0; b < in.blobs.size(); ++b) {
    if (table_index[b] == 0) {
      table_index[b] = static_cast<std::uint32_t>(plan.blob_numbers.size());
      plan.blob_numbers.push_back(b);
    }
  }

  // Hard-link groups: regular files sharing FileData; ino = first index.
  // FileData owned by one node alone is a group of one (most files): only
  // shared ones go in the map.
  auto shared = [](const Node& n) { return n.data.use_count() > 1; };
  std::unordered_map<const FileData*, std::pair<std::uint32_t, std::uint32_t>> groups; // first, links
  for (std::uint32_t i = 1; i <= count; ++i) {
    const Node& n = *l.nodes[i - 1];
    if (n.is_reg() && shared(n)) {
      auto [it, fresh] = groups.emplace(n.data.get(), std::pair{i, 0u});
      it->second.second += 1;
    }
  }

  v5::BootstrapSpec& spec = plan.spec;
  spec.chunk_size = options.chunk_size;
  spec.flags = v5::compressor_flag(options.compressor) | v5::digester_flag(options.digester) |
               (options.repeatable ? 0 : v5::k_sb_explicit_uid_gid);
  for (std::uint32_t b : plan.blob_numbers) {
    spec.blobs.push_back(in.blobs[b]);
  }
  spec.inodes.resize(count);
  // Each inode's fields and digest (but directories') depend on its node
  // alone: filled on the build's threads, each on a range of indexes.
  std::atomic<std::uint64_t> distinct = 0;
  std::atomic<bool> has_xattr = false;
  auto fill = [&](std::uint32_t i) {
    const Node& n = *l.nodes[i - 1];
    const SourceEntry& a = n.attr;
    v5::InodeSpec& s = spec.inodes[i - 1];
    v5::Inode& inode = s.inode;
    s.name = i == 1 ? "/" : n.name;
    s.xattrs = a.xattrs;
    if (!s.xattrs.empty()) {
      has_xattr.store(true, std::memory_order_relaxed);
    }
    inode.ino = i;
    inode.parent = l.parent[i - 1];
    inode.uid = options.repeatable ? 0 : a.uid;
    inode.gid = options.repeatable ? 0 : a.gid;
    inode.mode = a.mode;
    inode.mtime = a.mtime;
    inode.mtime_nsec = a.mtime_nsec;
    inode.rdev = rdev_of(a);
    inode.nlink = 1;
    if (n.is_dir()) {
      inode.size = dir_size(n);
      inode.child_index = l.child_index[i - 1];
      inode.child_count = static_cast<std::uint32_t>(n.children.size());
      inode.nlink = 2;
      for (const auto& [name, child] : n.children) {
        inode.nlink += child->is_dir() ? 1u : 0u;
      }
    } else if (n.is_reg()) {
      auto [first, links] = shared(n) ? groups.at(n.data.get()) : std::pair{i, 1u};
      inode.ino = first;
      inode.nlink = links;
      inode.flags |= links > 1 ? v5::k_inode_hardlink : 0;
      inode.size = n.data->size;
      s.chunks = n.data->chunks;
      for (auto& c : s.chunks) {
        c.blob_index = table_index[c.blob_index];
      }
      inode.child_count = static_cast<std::uint32_t>(s.chunks.size());
      const std::uint64_t full = (inode.size + options.chunk_size - 1) / options.chunk_size;
      inode.flags |= s.chunks.size() < full ? v5::k_inode_has_hole : 0;
    } else if (a.kind == EntryKind::symlink) {
      s.symlink = a.link_target;
      inode.size = a.link_target.size();
      inode.flags |= v5::k_inode_symlink;
    }
    inode.blocks = v5::blocks_for(inode.mode, inode.size, v5::xattr_total(s.xattrs));
    return inode.ino == i ? 1u : 0u;
  };
  split_work(count, options.threads, k_min_range, [&](std::size_t begin, std::size_t end) {
    std::uint64_t firsts = 0;
    for (std::size_t k = begin; k < end; ++k) {
      firsts += fill(static_cast<std::uint32_t>(k + 1));
    }
    distinct.fetch_add(firsts, std::memory_order_relaxed);
    leaf_digests(std::span(spec.inodes).subspan(begin, end - begin), options.digester);
  });
  spec.inodes_count = distinct.load();
  if (has_xattr.load()) {
    spec.flags |= v5::k_sb_has_xattr;
  }

  // Prefetch table: the ino of each listed path that exists, in list order.
  if (!in.prefetch.empty()) {
    std::map<const Node*, std::uint32_t> index_of;
    for (std::uint32_t i = 1; i <= count; ++i) {
      index_of.emplace(l.nodes[i - 1], i);
    }
    for (const auto& path : in.prefetch) {
      const Node* n = in.tree->find(path);
      if (n != nullptr) {
        spec.prefetch.push_back(static_cast<std::uint32_t>(spec.inodes[index_of.at(n) - 1].inode.ino));
      }
    }
  }

  // Directories' digests, bottom-up (children always have larger indexes
  // than parents; every leaf has its digest by now): their children's
  // digests one after another.
  std::vector<std::uint8_t> joined;
  for (std::uint32_t i = count; i >= 1; --i) {
    v5::InodeSpec& s = spec.inodes[i - 1];
    if (!S_ISDIR(s.inode.mode)) {
      continue;
    }
    joined.resize(std::size_t{s.inode.child_count} * sizeof(Digest));
    for (std::uint32_t c = 0; c < s.inode.child_count; ++c) {
      const Digest& d = spec.inodes[s.inode.child_index + c - 1].inode.digest;
      std::memcpy(joined.data() + std::size_t{c} * sizeof(Digest), d.data(), sizeof(Digest));
    }
    s.inode.digest = digest_of(options.digester, joined);
  }
  return plan;
}

} // namespace rafs::builder
