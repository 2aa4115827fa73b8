// The tree walk and the JSON view of a bootstrap used by dump (and check -J).
#pragma once

#include <cstdint>
#include <functional>

#include <nlohmann/json.hpp>

#include "format/bootstrap.hpp"

namespace rafs::cli {

// Visits every inode index in depth-first pre-order (a directory, then its
// children in name order, each followed by its own subtree). Iterative, so
// a deep tree cannot overflow the stack.
void for_each_in_tree(const v5::Bootstrap& b, const std::function<void(std::uint32_t)>& visit);

// The whole image as JSON, per schemas/dump.schema.json.
nlohmann::json dump_json(const v5::Bootstrap& b, bool with_chunks);

} // namespace rafs::cli
