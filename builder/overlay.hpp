// Places one layer's tree over the image's tree, the way an OCI runtime
// stacks layers (and `umoci unpack` extracts them):
// - whiteouts of the upper layer are applied to the lower tree first, so a
//   whiteout never hides an entry of its own layer:
//     oci:       `.wh.NAME` removes NAME and its subtree; `.wh..wh..opq`
//                hides every lower child of its directory;
//     overlayfs: a 0/0 character device removes the entry of its name; a
//                directory with xattr trusted.overlay.opaque=y hides its
//                lower children (the xattr is dropped);
//     none:      no entry is special;
// - then the upper entries are added: a directory over a directory merges
//   (upper attributes, unless the upper one was only implied by a deeper
//   path), anything else replaces the lower entry and its subtree;
// - whiteout markers never reach the result.
#pragma once

#include "builder/file_tree.hpp"
#include "builder/options.hpp"

namespace rafs::builder {

void overlay(FileTree& lower, FileTree& upper, WhiteoutSpec spec);

} // namespace rafs::builder
