#include "builder/overlay.hpp"

#include <algorithm>
#include <string_view>

namespace rafs::builder {

namespace {

constexpr std::string_view k_wh_prefix = ".wh.";
constexpr std::string_view k_wh_opaque = ".wh..wh..opq";
constexpr std::string_view k_overlay_opaque = "trusted.overlay.opaque";

enum class Marker : std::uint8_t { none, whiteout, opaque };

// What a child of an upper directory means; `target` is the name a whiteout hides.
Marker marker_of(const Node& n, WhiteoutSpec spec, std::string& target) {
  switch (spec) {
  case WhiteoutSpec::oci:
    if (n.name == k_wh_opaque) {
      return Marker::opaque;
    }
    if (n.name.starts_with(k_wh_prefix) && n.name.size() > k_wh_prefix.size()) {
      target = n.name.substr(k_wh_prefix.size());
      return Marker::whiteout;
    }
    return Marker::none;
  case WhiteoutSpec::overlayfs:
    if (n.attr.kind == EntryKind::chardev && n.attr.rdev_major == 0 && n.attr.rdev_minor == 0) {
      target = n.name;
      return Marker::whiteout;
    }
    return Marker::none;
  case WhiteoutSpec::none:
    return Marker::none;
  }
  return Marker::none;
}

// overlayfs: takes the opaque xattr off a directory; true when it was set.
bool take_overlay_opaque(Node& dir, WhiteoutSpec spec) {
  if (spec != WhiteoutSpec::overlayfs) {
    return false;
  }
  auto& xs = dir.attr.xattrs;
  auto it = std::find_if(xs.begin(), xs.end(), [](const v5::Xattr& x) { return x.name == k_overlay_opaque; });
  if (it == xs.end()) {
    return false;
  }
  const bool opaque = it->value.size() == 1 && it->value[0] == 'y';
  if (opaque) {
    xs.erase(it);
  }
  return opaque;
}

// A subtree arriving with nothing below it to hide: its markers just go.
void strip_markers(Node& dir, WhiteoutSpec spec) {
  if (spec == WhiteoutSpec::none) {
    return; // no markers to strip: no walk of the whole subtree
  }
  std::vector<Node*> stack{&dir};
  while (!stack.empty()) {
    Node* d = stack.back();
    stack.pop_back();
    take_overlay_opaque(*d, spec);
    std::string target;
    for (auto it = d->children.begin(); it != d->children.end();) {
      if (marker_of(*it->second, spec, target) != Marker::none) {
        it = d->children.erase(it);
        continue;
      }
      if (it->second->is_dir()) {
        stack.push_back(it->second.get());
      }
      ++it;
    }
  }
}

void overlay_dir(Node& lower, Node& upper, WhiteoutSpec spec) {
  // 1. The upper layer's whiteouts act on the lower children only.
  bool opaque = take_overlay_opaque(upper, spec);
  if (!upper.implicit) {
    lower.attr = upper.attr;
    lower.implicit = false;
  }
  std::string target;
  for (const auto& [name, child] : upper.children) {
    switch (marker_of(*child, spec, target)) {
    case Marker::opaque:
      opaque = true;
      break;
    case Marker::whiteout:
      lower.children.erase(target);
      break;
    case Marker::none:
      break;
    }
  }
  if (opaque) {
    lower.children.clear();
  }
  // 2. Then the upper entries go in.
  for (auto& [name, child] : upper.children) {
    if (marker_of(*child, spec, target) != Marker::none) {
      continue;
    }
    auto it = lower.children.find(name);
    if (it != lower.children.end() && it->second->is_dir() && child->is_dir()) {
      overlay_dir(*it->second, *child, spec);
      continue;
    }
    if (child->is_dir()) {
      strip_markers(*child, spec);
    }
    child->parent = &lower;
    lower.children[name] = std::move(child);
  }
  upper.children.clear();
}

} // namespace

void overlay(FileTree& lower, FileTree& upper, WhiteoutSpec spec) {
  overlay_dir(lower.root(), upper.root(), spec);
}

} // namespace rafs::builder
